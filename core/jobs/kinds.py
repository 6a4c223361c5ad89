"""What a kind of job says of itself, and the registry the upper layers fill in.

A kind plans its objects (ids, in order) with a preview of what it will do, does one chunk of
them, and puts its counts into German words. Doing a chunk twice must change nothing (the
levies book only differences, a notice keeps the document it has): that is what lets a worker
that died mid-chunk be replaced by another without booking anything twice.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from core.kernel.errors import ValidationError
from core.tenancy.municipalities import Municipality


@dataclass(frozen=True)
class Plan:
    """A job's objects and what the preview tells the clerk before it starts."""

    keys: list[int]
    preview: list[str]  # German sentences
    counts: dict[str, int] = field(default_factory=dict)  # counted already by the plan


class JobKind(ABC):
    """One kind of long work (an annual run, a notice batch)."""

    name: str  # registry key, stored with the job
    title: str  # German, for the list of kinds to start
    chunk_size: int = 500
    reads_first: bool = False  # long work before the first write (core.jobs.worker, SQLite)
    # tables a chunk adds many rows to that later chunks read by lists of ids: PostgreSQL's
    # planner statistics of them are refreshed as the job goes (core.jobs.worker)
    grows: tuple[str, ...] = ()

    @abstractmethod
    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        """The job's parameters from a form or the command line (strings), checked; raise
        :class:`ValidationError` with a German message for wrong input."""

    @abstractmethod
    def describe(self, params: Mapping[str, Any]) -> str:
        """The job's title, e.g. "Hundesteuer 2027, Bescheiddatum 10.01.2027"."""

    @abstractmethod
    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        """The objects of the job and the preview; raise a German domain error to refuse."""

    @abstractmethod
    def run(
        self,
        session: Session,
        municipality: Municipality,
        params: Mapping[str, Any],
        keys: Sequence[int],
        *,
        actor: str,
        environment: Mapping[str, Any],
    ) -> dict[str, int]:
        """Do ``keys`` (one chunk, or one object when a chunk failed) and count what was done.
        ``environment`` holds what the host process configures (e.g. notice settings)."""

    def label(self, session: Session, key: int) -> str:
        """How a failed object is named to the clerk."""
        return f"Objekt {key}"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        """The job's result in German words."""
        return ", ".join(f"{name}: {value}" for name, value in sorted(counts.items()))


KINDS: dict[str, JobKind] = {}


def register(kind: JobKind) -> JobKind:
    """Make ``kind`` startable (core.job_kinds registers every kind)."""
    KINDS[kind.name] = kind
    return kind


def kind_named(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValidationError("Bitte wählen Sie einen Lauf aus der Liste.") from None
