"""Sending the outbox (``core.water.OutboxMessage``) by SMTP when a server is configured.

Messages are queued inside the business transaction (so a rolled-back change sends nothing)
and sent afterwards by ``openkasse outbox send`` (cron); each message is marked sent once the
server accepted it, so a failed run simply resumes.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.water import OutboxMessage


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    sender: str
    username: str | None = None
    password: str | None = None
    starttls: bool = False


def send_pending(
    session: Session, settings: SmtpSettings, *, now: datetime, limit: int = 500
) -> int:
    pending = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.sent_at.is_(None))
            .order_by(OutboxMessage.id)
            .limit(limit)
        )
    )
    if not pending:
        return 0
    sent = 0
    with smtplib.SMTP(settings.host, settings.port, timeout=30) as smtp:
        if settings.starttls:
            smtp.starttls()
        if settings.username:
            smtp.login(settings.username, settings.password or "")
        for message in pending:
            mail = EmailMessage()
            mail["From"], mail["To"], mail["Subject"] = (
                settings.sender,
                message.recipient,
                message.subject,
            )
            mail.set_content(message.body)
            smtp.send_message(mail)
            message.sent_at = now
            session.flush()
            sent += 1
    return sent
