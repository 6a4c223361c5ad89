"""What every run with four eyes shares (Vier-Augen-Prinzip: dunning, retention and payout
runs). One person prepares a preview; a second person approves it, or somebody discards it.
Nobody approves their own run. Each step is in the audit trail under the run's own name.

The areas keep what differs: what a preview holds, and what approval starts (a booking job,
the deletion job, or the payouts and their file); their ``get_run`` and ``runs_of`` name their
run's model for :func:`get_run` and :func:`runs_of` here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol, TypeVar

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import audit, clock
from core.kernel.db import Base, UTCDateTime, get_scoped
from core.kernel.errors import IllegalTransition, ValidationError

PREVIEW = "preview"  # the state value every such run starts in (its own enum's PREVIEW)

Run = TypeVar("Run", bound=Base)


class FourEyesColumns:
    """The columns of a run with four eyes: who prepared it and when, who approved it and when."""

    created_by: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    approved_by: Mapped[str | None] = mapped_column(String(60))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class FourEyesRun(Protocol):
    id: int
    municipality_id: int
    created_by: str
    approved_by: str | None
    approved_at: datetime | None

    @property
    def state(self) -> StrEnum: ...

    @property
    def state_label(self) -> str: ...


@dataclass(frozen=True)
class RunNames:
    """How a kind of run is named: in German for the clerk (and its article in the accusative,
    "den Mahnlauf"), and as the prefix of its audit actions ("dunning_run")."""

    noun: str
    audit: str


def approve(
    session: Session,
    run: FourEyesRun,
    actor: str,
    names: RunNames,
    *,
    not_ready: str | None = None,
) -> None:
    """The second person's approval of a preview. ``not_ready`` is the area's German reason
    why this preview cannot be approved yet (e.g. its letters are still being made). The area
    moves the state on: to "approved", or straight to what approval does."""
    if run.state != PREVIEW:
        raise IllegalTransition(
            f"{names.noun} Nr. {run.id} ist {run.state_label} und kann nicht freigegeben werden."
        )
    if not_ready:
        raise IllegalTransition(not_ready)
    if actor == run.created_by:
        raise ValidationError(
            f"Vier-Augen-Prinzip: Wer den {names.noun} vorbereitet hat, darf ihn nicht selbst "
            "freigeben."
        )
    run.approved_by, run.approved_at = actor, clock.now()
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{names.audit}.approved",
        obj=run,
        municipality_id=run.municipality_id,
        after={"created_by": run.created_by},
    )


def refuse_unless_preview(run: FourEyesRun, names: RunNames) -> None:
    """Only a preview may be thrown away: what was approved has started to act."""
    if run.state != PREVIEW:
        raise IllegalTransition(
            f"{names.noun} Nr. {run.id} ist {run.state_label}; verwerfen lässt sich nur eine "
            "Vorschau."
        )


def record_discarded(session: Session, run: FourEyesRun, actor: str, names: RunNames) -> None:
    """The audit row of a discarded preview (the area has set its state to "discarded")."""
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"{names.audit}.discarded",
        obj=run,
        municipality_id=run.municipality_id,
    )


def get_run(
    session: Session, model: type[Run], names: RunNames, municipality_id: int, run_id: int
) -> Run:
    """The run ``run_id`` of this municipality; another municipality's is not found
    (NotFound: "Mahnlauf Nr. 7 gibt es hier nicht.")."""
    return get_scoped(
        session,
        model,
        municipality_id,
        run_id,
        not_found=f"{names.noun} Nr. {run_id} gibt es hier nicht.",
    )


def runs_of(session: Session, model: type[Run], municipality_id: int, limit: int = 50) -> list[Run]:
    """The municipality's latest runs of ``model``, the newest first."""
    columns = model.__table__.c
    return list(
        session.scalars(
            select(model)
            .where(columns.municipality_id == municipality_id)
            .order_by(columns.id.desc())
            .limit(limit)
        )
    )
