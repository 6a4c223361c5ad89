"""A retention run's execution as a job (core.jobs): the plan is the run's items due and not
done, a chunk does some of them (core/retention/erasure.py).

Each item is taken under a row lock and done once (``done_at``): a chunk done again, a job
resumed after a cancel or a dead worker, or a second run for the same date deletes nothing
twice. The blocks are checked again when the item is done — a claim reopened or a legal hold
placed since the preview keeps the record (the item is marked blocked, with the reason). A
person's item first does the person's documents of the run that are not done yet (so a
person is never anonymised before their documents are gone, whichever worker is faster).
The chunk that leaves no item open marks the run done.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan
from core.kernel.errors import IllegalTransition, ValidationError
from core.kernel.id_lists import ids_in
from core.retention import runs
from core.retention.blocks import document_holds, person_blocks
from core.retention.erasure import erase_all
from core.retention.models import (
    OBJECT_LABELS,
    ObjectType,
    RetentionItem,
    RetentionRun,
    RunState,
)
from core.retention.planning import HELD_DOCUMENT
from core.tenancy.municipalities import Municipality


class RetentionJob(JobKind):
    name = runs.JOB_KIND
    title = "Löschlauf ausführen (Aufbewahrungsfristen abgelaufen)"
    chunk_size = 200

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        raw = str(given.get("run", "")).strip()
        if not raw.isdigit():
            raise ValidationError("Bitte die Nummer des freigegebenen Löschlaufs angeben.")
        return {"run": int(raw)}

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Löschlauf Nr. {params['run']} ausführen"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        run = runs.get_run(session, municipality.id, params["run"])
        if run.state is not RunState.APPROVED:
            raise IllegalTransition(
                f"Löschlauf Nr. {run.id} ist {run.state_label}; ausgeführt wird nur ein "
                "freigegebener Lauf."
            )
        keys = runs.open_items(session, run)
        if not keys:
            raise ValidationError(f"Im Löschlauf Nr. {run.id} ist nichts mehr zu löschen.")
        return Plan(keys, [f"{len(keys)} Einträge werden gelöscht oder anonymisiert."])

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
        run = runs.get_run(session, municipality.id, params["run"])
        if run.state is not RunState.APPROVED:
            return {}
        items = list(
            session.scalars(
                select(RetentionItem)
                .where(RetentionItem.run_id == run.id, RetentionItem.id.in_(list(keys)))
                .order_by(RetentionItem.id)
                .with_for_update()
            )
        )
        counts: Counter[str] = Counter()
        ready = self._not_blocked(session, run, items, counts)
        persons = [i for i in ready if i.object_type is ObjectType.PERSON]
        documents = self._documents_of(session, run, [p.object_id for p in persons])
        for person in persons:
            theirs = documents.get(person.object_id, [])
            if any(item.blocked is not None for item in theirs):
                person.blocked = HELD_DOCUMENT  # the person's data is still needed
                counts["blocked"] += 1
                ready.remove(person)
            else:  # a person is never anonymised before their documents are gone
                ready[:0] = theirs
        counts.update(erase_all(session, ready, actor))
        if not runs.open_items(session, run):
            runs.finish(session, run)
        return dict(counts)

    @staticmethod
    def _not_blocked(
        session: Session, run: RetentionRun, items: list[RetentionItem], counts: Counter[str]
    ) -> list[RetentionItem]:
        """The items not done whose blocks, checked again now, still let them go; the others
        are marked blocked with the reason."""
        persons = {i.person_id for i in items if i.person_id is not None}
        blocks = person_blocks(session, run.municipality_id, persons, run.as_of)
        holds = document_holds(
            session,
            [i.object_id for i in items if i.object_type is ObjectType.DOCUMENT],
            run.as_of,
        )
        ready = []
        for item in items:
            if item.done_at is not None or item.blocked is not None:
                continue
            reasons = list(blocks.get(item.person_id, [])) if item.person_id else []
            if item.object_type is ObjectType.DOCUMENT and item.object_id in holds:
                reasons.insert(0, holds[item.object_id])
            if reasons:
                item.blocked = "; ".join(reasons)[:300]
                counts["blocked"] += 1
            else:
                ready.append(item)
        return ready

    @staticmethod
    def _documents_of(
        session: Session, run: RetentionRun, person_ids: list[int]
    ) -> dict[int, list[RetentionItem]]:
        """The run's document items not done yet of these persons (in this chunk or another),
        locked, by person."""
        if not person_ids:
            return {}
        found: dict[int, list[RetentionItem]] = defaultdict(list)
        for item in session.scalars(
            select(RetentionItem)
            .where(
                RetentionItem.run_id == run.id,
                ids_in(RetentionItem.person_id, person_ids),
                RetentionItem.object_type == ObjectType.DOCUMENT,
                RetentionItem.done_at.is_(None),
            )
            .order_by(RetentionItem.id)
            .with_for_update()
        ):
            if item.person_id is not None:
                found[item.person_id].append(item)
        return found

    def label(self, session: Session, key: int) -> str:
        item = session.get(RetentionItem, key)
        if item is None:
            return f"Eintrag (id {key})"
        return f"{OBJECT_LABELS[item.object_type]} {item.object_id}"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"Löschlauf Nr. {params['run']}: {counts.get('document', 0)} Dokumente gelöscht, "
            f"{counts.get('outbox_message', 0) + counts.get('delivery_dispatch', 0)} E-Mails "
            f"gelöscht, {counts.get('bank_line', 0)} Kontoumsätze und {counts.get('person', 0)} "
            "Personen anonymisiert."
            + (
                f" {counts['blocked']} inzwischen gesperrt und behalten."
                if counts.get("blocked")
                else ""
            )
        )
