"""`openkasse delivery send|fallback`: make new notices available and send the delivery outbox
(notifications, print batches) — cron, every few minutes; the postal fallback of a day: the
notices not downloaded by the deadline and those of persons without consent into one print
batch for the print service (``--preview`` shows it and changes nothing)."""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.kernel import clock
from portal.cli import context

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("delivery", cls=AppGroup)
def delivery_group() -> None:
    """Zustellung: elektronische Bekanntgabe, Benachrichtigungen, Postversand."""


@delivery_group.command("send")
@click.option("--municipality", "slug", help="Kurzname der Kommune (ohne: alle)")
@with_appcontext
def delivery_send(slug: str | None) -> None:
    """Make new notices available (notification queued where consented) and send what is due."""
    from core.delivery.service import make_available, send_due
    from portal.delivery_dispatch import dispatchers

    now = clock.now()
    with context.session_factory()() as session:
        for municipality in context.municipalities(session, slug):
            made = make_available(
                session,
                municipality,
                now=now,
                portal_url=current_app.config["PUBLIC_BASE_URL"],
                actor="cli",
            )
            counts = send_due(
                session, dispatchers(), now=now, actor="cli", municipality_id=municipality.id
            )
            session.commit()
            click.echo(
                f"{municipality.name}: {made['electronic']} Bescheide elektronisch bereitgestellt, "
                f"{made['postal']} für den Postversand; {counts['sent']} Nachrichten versandt, "
                f"{counts['retry']} später erneut, {counts['bounced']} abgewiesen, "
                f"{counts['failed']} fehlgeschlagen."
            )


@delivery_group.command("fallback")
@click.option("--as-of", "as_of", type=DATE, required=True, help="Versandtag JJJJ-MM-TT")
@click.option("--preview", is_flag=True, help="Nur zeigen, was gedruckt würde")
@click.option("--municipality", "slug", help="Kurzname der Kommune (ohne: alle)")
@with_appcontext
def delivery_fallback(as_of: datetime, preview: bool, slug: str | None) -> None:
    """Print and post the notices not downloaded by the deadline and those without consent."""
    from core.delivery.adapters import Dispatcher
    from core.delivery.fallback import due_for_post, post_batch, recipient_of
    from core.delivery.models import Channel, Delivery
    from core.delivery.service import make_available, send_due
    from core.kernel.archive import Document
    from core.notices.records import Notice
    from portal.cli.notices import _settings
    from portal.delivery_dispatch import dispatchers

    day, now = as_of.date(), clock.now()
    with context.session_factory()() as session:
        for municipality in context.municipalities(session, slug):
            make_available(
                session,
                municipality,
                now=now,
                portal_url=current_app.config["PUBLIC_BASE_URL"],
                actor="cli",
            )
            due = due_for_post(session, municipality, day)
            if preview:
                click.echo(f"{municipality.name}: {len(due)} Bescheide würden per Post versandt.")
                for delivery_id in due:
                    delivery = session.get_one(Delivery, delivery_id)
                    name = recipient_of(session, delivery)["name"]
                    if delivery.notice_id is not None:
                        number = session.get_one(Notice, delivery.notice_id).number
                        click.echo(f"  Bescheid {number} an {name}")
                    else:
                        document = session.get_one(Document, delivery.document_id)
                        click.echo(f"  Schreiben {document.filename} an {name}")
                session.rollback()
                continue
            result = post_batch(
                session, municipality, due, as_of=day, settings=_settings(), actor="cli"
            )
            adapters: dict[Channel, Dispatcher] = {
                k: v for k, v in dispatchers().items() if k is Channel.PRINT
            }
            sent = send_due(  # now: the batch was queued after the command began
                session, adapters, now=clock.now(), actor="cli", municipality_id=municipality.id
            )
            session.commit()
            pages = result.batch.pages if result.batch else 0
            click.echo(
                f"{municipality.name}: {len(result.letters)} Bescheide ({pages} Seiten) per Post "
                f"versandt; {sent['sent']} Druckaufträge an den Druckdienstleister übergeben."
                + (
                    f" {len(result.without_address)} Bescheide ohne Anschrift warten."
                    if result.without_address
                    else ""
                )
            )
