"""The postal fallback as a job (core.jobs): the plan is the deliveries due for the post on the
given day, each chunk becomes one print batch (one PDF and manifest for the print service).
A chunk done twice posts nothing twice: posted deliveries leave the selection."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.delivery.fallback import due_for_post, post_batch
from core.delivery.models import Delivery
from core.jobs.kinds import JobKind, Plan
from core.kernel import archive
from core.kernel.errors import ValidationError
from core.notices.jobs import SETTINGS
from core.notices.records import Notice, NoticeSettings
from core.tenancy.municipalities import Municipality


def parse_day(raw: str) -> date:
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        raise ValidationError("Bitte geben Sie das Datum als JJJJ-MM-TT an.") from None


class PostalFallback(JobKind):
    name = "delivery_fallback"
    title = "Postversand: nicht abgerufene Bescheide und Bescheide ohne Einwilligung drucken"
    chunk_size = 200  # one print batch per chunk
    reads_first = True  # renders missing PDFs before it writes

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        raw = str(given.get("as_of", "")).strip()
        if not raw:
            raise ValidationError("Bitte geben Sie den Versandtag an.")
        return {"as_of": parse_day(raw).isoformat()}

    def describe(self, params: Mapping[str, Any]) -> str:
        return f"Postversand am {date.fromisoformat(params['as_of']):%d.%m.%Y}"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        due = due_for_post(session, municipality, date.fromisoformat(params["as_of"]))
        return Plan(due, [f"{len(due)} Bescheide werden gedruckt und per Post versandt."])

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
        result = post_batch(
            session,
            municipality,
            keys,
            as_of=date.fromisoformat(params["as_of"]),
            settings=settings,
            actor=actor,
        )
        return {"posted": len(result.letters), "batches": 1 if result.batch else 0}

    def label(self, session: Session, key: int) -> str:
        row = session.execute(
            select(Notice.number, archive.Document.filename)
            .select_from(Delivery)
            .outerjoin(Notice, Delivery.notice_id == Notice.id)
            .outerjoin(archive.Document, Delivery.document_id == archive.Document.id)
            .where(Delivery.id == key)
        ).first()
        if row is not None and row[0] is not None:
            return f"Bescheid {row[0]}"
        if row is not None and row[1] is not None:
            return f"Schreiben {row[1]}"
        return f"Zustellung (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return (
            f"{counts.get('posted', 0)} Bescheide in {counts.get('batches', 0)} Druckaufträgen "
            "per Post versandt."
        )
