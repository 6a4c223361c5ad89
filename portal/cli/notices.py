"""`openkasse notices …`: list notices, write one's PDF, render and archive the pending PDFs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from portal.cli import context

if TYPE_CHECKING:
    from core.notices.records import NoticeSettings


def _settings() -> NoticeSettings:
    from core.notices.records import NoticeSettings

    return NoticeSettings(
        secret=current_app.config["SECRET_KEY"],
        public_base_url=current_app.config["PUBLIC_BASE_URL"],
    )


def render_pending(slug: str | None, workers: int | None = None) -> None:
    """Render and archive the pending PDFs, ``workers`` processes (default: one per core)."""
    from core.notices import records as notices
    from core.notices.pending import render_pending as render_in_pool
    from core.notices.rendering import default_workers

    factory = context.session_factory()
    settings = _settings()
    with factory() as session:
        for municipality in context.municipalities(session, slug):
            pending = notices.pending_documents(session, municipality.id)
            if not pending:
                continue

            def chunk_done(done: int, total: int, name: str = municipality.name) -> None:
                session.commit()
                click.echo(f"  {name}: {done}/{total} PDFs", err=True)

            render_in_pool(
                session,
                settings,
                pending,
                workers=workers or default_workers(),
                actor="cli",
                chunk_done=chunk_done,
            )
            session.commit()


@click.group("notices", cls=AppGroup)
def notices_group() -> None:
    """Bescheide auflisten und drucken."""


@notices_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@with_appcontext
def notices_list(as_json: bool, slug: str | None) -> None:
    """List notices (id, municipality, person, kind, Kassenzeichen, amount, date)."""
    import json

    from sqlalchemy import select

    from core.notices.records import Notice
    from core.persons.models import Person

    factory = context.session_factory()
    with factory() as session:
        rows: list[dict[str, Any]] = []
        for municipality in context.municipalities(session, slug):
            result = session.execute(
                select(Notice, Person)
                .join(Person, Notice.person_id == Person.id)
                .where(Notice.municipality_id == municipality.id)
                .order_by(Notice.id)
            )
            for notice, person in result:
                rows.append(
                    {
                        "id": notice.id,
                        "number": notice.number,
                        "municipality": municipality.slug,
                        "person_name": person.display_name,
                        "kind": notice.levy,
                        "year": notice.year,
                        "title": notice.title,
                        "kassenzeichen": notice.kassenzeichen,
                        "amount_cents": notice.total_cents,
                        "previous_cents": notice.previous_cents,
                        "issued_on": notice.issued_on.isoformat(),
                        "rendered": notice.document_id is not None,
                    }
                )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from core.kernel.money import format_euro

    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['municipality']:<15} {r['issued_on']}  {r['kassenzeichen']}  "
            f"{format_euro(r['amount_cents']):>12}  {r['person_name']}  {r['title']}"
        )


@notices_group.command("render")
@click.argument("notice_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def notices_render(notice_id: int, out: str) -> None:
    """Write the PDF of notice NOTICE_ID (archived on first render) to --out."""
    from core.notices import records as notices

    factory = context.session_factory()
    with factory() as session:
        notice = session.get(notices.Notice, notice_id)
        if notice is None:
            raise click.ClickException(f"Bescheid {notice_id} gibt es nicht.")
        document = notices.ensure_document(session, notice, _settings(), actor="cli")
        session.commit()
        Path(out).write_bytes(document.content)
        click.echo(f"{out}: {document.size_bytes} Bytes, SHA-256 {document.sha256}")


@notices_group.command("render-pending")
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="Anzahl der Prozesse, die PDFs erzeugen (Vorgabe: einer je Prozessorkern).",
)
@with_appcontext
def noticesrender_pending(slug: str | None, workers: int | None) -> None:
    """Render and archive the PDFs of all notices that have none yet."""
    render_pending(slug, workers)
