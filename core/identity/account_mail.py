"""The e-mails of the citizen account: confirm your address, you already have an account, reset.

They go through the outbox (core/kernel/mail.py ``queue_email``, sent by ``openkasse outbox send``),
queued in the same transaction as the change they belong to. A link is built by the portal
(:class:`AccountLinks`) from ``PUBLIC_BASE_URL``, never from the request's Host header, so a
forged Host cannot send a reset link to another site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from core.identity.models import UserAccount
from core.kernel.mail import OutboxMessage, queue_email
from core.tenancy.municipalities import Municipality


@dataclass(frozen=True)
class AccountLinks:
    """Absolute URLs of the portal's account pages of one municipality."""

    verify: Callable[[str], str]  # token -> confirmation link
    reset: Callable[[str], str]  # token -> new-password page
    login: str
    forgot_password: str


def _signature(municipality: Municipality) -> str:
    return (
        f"Mit freundlichen Grüßen\n{municipality.cash_office_name}\n{municipality.name}\n"
        f"{municipality.email} · {municipality.phone}\n"
    )


def _address(account: UserAccount) -> str:
    """These mails belong to e-mail accounts; one made by a BundID log-in has none."""
    if account.email is None:
        raise ValueError(f"account {account.id} has no e-mail address")
    return account.email


def duration_de(age: timedelta) -> str:
    """How long a link is good for, in German: "60 Minuten", "24 Stunden"."""
    minutes = int(age.total_seconds() // 60)
    if minutes % 60 == 0 and minutes >= 120:
        return f"{minutes // 60} Stunden"
    return f"{minutes} Minuten"


def send_verification(
    session: Session,
    municipality: Municipality,
    account: UserAccount,
    url: str,
    *,
    max_age: timedelta,
) -> OutboxMessage:
    return queue_email(
        session,
        municipality_id=municipality.id,
        recipient=_address(account),
        subject=f"Bitte bestätigen Sie Ihre E-Mail-Adresse – {municipality.name}",
        body=(
            f"Guten Tag {account.display_name},\n\n"
            f"Sie haben im Bürgerportal von {municipality.name} ein Konto angelegt. Bitte "
            f"bestätigen Sie Ihre E-Mail-Adresse mit diesem Link:\n\n{url}\n\n"
            f"Der Link gilt {duration_de(max_age)} und nur einmal. Erst danach können Sie Ihr "
            "Konto nutzen.\n\nSie haben kein Konto angelegt? Dann ignorieren Sie diese "
            "E-Mail; ohne Bestätigung bleibt das Konto gesperrt.\n\n" + _signature(municipality)
        ),
    )


def send_already_registered(
    session: Session, municipality: Municipality, account: UserAccount, links: AccountLinks
) -> OutboxMessage:
    """To the owner of an address someone tried to register again: no new account, no
    confirmation link (that would confirm whoever registered first), only the way back in."""
    if account.role.is_staff:
        advice = (
            "Diese Adresse gehört zu einem Zugang der Verwaltung. Für ein Bürgerkonto verwenden "
            "Sie bitte eine andere E-Mail-Adresse."
        )
    elif not account.is_active:
        advice = "Dieses Konto ist gesperrt. Bitte wenden Sie sich an die Kasse (Kontakt unten)."
    else:
        advice = (
            f"Melden Sie sich einfach an:\n{links.login}\n\n"
            f"Passwort vergessen? Hier können Sie ein neues festlegen:\n{links.forgot_password}"
        )
    return queue_email(
        session,
        municipality_id=municipality.id,
        recipient=_address(account),
        subject=f"Sie haben bereits ein Konto – {municipality.name}",
        body=(
            "Guten Tag,\n\n"
            f"soeben wurde im Bürgerportal von {municipality.name} versucht, mit dieser "
            "E-Mail-Adresse ein neues Konto anzulegen. Zu dieser Adresse gibt es bereits ein "
            f"Konto; ein zweites wurde nicht angelegt.\n\n{advice}\n\n"
            "Das waren nicht Sie? Dann ist nichts weiter zu tun.\n\n" + _signature(municipality)
        ),
    )


def send_password_reset(
    session: Session,
    municipality: Municipality,
    account: UserAccount,
    url: str,
    *,
    max_age: timedelta,
) -> OutboxMessage:
    return queue_email(
        session,
        municipality_id=municipality.id,
        recipient=_address(account),
        subject=f"Neues Passwort festlegen – {municipality.name}",
        body=(
            "Guten Tag,\n\n"
            f"für Ihr Konto im Bürgerportal von {municipality.name} wurde ein neues Passwort "
            f"angefordert. Hier können Sie es festlegen:\n\n{url}\n\n"
            f"Der Link gilt {duration_de(max_age)} und nur einmal; danach gilt nur noch das neue "
            "Passwort.\n\nSie haben nichts angefordert? Dann ignorieren Sie diese E-Mail; Ihr "
            "bisheriges Passwort bleibt gültig.\n\n" + _signature(municipality)
        ),
    )
