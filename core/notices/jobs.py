"""Rendering and archiving the pending notice PDFs as a job (core.jobs): a chunk renders its
notices in the worker's process; parallel work comes from several workers. A notice that has
its document keeps it, so a chunk done twice stores nothing twice."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.jobs.kinds import JobKind, Plan
from core.notices.records import Notice, NoticeSettings, archive_pdf, pending_documents, render
from core.tenancy.municipalities import Municipality

SETTINGS = "notice_settings"  # the environment's key: the host's NoticeSettings


class RenderNotices(JobKind):
    name = "notices"
    title = "Bescheide als PDF erzeugen und archivieren"
    chunk_size = 8  # a few seconds of rendering per chunk
    reads_first = True  # renders before it writes: SQLite's write lock only for the archive

    def params(self, given: Mapping[str, str]) -> dict[str, Any]:
        return {}

    def describe(self, params: Mapping[str, Any]) -> str:
        return "Bescheide als PDF (alle noch nicht erzeugten)"

    def plan(self, session: Session, municipality: Municipality, params: Mapping[str, Any]) -> Plan:
        pending = pending_documents(session, municipality.id)
        return Plan(pending, [f"{len(pending)} Bescheide werden als PDF erzeugt und archiviert."])

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
        notices = session.scalars(
            select(Notice)
            .where(Notice.id.in_(keys), Notice.municipality_id == municipality.id)
            .order_by(Notice.id)
            .with_for_update()  # PostgreSQL: a reprint at the same time waits, then finds it
        )
        rendered = [(n, render(session, n, settings)) for n in notices if n.document_id is None]
        for notice, content in rendered:
            archive_pdf(session, notice, content, actor)
        return {"archived": len(rendered)}

    def label(self, session: Session, key: int) -> str:
        number = session.scalar(select(Notice.number).where(Notice.id == key))
        return f"Bescheid {number}" if number else f"Bescheid (id {key})"

    def summary(self, params: Mapping[str, Any], counts: Mapping[str, int]) -> str:
        return f"{counts.get('archived', 0)} Bescheide als PDF erzeugt und archiviert."
