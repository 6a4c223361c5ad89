"""Every route of the app, fed bad input as an anonymous visitor, a citizen and a clerk: never a
server error (point 13).

The routes come from ``app.url_map``, so a new route is fuzzed without touching this file:
``<int:…>`` gets 0, -1, 2³¹, 2⁶³; other variables junk; GET gets junk query parameters (years
as words, negative pages, ids that are no numbers, huge numbers) and NUL bytes; every POST route
gets junk forms, forms with NUL bytes and junk JSON. CSRF is off here so that the junk reaches
the views (CSRF itself is tested elsewhere).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from core.identity.models import Role
from portal.app import create_app
from tests import factories
from tests.camt_files import build_camt053, entry, statement, tx
from tests.conftest import STRIPE_TEST_CONFIG
from tests.factories import PASSWORD

_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
INT_VALUES = ["0", "-1", str(2**31), str(2**63)]
STRING_VALUES = {
    "token": ["abc", "WzEsMTc2NDYxNzYwMF0.QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo", "%00"],
    "day": ["abc", "2026-13-45", "99999-01-01"],
    "action": ["foo", "%00"],
    "filename": ["x.css", "..%2F..%2Fetc%2Fpasswd"],
}
JUNK_QUERIES = [
    "year=abc&levy=foo&refund_id=abc&page=-1&period=abc&q=%25&next=//evil.example",
    "year=-5&levy=&refund_id=-1&page=99999999999999999999&period=2147483648&q=99999999999999999999",
    "year=99999999999999999999&levy=dog_tax%27&status=%3Cscript%3E&import_id=abc&line_id=1e9",
    "q=M%00ller&year=20%0026",
]
JUNK_FORM = {
    "year": "abc",
    "levy": "foo",
    "refund_id": "abc",
    "payment_id": "-1",
    "amount": "99999999999999999999.99",
    "amount_cents": "99999999999999999999",
    "page": "-1",
    "collection_date": "2026-02-30",
    "valid_from": "0000-00-00",
    "email": "a@",
    "password": "x",
    "family_name": "M" * 5000,
    "iban": "DE00",
    "period": "-5",
    "reading": "1e400",
    "decision": "foo",
    "person_id": str(2**63),
    "claim_id": "abc",
}
NUL_FORM = {key: f"{value[:20]}\x00" for key, value in JUNK_FORM.items()}
# A bank statement for the test municipality's account with an amount beyond any column.
HUGE_CAMT = build_camt053(
    statement(
        "DE89370400440532013000",
        "FUZZ-1",
        entry(1, tx(9999999999999999999999, remittance="x"), day=date(2026, 3, 2)),
    )
)


def _files() -> dict[str, Any]:
    return {
        "statement": (io.BytesIO(HUGE_CAMT), "auszug.xml"),
        "proof": (io.BytesIO(b"%PDF-1.4 \x00"), "nachweis.pdf"),
        "photo": (io.BytesIO(b"\xff\xd8\xff junk"), "zaehler.jpg"),
    }


# Views owned by other points of issue #10, fixed in parallel branches; xfail until merged.
def _url_variants(rule: str, slug: str) -> list[str]:
    """The rule's path with its variables filled with bad values (one kind at a time)."""
    variables = list(_VARIABLE.finditer(rule))
    rounds = max(
        [1]
        + [
            len(INT_VALUES) if v["converter"] == "int" else len(STRING_VALUES.get(v["name"], [1]))
            for v in variables
        ]
    )
    urls = []
    for i in range(rounds):

        def fill(match: re.Match[str], i: int = i) -> str:
            if match["name"] == "muni":
                return slug
            values = INT_VALUES if match["converter"] == "int" else None
            values = values or STRING_VALUES.get(match["name"], ["abc"])
            return values[i % len(values)]

        urls.append(_VARIABLE.sub(fill, rule))
    return list(dict.fromkeys(urls))


def _rules() -> list[Any]:
    app = create_app({"TESTING": True, "DATABASE_URL": "sqlite://", **STRIPE_TEST_CONFIG})
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint)
    return [pytest.param(r.rule, sorted(r.methods or ()), id=r.endpoint) for r in rules]


