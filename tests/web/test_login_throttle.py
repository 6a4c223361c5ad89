"""Failed log-ins are throttled per account and per client address, with the real limits of the
configuration, in the database (shared by workers), and nobody is locked out for good."""

from datetime import UTC, datetime, timedelta
from typing import Any

import time_machine
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.identity.rate_limits import RateLimitHit
from portal.app import create_app
from portal.config import load
from tests.conftest import CSRF_RE
from tests.factories import PASSWORD

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DEFAULTS = load("/nonexistent")
PER_ACCOUNT = int(DEFAULTS["LOGIN_LIMIT_PER_ACCOUNT"].split()[0])  # 10 per 15 minutes
PER_ADDRESS = int(DEFAULTS["LOGIN_LIMIT_PER_ADDRESS"].split()[0])  # 30 per 15 minutes
WINDOW = timedelta(minutes=15)
REFUSED = "Zu viele Anmeldeversuche"


class Browser:
    """One client at one address; fetches the form's CSRF token once."""

    def __init__(self, client: FlaskClient, url: str, address: str = "198.51.100.7") -> None:
        self.client, self.url, self.address = client, url, address
        page = client.get(url, environ_base={"REMOTE_ADDR": address}).get_data(as_text=True)
        match = CSRF_RE.search(page)
        assert match
        self.token = match.group(1)

    def get(self, url: str) -> Any:
        return self.client.get(url, environ_base={"REMOTE_ADDR": self.address})

    def login(self, email: str, password: str = PASSWORD, **headers: str) -> Any:
        return self.client.post(
            self.url,
            data={"csrf_token": self.token, "email": email, "password": password},
            headers=headers,
            environ_base={"REMOTE_ADDR": self.address},
        )


def _portal(app: Flask, slug: str, address: str = "198.51.100.7") -> Browser:
    return Browser(app.test_client(), f"/{slug}/anmelden", address)


def test_wrong_passwords_then_the_right_one_is_refused_until_the_window_passes(
    app: Flask, make: Any
) -> None:
    m = make.municipality()
    u = make.user()
    with time_machine.travel(START, tick=False) as traveller:
        browser = _portal(app, m.slug)
        for _ in range(PER_ACCOUNT):
            assert browser.login(u.email, "falsch-geraten").status_code == 200
        for _ in range(200):
            response = browser.login(u.email, "falsch-geraten")
            assert response.status_code == 429
        response = browser.login(u.email)  # the right password, still refused
        page = response.get_data(as_text=True)
        assert response.status_code == 429
        assert REFUSED in page and "in 15 Minuten erneut" in page
        assert f'value="{u.email}"' in page  # what was typed is kept
        assert browser.get(f"/{m.slug}/konto").status_code == 302  # not logged in
        traveller.shift(WINDOW - timedelta(minutes=1))
        assert "in einer Minute erneut" in browser.login(u.email).get_data(as_text=True)
        traveller.shift(timedelta(minutes=1, seconds=1))  # the first failures left the window
        assert browser.login(u.email).status_code == 302
        assert browser.get(f"/{m.slug}/konto").status_code == 200


def test_the_account_limit_holds_across_addresses_and_both_log_ins(app: Flask, make: Any) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    with time_machine.travel(START, tick=False):
        for n in range(PER_ACCOUNT):
            url = f"/{m.slug}/anmelden" if n % 2 else "/backoffice/anmelden"
            Browser(app.test_client(), url, f"203.0.113.{n}").login(clerk.email, "falsch")
        fresh = Browser(app.test_client(), "/backoffice/anmelden", "192.0.2.1")
        response = fresh.login(clerk.email)
        assert response.status_code == 429
        assert REFUSED in response.get_data(as_text=True)


