"""Self-registration of citizens and the "forgot password" request, without account enumeration.

Both answer the same whatever the address: the caller shows "we have sent you an e-mail" and
nothing else; what differs is only the e-mail that goes to the address's owner (a link to
confirm a new account, or a note that there is an account already, or a reset link). The same
work is done on every path that matters for timing (one Argon2 hash on registration).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from core.identity import account_mail, account_tokens, passwords
from core.identity import models as identity
from core.identity.account_mail import AccountLinks
from core.identity.models import Role, UserAccount
from core.persons import models as persons
from core.persons.models import PersonKind
from core.tenancy.municipalities import Municipality


@dataclass(frozen=True)
class Registration:
    kind: PersonKind
    email: str
    password: str
    given_name: str | None
    family_name: str | None
    company_name: str | None
    address: dict[str, str]

    @property
    def display_name(self) -> str:
        if self.kind is PersonKind.BUSINESS:
            return (self.company_name or "").strip()
        return f"{self.given_name or ''} {self.family_name or ''}".strip()


def password_context(
    municipality: Municipality,
    *,
    email: str | None,
    given_name: str | None = None,
    family_name: str | None = None,
    company_name: str | None = None,
    street: str | None = None,
    city: str | None = None,
) -> list[str | None]:
    """What a password must not be made of on this portal: the person's address and names,
    the municipality's name, slug and town (core/identity/passwords.py "context-specific words")."""
    return [
        email,
        given_name,
        family_name,
        company_name,
        f"{given_name or ''} {family_name or ''}",
        street,
        city,
        municipality.name,
        municipality.slug,
        municipality.city,
    ]


def context_of_account(
    session: Session, municipality: Municipality, account: UserAccount
) -> list[str | None]:
    person = persons.person_for_user(session, municipality.id, account.id)
    address = person.address_on(date.max) if person is not None else None
    return password_context(
        municipality,
        email=account.email,
        given_name=person.given_name if person else None,
        family_name=person.family_name if person else None,
        company_name=person.company_name if person else None,
        street=address.street if address else None,
        city=address.city if address else None,
    )


def register_citizen(
    session: Session,
    municipality: Municipality,
    data: Registration,
    *,
    secret: str,
    links: AccountLinks,
    now: datetime,
    as_of: date,
    verify_max_age: timedelta = account_tokens.VERIFY_MAX_AGE,
    may_mail: Callable[[str], bool] = lambda _email: True,
) -> None:
    """Create an unconfirmed account with its person and e-mail the confirmation link — or,
    when the address has an account already, e-mail its owner a hint and change nothing.

    Raises :class:`~core.kernel.errors.ValidationError` (the password rules) the same way on both
    paths, before looking the address up. Then ``may_mail(address)`` is asked (the caller's
    throttle against mail flooding, counted whether or not the address has an account): when
    it says no, nothing at all is done — the caller still answers "we have sent you an e-mail".
    """
    context = password_context(
        municipality,
        email=identity.normalize_email(data.email),
        given_name=data.given_name,
        family_name=data.family_name,
        company_name=data.company_name,
        street=data.address.get("street"),
        city=data.address.get("city"),
    )
    passwords.check(data.password, context=[*context, data.display_name])
    if not may_mail(identity.normalize_email(data.email)):
        return
    existing = identity.find_by_email(session, data.email)
    if existing is not None:
        identity.spend_hashing_time(data.password)
        account_mail.send_already_registered(session, municipality, existing, links)
        return
    account = _create_account_with_person(session, municipality, data, context, as_of=as_of)
    send_verification(
        session, municipality, account, secret=secret, links=links, now=now, max_age=verify_max_age
    )


def _create_account_with_person(
    session: Session,
    municipality: Municipality,
    data: Registration,
    context: list[str | None],
    *,
    as_of: date,
) -> UserAccount:
    account = identity.create_user(
        session,
        email=data.email,
        password=data.password,
        display_name=data.display_name,
        verified=False,
        context=context,
    )
    persons.create_person(
        session,
        municipality_id=municipality.id,
        kind=data.kind,
        as_of=as_of,
        actor=f"user:{account.id}",
        given_name=data.given_name or None,
        family_name=data.family_name or None,
        company_name=data.company_name or None,
        email=account.email,
        user_id=account.id,
        address=data.address,
    )
    return account


def send_verification(
    session: Session,
    municipality: Municipality,
    account: UserAccount,
    *,
    secret: str,
    links: AccountLinks,
    now: datetime,
    max_age: timedelta = account_tokens.VERIFY_MAX_AGE,
) -> None:
    """(Again) e-mail the confirmation link of an unconfirmed account; nothing if confirmed."""
    if account.email_verified:
        return
    token = account_tokens.verification_token(secret, account, issued_at=now)
    account_mail.send_verification(
        session, municipality, account, links.verify(token), max_age=max_age
    )


def request_password_reset(
    session: Session,
    municipality: Municipality,
    email: str,
    *,
    secret: str,
    links: AccountLinks,
    now: datetime,
    max_age: timedelta = account_tokens.RESET_MAX_AGE,
) -> None:
    """E-mail a reset link if ``email`` belongs to an active citizen account; otherwise do
    nothing. The caller answers the same either way. Staff reset their passwords through the
    administration, not through a citizen portal."""
    account = identity.find_by_email(session, email)
    if account is None or not account.is_active or account.role is not Role.CITIZEN:
        return
    token = account_tokens.reset_token(secret, account, issued_at=now)
    account_mail.send_password_reset(
        session, municipality, account, links.reset(token), max_age=max_age
    )
