"""Making and archiving the PDFs of booked dunning letters as a job (core.jobs), like the
notices' RenderNotices: the plan is the booked letters without their PDF (of one run, or all),
a chunk renders a few in the worker's process. A letter that has its PDF keeps it, so a chunk
done twice stores nothing twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.dunning import letters
from core.dunning.models import DunningLetter
from core.jobs.kinds import JobKind, Plan
from core.kernel.errors import ValidationError
from core.notices.jobs import SETTINGS
from core.notices.records import NoticeSettings
from core.persons.models import Person
from core.tenancy.municipalities import Municipality


class RenderDunningLetters(JobKind):
    name = "dunning_letters"
    title = "Mahnschreiben als PDF erzeugen und archivieren"
    chunk_size = 8  # a few seconds of rendering per chunk
    reads_first = True  # renders before it writes: SQLite's write lock only for the archive

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        raw = str(given.get("run", "")).strip()
        if raw and not raw.isdigit():
            raise ValidationError("Die Nummer des Mahnlaufs muss eine Zahl sein.")
        return {"run": int(raw)} if raw else {}

    def describe(self, params: Mapping[str, Any]) -> str:
        if "run" in params:
            return f"Mahnschreiben des Mahnlaufs Nr. {params['run']} als PDF"
        return "Mahnschreiben als PDF (alle noch nicht erzeugten)"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        found = letters.pending(session, municipality.id, params.get("run"))
        return Plan(found, [f"{len(found)} Mahnschreiben werden als PDF erzeugt und archiviert."])

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
        settings: NoticeSettings = environment[SETTINGS]
        return {
            "archived": letters.make_for_letters(session, municipality.id, keys, settings, actor)
        }

    def label(self, session: Session, key: int) -> str:
        number = session.scalar(
            select(Person.number)
            .join(DunningLetter, DunningLetter.person_id == Person.id)
            .where(DunningLetter.id == key)
        )
        return f"Mahnschreiben an Person {number}" if number else f"Mahnschreiben (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return f"{counts.get('archived', 0)} Mahnschreiben als PDF erzeugt und archiviert."