def test_the_address_limit_ignores_a_forged_forwarded_for(app: Flask, make: Any) -> None:
    m = make.municipality()
    victim = make.user()
    with time_machine.travel(START, tick=False):
        sprayer = _portal(app, m.slug, "198.51.100.66")
        for n in range(PER_ADDRESS):
            response = sprayer.login(
                f"geraten{n}@test.example", "Sommer2026!", **{"X-Forwarded-For": f"10.1.0.{n}"}
            )
            assert response.status_code == 200
        response = sprayer.login(victim.email, **{"X-Forwarded-For": "10.9.9.9"})
        assert response.status_code == 429
        # another machine is not affected, and the victim's account was never guessed at
        assert _portal(app, m.slug, "198.51.100.67").login(victim.email).status_code == 302


def test_successful_log_ins_do_not_count(app: Flask, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    for _ in range(PER_ADDRESS + 5):  # e.g. a town hall behind one address
        assert _portal(app, m.slug).login(u.email).status_code == 302


def test_counts_are_shared_by_every_worker(
    app: Flask, make: Any, session_factory: Any, database_url: str
) -> None:
    second_worker = create_app(
        {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": database_url},
        session_factory=session_factory,
    )
    m = make.municipality()
    u = make.user()
    with time_machine.travel(START, tick=False):
        for n in range(PER_ACCOUNT):
            worker = app if n % 2 else second_worker
            _portal(worker, m.slug).login(u.email, "falsch")
        assert _portal(app, m.slug).login(u.email).status_code == 429
        assert _portal(second_worker, m.slug).login(u.email).status_code == 429


def test_limits_are_configuration(session_factory: Any, database_url: str, make: Any) -> None:
    strict = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": database_url,
            "LOGIN_LIMIT_PER_ACCOUNT": "2 per 1 hour",
        },
        session_factory=session_factory,
    )
    m = make.municipality()
    u = make.user()
    with time_machine.travel(START, tick=False):
        browser = _portal(strict, m.slug)
        browser.login(u.email, "falsch")
        browser.login(u.email, "falsch")
        page = browser.login(u.email).get_data(as_text=True)
        assert REFUSED in page and "in 60 Minuten erneut" in page


def test_counts_hold_no_email_or_address(app: Flask, make: Any, db: Session) -> None:
    m = make.municipality()
    u = make.user()
    _portal(app, m.slug, "198.51.100.99").login(u.email, "falsch")
    keys = db.scalars(select(RateLimitHit.key)).all()
    assert len(keys) == 2  # one per window: account and address
    assert not any(u.email in k or "198.51.100.99" in k or "user" in k for k in keys)


def test_guesses_elsewhere_do_not_lock_the_citizen_out_of_a_known_device(
    app: Flask, make: Any
) -> None:
    m = make.municipality()
    u = make.user()
    url = f"/{m.slug}/anmelden"
    with time_machine.travel(START, tick=False):
        home = Browser(app.test_client(), url, "192.0.2.50")
        assert home.login(u.email).status_code == 302  # this browser is now a known device
        for n in range(PER_ACCOUNT * 3):  # an attacker, from ever new addresses
            Browser(app.test_client(), url, f"203.0.113.{n}").login(u.email, "falsch")
        assert Browser(app.test_client(), url, "192.0.2.51").login(u.email).status_code == 429
        assert Browser(home.client, url, "192.0.2.50").login(u.email).status_code == 302
        # guesses from the known device itself are limited too, for that device alone
        again = Browser(home.client, url, "192.0.2.50")
        for _ in range(PER_ACCOUNT):
            assert again.login(u.email, "falsch").status_code == 200
        assert again.login(u.email).status_code == 429


def test_a_forged_device_cookie_is_not_a_known_device(app: Flask, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    url = f"/{m.slug}/anmelden"
    with time_machine.travel(START, tick=False):
        for n in range(PER_ACCOUNT):
            Browser(app.test_client(), url, f"203.0.113.{n}").login(u.email, "falsch")
        forger = app.test_client()
        forger.set_cookie("ok_login_device", "eyJhIjoiYWNjb3VudDp4IiwiZCI6IngifQ.x.y")
        assert Browser(forger, url, "192.0.2.9").login(u.email).status_code == 429
