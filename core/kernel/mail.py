"""Sending the outbox (the outbox, ``OutboxMessage``) by SMTP when a server is configured.

Messages are queued inside the business transaction (so a rolled-back change sends nothing)
and sent afterwards by ``openkasse outbox send`` (cron); each message is marked sent once the
server accepted it, so a failed run simply resumes.
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime


class OutboxMessage(Base):
    """E-mails to send (reading links, notifications); a mailer sends them when configured."""

    __tablename__ = "outbox_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(String(4000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


def queue_email(
    session: Session, *, municipality_id: int, recipient: str, subject: str, body: str
) -> OutboxMessage:
    message = OutboxMessage(
        municipality_id=municipality_id, recipient=recipient, subject=subject, body=body
    )
    session.add(message)
    session.flush()
    return message


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
