"""`openkasse outbox send`: send the queued e-mails (core/kernel/mail.py) by SMTP."""

from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.kernel import clock
from portal.cli import context


@click.group("outbox", cls=AppGroup)
def outbox_group() -> None:
    """E-Mail-Postausgang."""


@outbox_group.command("send")
@with_appcontext
def outbox_send() -> None:
    """Send queued e-mails by SMTP (SMTP_HOST, SMTP_PORT, SMTP_SENDER, SMTP_USER,
    SMTP_PASSWORD, SMTP_STARTTLS); without SMTP_HOST they stay queued."""
    from core.kernel.mail import SmtpSettings, send_pending

    config = current_app.config
    if not config.get("SMTP_HOST"):
        click.echo("Kein SMTP_HOST konfiguriert: die E-Mails bleiben im Postausgang.")
        return
    settings = SmtpSettings(
        host=config["SMTP_HOST"],
        port=int(config.get("SMTP_PORT") or 25),
        sender=config.get("SMTP_SENDER") or "noreply@openkasse.invalid",
        username=config.get("SMTP_USER"),
        password=config.get("SMTP_PASSWORD"),
        starttls=str(config.get("SMTP_STARTTLS", "")).lower() in ("1", "true"),
    )
    with context.session_factory()() as session:
        sent = send_pending(session, settings, now=clock.now())
        session.commit()
    click.echo(f"{sent} E-Mails gesendet.")
