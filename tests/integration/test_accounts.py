"""Self-registration, e-mail confirmation and password reset in the core (both databases):
links work once, expire, die with a password change; nothing tells whether an address exists."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity import account_tokens, registration
from core.identity import models as identity
from core.identity.account_mail import AccountLinks
from core.identity.models import Role, UserAccount
from core.kernel.errors import ExpiredToken, InvalidToken, ValidationError
from core.kernel.mail import OutboxMessage
from core.persons.models import Person, PersonKind
from tests.factories import PASSWORD

SECRET = "a-test-secret-of-at-least-32-characters"
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LINKS = AccountLinks(
    verify=lambda token: f"https://portal.example/m/konto/bestaetigen/{token}",
    reset=lambda token: f"https://portal.example/m/passwort/neu/{token}",
    login="https://portal.example/m/anmelden",
    forgot_password="https://portal.example/m/passwort-vergessen",
)
NEW_PASSWORD = "Regenschirm tanzt im Juni"


def data(**changes: Any) -> registration.Registration:
    values: dict[str, Any] = {
        "kind": PersonKind.NATURAL,
        "email": "erika.neu@test.example",
        "password": "Sonnenblume am Fenster",
        "given_name": "Erika",
        "family_name": "Neu",
        "company_name": None,
        "address": {
            "street": "Lindenallee",
            "house_number": "4a",
            "postal_code": "12345",
            "city": "Teststadt",
        },
    }
    values.update(changes)
    return registration.Registration(**values)


def register(db: Session, town: Any, **changes: Any) -> None:
    registration.register_citizen(
        db, town, data(**changes), secret=SECRET, links=LINKS, now=NOW, as_of=NOW.date()
    )


def mails(db: Session) -> list[OutboxMessage]:
    return list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def token_in(message: OutboxMessage, path: str) -> str:
    match = re.search(rf"https://portal\.example/m/{path}/(\S+)", message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def town(make: Any) -> Any:
    return make.municipality()


def test_new_account_is_unconfirmed_until_its_link_is_followed_once(db: Session, town: Any) -> None:
    register(db, town)
    account = identity.find_by_email(db, "Erika.Neu@test.example")
    assert account is not None and not account.email_verified
    person = db.scalars(select(Person).where(Person.user_id == account.id)).one()
    assert person.municipality_id == town.id and person.family_name == "Neu"
    [mail] = mails(db)
    assert mail.recipient == "erika.neu@test.example" and "bestätigen" in mail.subject
    token = token_in(mail, "konto/bestaetigen")

    later = NOW + timedelta(hours=23)
    assert account_tokens.verify_email(db, SECRET, token, now=later) is account
    assert account.email_verified_at == later
    with pytest.raises(InvalidToken):  # single use
        account_tokens.verify_email(db, SECRET, token, now=later)


def test_confirmation_link_expires(db: Session, town: Any) -> None:
    register(db, town)
    token = token_in(mails(db)[0], "konto/bestaetigen")
    with pytest.raises(ExpiredToken):
        account_tokens.verify_email(db, SECRET, token, now=NOW + timedelta(hours=24, seconds=1))
    account = identity.find_by_email(db, "erika.neu@test.example")
    assert account is not None and not account.email_verified


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # tampered signature
        lambda t: "99999" + t[t.index("-") :],  # someone else's account id
        lambda t: t.split("-", 1)[1],  # no account id
        lambda t: "",
        lambda t: "1" * 40 + "-x",
    ],
)
def test_forged_confirmation_links_are_refused(db: Session, town: Any, forge: Any) -> None:
    register(db, town)
    token = token_in(mails(db)[0], "konto/bestaetigen")
    with pytest.raises(InvalidToken):
        account_tokens.verify_email(db, SECRET, forge(token), now=NOW)
    with pytest.raises(InvalidToken):  # made with another secret
        account_tokens.verify_email(db, "another-secret-of-at-least-32-chars", token, now=NOW)


def test_registering_a_known_address_changes_nothing_and_mails_a_hint(
    db: Session, make: Any, town: Any
) -> None:
    existing = make.user(email="vergeben@test.example")
    persons_before = db.scalars(select(Person)).all()
    register(db, town, email="Vergeben@Test.example", given_name="Mallory")
    assert db.scalars(select(Person)).all() == persons_before
    assert db.scalars(select(UserAccount).where(UserAccount.email.like("vergeben%"))).all() == [
        existing
    ]
    [mail] = mails(db)
    assert mail.recipient == "vergeben@test.example"
    assert "bereits ein Konto" in mail.subject
    assert LINKS.login in mail.body and LINKS.forgot_password in mail.body
    assert "bestaetigen" not in mail.body  # no link that would confirm whoever registered first
    assert identity.authenticate(db, "vergeben@test.example", PASSWORD) is existing


def test_weak_password_is_refused_the_same_way_for_a_known_address(
    db: Session, make: Any, town: Any
) -> None:
    make.user(email="vergeben@test.example")
    messages = []
    for email in ("vergeben@test.example", "frei@test.example"):
        with pytest.raises(ValidationError) as refused:
            register(db, town, email=email, password="Teststadt2026-2027")
        messages.append(refused.value.message)
    assert messages[0] == messages[1] and "Anschrift" in messages[0]
    assert mails(db) == []


def test_reset_link_works_once_and_only_the_new_password_logs_in(
    db: Session, make: Any, town: Any
) -> None:
    account = make.user(email="erika@test.example")
    registration.request_password_reset(
        db, town, "ERIKA@test.example", secret=SECRET, links=LINKS, now=NOW
    )
    [mail] = mails(db)
    assert mail.recipient == "erika@test.example"
    token = token_in(mail, "passwort/neu")
    later = NOW + timedelta(minutes=59)
    assert account_tokens.account_for_reset(db, SECRET, token, now=later) is account
    account_tokens.reset_password(db, SECRET, token, NEW_PASSWORD, now=later)
    assert identity.authenticate(db, "erika@test.example", PASSWORD) is None
    assert identity.authenticate(db, "erika@test.example", NEW_PASSWORD) is account
    with pytest.raises(InvalidToken):
        account_tokens.reset_password(db, SECRET, token, "Noch ein anderes Passwort", now=later)
    assert identity.authenticate(db, "erika@test.example", NEW_PASSWORD) is account


def test_reset_link_expires_and_dies_with_a_later_password_change(
    db: Session, make: Any, town: Any
) -> None:
    account = make.user(email="erika@test.example")
    first = account_tokens.reset_token(SECRET, account, issued_at=NOW)
    second = account_tokens.reset_token(SECRET, account, issued_at=NOW)
    with pytest.raises(ExpiredToken):
        account_tokens.account_for_reset(db, SECRET, first, now=NOW + timedelta(minutes=61))
    identity.set_password(account, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        account_tokens.account_for_reset(db, SECRET, second, now=NOW)


def test_reset_refuses_a_weak_password_and_keeps_the_link(
    db: Session, make: Any, town: Any
) -> None:
    account = make.user(email="erika.neu@test.example")
    token = account_tokens.reset_token(SECRET, account, issued_at=NOW)
    for weak in ("1234567890", "aaaaaaaaaa", "erika.neu@test.example", "password123"):
        with pytest.raises(ValidationError):
            account_tokens.reset_password(db, SECRET, token, weak, now=NOW)
    assert identity.authenticate(db, "erika.neu@test.example", PASSWORD) is account
    account_tokens.reset_password(db, SECRET, token, NEW_PASSWORD, now=NOW)


def test_reset_confirms_an_unconfirmed_address(db: Session, town: Any) -> None:
    register(db, town)
    account = identity.find_by_email(db, "erika.neu@test.example")
    assert account is not None
    token = account_tokens.reset_token(SECRET, account, issued_at=NOW)
    account_tokens.reset_password(db, SECRET, token, NEW_PASSWORD, now=NOW)
    assert account.email_verified_at == NOW


def test_reset_is_mailed_only_to_active_citizen_accounts(db: Session, make: Any, town: Any) -> None:
    clerk = make.user(role=Role.CLERK, municipality=town, email="clerk@test.example")
    blocked = make.user(email="blocked@test.example")
    blocked.is_active = False
    for email in ("niemand@test.example", clerk.email, blocked.email):
        registration.request_password_reset(db, town, email, secret=SECRET, links=LINKS, now=NOW)
    assert mails(db) == []
    token = account_tokens.reset_token(SECRET, clerk, issued_at=NOW)
    with pytest.raises(InvalidToken):
        account_tokens.account_for_reset(db, SECRET, token, now=NOW)


def test_accounts_made_by_staff_demo_and_factories_count_as_confirmed(
    db: Session, make: Any
) -> None:
    assert make.user().email_verified
    account = identity.create_user(
        db, email="neu@test.example", password=NEW_PASSWORD, display_name="Neu", verified=False
    )
    assert not account.email_verified


def test_create_user_applies_the_password_rules(db: Session) -> None:
    with pytest.raises(ValidationError, match="Zeichenfolge"):
        identity.create_user(
            db, email="neu@test.example", password="123456789012345", display_name="Neu"
        )
    with pytest.raises(ValidationError, match="E-Mail-Adresse"):
        identity.create_user(
            db, email="neu@test.example", password="neu@test.example", display_name="Neu"
        )


def test_account_mails_go_out_through_a_real_smtp_server(db: Session, make: Any, town: Any) -> None:
    from aiosmtpd.controller import Controller

    from core.kernel.mail import SmtpSettings, send_pending
    from tests.pg import free_port

    class Inbox:
        def __init__(self) -> None:
            self.messages: list[Any] = []

        async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
            self.messages.append(envelope)
            return "250 OK"

    make.user(email="erika@test.example")
    registration.request_password_reset(
        db, town, "erika@test.example", secret=SECRET, links=LINKS, now=NOW
    )
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        settings = SmtpSettings(host="127.0.0.1", port=port, sender="kasse@test.example")
        assert send_pending(db, settings, now=NOW) == 1
    finally:
        controller.stop()
    [envelope] = inbox.messages
    assert envelope.rcpt_tos == ["erika@test.example"]
    assert "https://portal.example/m/passwort/neu/" in envelope.content.decode()
