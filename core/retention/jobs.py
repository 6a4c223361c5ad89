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

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan
from core.kernel.errors import IllegalTransition, ValidationError
from core.retention import runs
from core.retention.blocks import document_holds, person_blocks
from core.retention.erasure import erase
from core.retention.models import OBJECT_LABELS, ObjectType, RetentionItem, RunState
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
        counts: dict[str, int] = {}
        persons = {i.person_id for i in items if i.person_id is not None}
        blocks = person_blocks(session, municipality.id, persons, run.as_of)
        holds = document_holds(
            session,
            [i.object_id for i in items if i.object_type is ObjectType.DOCUMENT],
            run.as_of,
        )
        for item in items:
            if item.done_at is not None or item.blocked is not None:
                continue
            reasons = list(blocks.get(item.person_id, [])) if item.person_id else []
            if item.object_type is ObjectType.DOCUMENT and item.object_id in holds:
                reasons.insert(0, holds[item.object_id])
            if reasons:
                item.blocked = "; ".join(reasons)[:300]
                counts["blocked"] = counts.get("blocked", 0) + 1
                continue
            if item.object_type is ObjectType.PERSON and not self._documents_first(
                session, item, actor, counts
            ):
                item.blocked = HELD_DOCUMENT
                counts["blocked"] = counts.get("blocked", 0) + 1
                continue
            if erase(session, item, actor):
                key = item.object_type.value
                counts[key] = counts.get(key, 0) + 1
        if not runs.open_items(session, run):
            runs.finish(session, run)
        return counts

    @staticmethod
    def _documents_first(
        session: Session, person: RetentionItem, actor: str, counts: dict[str, int]
    ) -> bool:
        """Do the person's documents of the run; False (nothing done) when one of them is
        blocked: then the person's data is still needed."""
        documents = list(
            session.scalars(
                select(RetentionItem)
                .where(
                    RetentionItem.run_id == person.run_id,
                    RetentionItem.person_id == person.object_id,
                    RetentionItem.object_type == ObjectType.DOCUMENT,
                    RetentionItem.done_at.is_(None),
                )
                .with_for_update()
            )
        )
        if any(item.blocked is not None for item in documents):
            return False
        for item in documents:
            if erase(session, item, actor):
                counts["document"] = counts.get("document", 0) + 1
        return True

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
