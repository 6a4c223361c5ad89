"""Dispatch adapters behind one port: the portal postbox, e-mail notification (SMTP) and the
print service's folder. Each takes one outbox message and either hands it over or raises:
:class:`Bounced` when the receiving side refuses for good, :class:`TryLater` otherwise."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from core.delivery.models import Channel, Dispatch
from core.kernel.mail import SmtpSettings


class DispatchError(Exception):
    """A message could not be handed over; ``str()`` is what the clerk sees."""


class Bounced(DispatchError):
    """Refused for good (unknown mailbox, address rejected): no retry."""


class TryLater(DispatchError):
    """Not handed over this time (server unreachable, temporary refusal): retried."""


Attachment = tuple[str, bytes]  # file name, content


class Dispatcher(Protocol):
    """The port: one adapter per channel."""

    @property
    def channel(self) -> Channel: ...

    def send(self, dispatch: Dispatch, files: Sequence[Attachment]) -> None: ...


class PostboxDispatcher:
    """The portal postbox: the notice is in the account already (the citizen sees it with its
    notification under "Meine Bescheide"), so handing over cannot fail."""

    channel = Channel.POSTBOX

    def send(self, dispatch: Dispatch, files: Sequence[Attachment]) -> None:
        if not dispatch.recipient:
            raise Bounced("Kein Bürgerkonto als Postfach hinterlegt.")


@dataclass(frozen=True)
class EmailDispatcher:
    """E-mail notification by SMTP (no notice attached: it stays in the postbox, § 122a AO)."""

    settings: SmtpSettings
    channel = Channel.EMAIL

    def send(self, dispatch: Dispatch, files: Sequence[Attachment]) -> None:
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = (
            self.settings.sender,
            dispatch.recipient,
            dispatch.subject,
        )
        mail.set_content(dispatch.body)
        try:
            with smtplib.SMTP(self.settings.host, self.settings.port, timeout=30) as smtp:
                if self.settings.starttls:
                    smtp.starttls()
                if self.settings.username:
                    smtp.login(self.settings.username, self.settings.password or "")
                smtp.send_message(mail)
        except smtplib.SMTPRecipientsRefused as exc:
            code, text = next(iter(exc.recipients.values()))
            error = f"E-Mail-Adresse abgewiesen ({code} {_text(text)})"
            raise (Bounced(error) if code >= 500 else TryLater(error)) from exc
        except smtplib.SMTPResponseException as exc:
            error = f"Mailserver: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise (Bounced(error) if exc.smtp_code >= 500 else TryLater(error)) from exc
        except (smtplib.SMTPException, OSError) as exc:
            raise TryLater(f"Mailserver nicht erreichbar ({type(exc).__name__}: {exc})") from exc


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value


@dataclass(frozen=True)
class PrintFolderDispatcher:
    """The print service's pick-up folder: the batch files are written under a temporary name
    and renamed, so the service never picks up half a file."""

    directory: Path
    channel = Channel.PRINT

    def send(self, dispatch: Dispatch, files: Sequence[Attachment]) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            for name, content in files:
                target = self.directory / name
                partial = target.with_name(f".{name}.part")
                partial.write_bytes(content)
                partial.replace(target)
        except OSError as exc:
            raise TryLater(f"Druckordner nicht beschreibbar: {exc}") from exc
