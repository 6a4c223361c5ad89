"""A job kind for the tests of the job engine and its pages: it refuses the objects in ``bad``
with a German reason (as a levy refuses a wrong case) and fails on those in ``buggy`` with an
error that is no domain error (as a bug would)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan
from core.kernel.errors import ValidationError
from core.tenancy.municipalities import Municipality


class Picky(JobKind):
    title = "Testlauf mit Fehlern"
    chunk_size = 4

    def __init__(self, name: str, objects: int) -> None:
        self.name, self.objects = name, objects
        self.bad: set[int] = set()
        self.buggy: set[int] = set()

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        return {}

    def describe(self, params: Mapping[str, Any]) -> str:
        return "Testlauf"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        return Plan(list(range(1, self.objects + 1)), [f"{self.objects} Testobjekte."])

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
        for key in keys:
            if key in self.bad:
                raise ValidationError(f"Objekt {key} hat keinen gültigen Satz.")
            if key in self.buggy:
                raise RuntimeError("a bug")
        return {"done": len(keys)}
