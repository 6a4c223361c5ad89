"""The one place that builds the delivery adapters (core.delivery.adapters) from the app's
configuration: the postbox always, e-mail when SMTP_HOST is set, the print service's folder
(PRINT_SERVICE_DIR). The CLI and the back office use the same wiring."""

from __future__ import annotations

from pathlib import Path

from flask import current_app

from core.delivery.adapters import (
    Dispatcher,
    EmailDispatcher,
    PostboxDispatcher,
    PrintFolderDispatcher,
)
from core.delivery.models import Channel
from core.kernel.mail import SmtpSettings


def smtp_settings() -> SmtpSettings | None:
    config = current_app.config
    if not config.get("SMTP_HOST"):
        return None
    return SmtpSettings(
        host=config["SMTP_HOST"],
        port=int(config.get("SMTP_PORT") or 25),
        sender=config.get("SMTP_SENDER") or "noreply@openkasse.invalid",
        username=config.get("SMTP_USER"),
        password=config.get("SMTP_PASSWORD"),
        starttls=str(config.get("SMTP_STARTTLS", "")).lower() in ("1", "true"),
    )


def dispatchers() -> dict[Channel, Dispatcher]:
    found: dict[Channel, Dispatcher] = {Channel.POSTBOX: PostboxDispatcher()}
    smtp = smtp_settings()
    if smtp is not None:
        found[Channel.EMAIL] = EmailDispatcher(smtp)
    folder = current_app.config.get("PRINT_SERVICE_DIR")
    if folder:
        found[Channel.PRINT] = PrintFolderDispatcher(Path(folder))
    return found
