"""The one place that reads the notices' settings (link secret, public address for the QR code)
from the app's configuration: the portal, the back office and the CLI build notices alike."""

from __future__ import annotations

from flask import current_app

from core.notices.records import NoticeSettings


def notice_settings() -> NoticeSettings:
    config = current_app.config
    return NoticeSettings(secret=config["SECRET_KEY"], public_base_url=config["PUBLIC_BASE_URL"])
