"""Registration, "Passwort vergessen" and "Link noch einmal senden" cannot flood an inbox or be
sprayed from one machine: per recipient the fourth mail within the hour is not sent (the page
stays the same), per client address the 21st request gets a German 429 — real limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.mail import OutboxMessage
from portal.app import create_app
from portal.config import load
from tests.conftest import CSRF_RE
from tests.web.test_auth import REGISTRATION

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEFAULTS = load("/nonexistent")
PER_RECIPIENT = int(DEFAULTS["ACCOUNT_MAIL_LIMIT_PER_RECIPIENT"].split()[0])  # 3 per hour
PER_ADDRESS = int(DEFAULTS["ACCOUNT_MAIL_LIMIT_PER_ADDRESS"].split()[0])  # 20 per hour
HOUR = timedelta(hours=1)


def mails_to(db: Session, recipient: str) -> list[OutboxMessage]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.recipient == recipient)))


class Browser:
    """One client at one address."""

    def __init__(self, client: FlaskClient, address: str = "198.51.100.7") -> None:
        self.client, self.address = client, address

    def get(self, url: str) -> Any:
        return self.client.get(url, environ_base={"REMOTE_ADDR": self.address})

    def post(self, url: str, data: dict[str, str]) -> Any:
        match = CSRF_RE.search(self.get(url).get_data(as_text=True))
        assert match, url
        return self.client.post(
            url,
            data={"csrf_token": match.group(1), **data},
            environ_base={"REMOTE_ADDR": self.address},
        )

    def answer(self, url: str, data: dict[str, str]) -> tuple[int, str, str]:
        """Status, Location and the page it leads to: all a requester sees."""
        response = self.post(url, data)
        location = response.headers.get("Location", "")
        return response.status_code, location, self.get(location).get_data(as_text=True)


def test_fourth_reset_request_within_the_hour_sends_nothing_and_looks_the_same(
    app: Flask, make: Any, db: Session
) -> None:
    m = make.municipality()
    u = make.user(email="erika@test.example")
    url = f"/{m.slug}/passwort-vergessen"
    with time_machine.travel(START, tick=False) as traveller:
        answers = []
        for n in range(PER_RECIPIENT + 1):  # each from another machine: the address limit
            browser = Browser(app.test_client(), f"198.51.100.{n + 1}")  # plays no part here
            answers.append(browser.answer(url, {"email": u.email}))
        assert len(mails_to(db, u.email)) == PER_RECIPIENT
        assert all(answer == answers[0] for answer in answers)
        assert answers[0][0] == 302 and "Bitte sehen Sie in Ihr E-Mail-Postfach" in answers[0][2]
        # The same answer, and the same count, for an address without an account.
        for n in range(PER_RECIPIENT + 1):
            browser = Browser(app.test_client(), f"198.51.100.{n + 1}")
            assert browser.answer(url, {"email": "niemand@test.example"}) == answers[0]
        # Another address is not held up; the first one again after the window.
        Browser(app.test_client()).answer(url, {"email": "zweite@test.example"})
        traveller.shift(HOUR + timedelta(seconds=1))
        Browser(app.test_client()).answer(url, {"email": u.email})
        assert len(mails_to(db, u.email)) == PER_RECIPIENT + 1


def test_the_limit_is_shared_by_registration_reset_and_resend(
    app: Flask, make: Any, db: Session
) -> None:
    m = make.municipality()
    email = REGISTRATION["email"]
    with time_machine.travel(START, tick=False):
        browser = Browser(app.test_client())
        status, location, page = browser.answer(f"/{m.slug}/registrieren", REGISTRATION)
        assert status == 302 and "Wir haben Ihnen eine E-Mail geschickt" in page
        credentials = {"email": email, "password": REGISTRATION["password"]}
        assert browser.post(f"/{m.slug}/anmelden", credentials).status_code == 302
        resend = f"/{m.slug}/konto/unbestaetigt"
        for _ in range(PER_RECIPIENT):  # the registration's mail was the first of three
            response = browser.post(resend, {})
            assert response.status_code == 302
            assert "noch einmal an erika.neu@test.example" in browser.get(resend).get_data(
                as_text=True
            )
        assert len(mails_to(db, email)) == PER_RECIPIENT
        # A second registration for the address (the "you have an account" hint): not sent
        # either, and the answer is the registration's usual one.
        other = Browser(app.test_client(), "203.0.113.5")
        assert other.answer(f"/{m.slug}/registrieren", REGISTRATION) == (status, location, page)
        assert len(mails_to(db, email)) == PER_RECIPIENT


def test_registration_throttled_for_a_new_address_creates_nothing(
    app: Flask, make: Any, db: Session
) -> None:
    from core.identity.models import UserAccount

    m = make.municipality()
    email = "neu@test.example"
    url = f"/{m.slug}/passwort-vergessen"
    with time_machine.travel(START, tick=False):
        for n in range(PER_RECIPIENT):  # someone asks for resets of a not (yet) used address
            Browser(app.test_client(), f"198.51.100.{n + 1}").answer(url, {"email": email})
        answer = Browser(app.test_client()).answer(
            f"/{m.slug}/registrieren", {**REGISTRATION, "email": email}
        )
        assert answer[0] == 302 and "Wir haben Ihnen eine E-Mail geschickt" in answer[2]
        assert mails_to(db, email) == []
        db.expire_all()
        assert db.scalars(select(UserAccount).where(UserAccount.email == email)).all() == []


def test_too_many_requests_from_one_address_get_a_german_429(
    app: Flask, make: Any, db: Session
) -> None:
    m = make.municipality()
    url = f"/{m.slug}/passwort-vergessen"
    with time_machine.travel(START, tick=False) as traveller:
        browser = Browser(app.test_client())
        for n in range(PER_ADDRESS):  # spraying: a different address each time
            assert browser.post(url, {"email": f"ziel{n}@test.example"}).status_code == 302
        refused = browser.post(url, {"email": "noch-eine@test.example"})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 429
        assert "Zu viele Anfragen" in page and "bitte versuchen Sie es in 60 Minuten" in page
        assert refused.headers["Retry-After"] == "3600"
        assert 'lang="de"' in page
        # The other forms share the limit; another machine is not held up.
        assert browser.post(f"/{m.slug}/registrieren", REGISTRATION).status_code == 429
        other = Browser(app.test_client(), "203.0.113.5")
        assert other.post(url, {"email": "noch-eine@test.example"}).status_code == 302
        # Nothing is locked for good.
        traveller.shift(HOUR + timedelta(seconds=1))
        assert browser.post(url, {"email": "noch-eine@test.example"}).status_code == 302


def test_form_errors_do_not_count(app: Flask, make: Any) -> None:
    m = make.municipality()
    url = f"/{m.slug}/passwort-vergessen"
    with time_machine.travel(START, tick=False):
        browser = Browser(app.test_client())
        for _ in range(PER_ADDRESS + 3):
            assert browser.post(url, {"email": "kein-email"}).status_code == 200
        assert browser.post(url, {"email": "ziel@test.example"}).status_code == 302


@pytest.mark.parametrize(
    "key", ["ACCOUNT_MAIL_LIMIT_PER_RECIPIENT", "ACCOUNT_MAIL_LIMIT_PER_ADDRESS"]
)
def test_a_mistyped_limit_stops_the_start(
    key: str, session_factory: Any, database_url: str
) -> None:
    with pytest.raises(RuntimeError, match=key):
        create_app(
            {
                "TESTING": True,
                "SECRET_KEY": "test-secret",
                "DATABASE_URL": database_url,
                key: "drei",
            },
            session_factory=session_factory,
        )


def test_resending_the_link_counts_for_the_address_too(app: Flask, make: Any, db: Session) -> None:
    m = make.municipality()
    email = REGISTRATION["email"]
    resend = f"/{m.slug}/konto/unbestaetigt"
    with time_machine.travel(START, tick=False):
        browser = Browser(app.test_client())
        assert browser.post(f"/{m.slug}/registrieren", REGISTRATION).status_code == 302
        credentials = {"email": email, "password": REGISTRATION["password"]}
        assert browser.post(f"/{m.slug}/anmelden", credentials).status_code == 302
        for _ in range(PER_ADDRESS - 1):
            assert browser.post(resend, {}).status_code == 302
        refused = browser.post(resend, {})
        assert refused.status_code == 429 and "Zu viele Anfragen" in refused.get_data(as_text=True)
        assert len(mails_to(db, email)) == PER_RECIPIENT