@pytest.fixture(scope="module")
def world(engine: Engine) -> Iterator[tuple[Flask, str, dict[str, str]]]:
    """One app and one municipality for all routes (building them per route would take most of
    the time: password hashing, app factory); everything is rolled back at the end."""
    connection = engine.connect()
    outer = connection.begin()
    factory = sessionmaker(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test-secret",
            "DATABASE_URL": str(engine.url),
            "WTF_CSRF_ENABLED": False,
            # The junk log-ins and account mails of the fuzz must not throttle its own clients
            # (log-in throttling, point 10, and mail throttling, point 14, have their own tests).
            "LOGIN_LIMIT_PER_ACCOUNT": "100000 per 15 minutes",
            "LOGIN_LIMIT_PER_ADDRESS": "100000 per 15 minutes",
            "ACCOUNT_MAIL_LIMIT_PER_RECIPIENT": "100000 per 15 minutes",
            "ACCOUNT_MAIL_LIMIT_PER_ADDRESS": "100000 per 15 minutes",
            **STRIPE_TEST_CONFIG,
        },
        session_factory=factory,
    )
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a server error must show up as a 500 here
    with factory() as db:
        m = factories.municipality(db)
        factories.dog_tax_statute(db, m)
        factories.waste_statute(db, m)
        factories.sepa_statute(db, m)
        citizen = factories.user(db)
        factories.person(db, m, user=citizen, family_name="Fuzz")
        clerk = factories.user(db, role=Role.CLERK, municipality=m)
        db.commit()
        emails = {"citizen": citizen.email, "clerk": clerk.email}
        slug = m.slug
    yield app, slug, emails
    outer.rollback()
    connection.close()


def _logged_in(app: Flask, slug: str, role: str, email: str) -> FlaskClient:
    client = app.test_client()
    if role == "citizen":
        client.post(f"/{slug}/anmelden", data={"email": email, "password": PASSWORD}).close()
    else:
        client.post("/backoffice/anmelden", data={"email": email, "password": PASSWORD}).close()
    assert _is_logged_in(client, slug, role)
    return client


def _is_logged_in(client: FlaskClient, slug: str, role: str) -> bool:
    with client.get(f"/{slug}/konto" if role == "citizen" else "/backoffice/personen") as response:
        return response.status_code == 200


@pytest.fixture(scope="module")
def logged_in(world: tuple[Flask, str, dict[str, str]]) -> dict[str, FlaskClient]:
    app, slug, emails = world
    return {role: _logged_in(app, slug, role, email) for role, email in emails.items()}


@pytest.fixture
def clients(
    world: tuple[Flask, str, dict[str, str]], logged_in: dict[str, FlaskClient]
) -> tuple[str, dict[str, FlaskClient]]:
    app, slug, emails = world
    for role, client in logged_in.items():  # a fuzzed log-out (or new session rules) ends it
        if not _is_logged_in(client, slug, role):
            logged_in[role] = _logged_in(app, slug, role, emails[role])
    return slug, {"anonymous": app.test_client(), **logged_in}


def _requests(
    rule: str, methods: list[str], slug: str
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for url in _url_variants(rule, slug):
        if "GET" in methods:
            yield "GET", url, {}
            for query in JUNK_QUERIES:
                yield "GET", f"{url}?{query}", {}
        if "POST" in methods:
            yield "POST", url, {"data": JUNK_FORM}
            yield "POST", url, {"data": NUL_FORM}
            yield "POST", url, {"data": {**JUNK_FORM, **_files()}}
            yield "POST", f"{url}?{JUNK_QUERIES[0]}", {"json": {"year": "abc", "x": ["\x00"]}}


@pytest.mark.parametrize(("rule", "methods"), _rules())
def test_no_route_answers_bad_input_with_a_server_error(
    clients: tuple[str, dict[str, FlaskClient]], rule: str, methods: list[str]
) -> None:
    slug, by_role = clients
    failures = []
    for role, client in by_role.items():
        for method, url, kwargs in _requests(rule, methods, slug):
            response = client.open(url, method=method, **kwargs)
            response.close()
            if response.status_code >= 500:
                failures.append(f"{role} {method} {url} → {response.status_code}")
    assert not failures, "\n".join(failures)
