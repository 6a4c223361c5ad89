"""Powers of attorney in the portal and the back office: granted online by the principal or
recorded by a clerk, accepted by the agent with the e-mailed link, visible to both, limited in
scope and time (the clock pinned by OPENKASSE_TODAY), revocable; audit rows name both."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.audit import AuditEvent
from core.kernel.mail import OutboxMessage
from core.representation.models import PowerOfAttorney
from tests.conftest import csrf_token, login, post_form, staff_login

LINK_RE = re.compile(r"https?://[^/\s]+/[^/\s]+(/einladung/vollmacht/\S+)")
TODAY = date(2026, 3, 1)


@pytest.fixture(autouse=True)
def _today(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENKASSE_TODAY", TODAY.isoformat())


def post(client: FlaskClient, page: str, url: str, data: dict[str, str]) -> Any:
    """Submit a form of ``page`` to ``url`` with the page's CSRF token."""
    return client.post(url, data={"csrf_token": csrf_token(client, page), **data})


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def link_to(db: Session, email: str) -> str:
    body = db.scalars(
        select(OutboxMessage.body)
        .where(OutboxMessage.recipient == email)
        .order_by(OutboxMessage.id.desc())
    ).first()
    match = LINK_RE.search(body or "")
    assert match, body
    return match.group(1)


@pytest.fixture
def people(db: Session, make: Any) -> Any:
    m = make.municipality()
    principal_user, agent = make.user(), make.user()
    principal = make.person(m, user=principal_user, given_name="Paula", family_name="Prinz")
    make.claim(m, principal, amount=4200, description="Hundesteuer Prinz")
    return m, principal_user, principal, agent


def accept(client: FlaskClient, db: Session, m: Any, agent: Any) -> Any:
    link = link_to(db, agent.email)
    login(client, m.slug, agent.email)
    return post_form(client, f"/{m.slug}{link}", {})


def test_granted_online_accepted_and_ended_by_its_date(
    client: FlaskClient, db: Session, people: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    m, principal_user, _principal, agent = people
    login(client, m.slug, principal_user.email)
    granted = post(
        client,
        f"/{m.slug}/vollmachten",
        f"/{m.slug}/vollmachten/erteilen",
        {
            "agent_email": agent.email,
            "scope": "view",
            "valid_from": "2026-03-01",
            "valid_until": "2026-03-31",
        },
    )
    assert granted.status_code == 302, text(granted)
    assert agent.email in text(client.get(f"/{m.slug}/vollmachten"))
    post(client, f"/{m.slug}/konto", f"/{m.slug}/abmelden", {})
    assert accept(client, db, m, agent).status_code == 302
    page = text(client.get(f"/{m.slug}/konto"))
    assert "Hundesteuer Prinz" in page and "Vollmacht: nur ansehen" in page
    # nur ansehen: no payment
    token = csrf_token(client, f"/{m.slug}/konto")
    refused = client.post(f"/{m.slug}/bezahlen", data={"csrf_token": token})
    assert refused.status_code == 403 and "keine Zahlungen" in text(refused)
    # the day after its end it grants nothing, in the same session
    monkeypatch.setenv("OPENKASSE_TODAY", "2026-04-01")
    later = text(client.get(f"/{m.slug}/konto"))
    assert "Hundesteuer Prinz" not in later and "besteht nicht mehr" in later


def test_the_principal_revokes_and_access_ends(
    client: FlaskClient, db: Session, people: Any, app: Any
) -> None:
    m, principal_user, _principal, agent = people
    login(client, m.slug, principal_user.email)
    post(
        client,
        f"/{m.slug}/vollmachten",
        f"/{m.slug}/vollmachten/erteilen",
        {"agent_email": agent.email, "scope": "all", "valid_from": "2026-03-01"},
    )
    other = app.test_client()
    assert accept(other, db, m, agent).status_code == 302
    assert "Hundesteuer Prinz" in text(other.get(f"/{m.slug}/konto"))
    power = db.scalars(select(PowerOfAttorney)).one()
    revoked = post(
        client, f"/{m.slug}/vollmachten", f"/{m.slug}/vollmachten/{power.id}/widerrufen", {}
    )
    assert revoked.status_code == 302
    assert "Hundesteuer Prinz" not in text(other.get(f"/{m.slug}/konto"))
    rows = db.scalars(
        select(AuditEvent.action).where(
            AuditEvent.object_type == "power_of_attorney", AuditEvent.object_id == power.id
        )
    ).all()
    assert rows == [
        "power_of_attorney.granted",
        "power_of_attorney.accepted",
        "power_of_attorney.revoked",
    ]


def test_a_stranger_cannot_revoke_or_see_it(
    client: FlaskClient, db: Session, people: Any, make: Any
) -> None:
    m, principal_user, _principal, agent = people
    login(client, m.slug, principal_user.email)
    post(
        client,
        f"/{m.slug}/vollmachten",
        f"/{m.slug}/vollmachten/erteilen",
        {"agent_email": agent.email, "scope": "all", "valid_from": "2026-03-01"},
    )
    power = db.scalars(select(PowerOfAttorney)).one()
    post(client, f"/{m.slug}/konto", f"/{m.slug}/abmelden", {})
    stranger = make.user()
    make.person(m, user=stranger)
    login(client, m.slug, stranger.email)
    assert agent.email not in text(client.get(f"/{m.slug}/vollmachten"))
    answer = post(
        client, f"/{m.slug}/vollmachten", f"/{m.slug}/vollmachten/{power.id}/widerrufen", {}
    )
    assert answer.status_code == 404
    db.refresh(power)
    assert power.revoked_at is None


def test_an_expired_end_date_and_a_wrong_date_are_refused(client: FlaskClient, people: Any) -> None:
    m, principal_user, _principal, agent = people
    login(client, m.slug, principal_user.email)
    answer = post(
        client,
        f"/{m.slug}/vollmachten",
        f"/{m.slug}/vollmachten/erteilen",
        {
            "agent_email": agent.email,
            "scope": "all",
            "valid_from": "2026-02-01",
            "valid_until": "2026-02-10",
        },
    )
    assert answer.status_code == 200 and "schon abgelaufen" in text(answer)


def test_a_clerk_records_a_paper_power_the_agent_accepts(
    client: FlaskClient, db: Session, people: Any, make: Any, app: Any
) -> None:
    m, _principal_user, principal, agent = people
    clerk = make.user(role=Role.CLERK, municipality=m)
    staff = app.test_client()
    staff_login(staff, clerk.email)
    detail = f"/backoffice/personen/{principal.id}"
    recorded = post(
        staff,
        detail,
        f"{detail}/vollmachten",
        {
            "vollmacht-agent_email": agent.email,
            "vollmacht-scope": "payments",
            "vollmacht-valid_from": "2026-03-01",
        },
    )
    assert recorded.status_code == 302
    shown = text(staff.get(detail))
    assert agent.email in shown and "noch nicht angenommen" in shown and "Kasse erfasst" in shown
    assert accept(client, db, m, agent).status_code == 302
    assert "Hundesteuer Prinz" in text(client.get(f"/{m.slug}/konto"))
    assert "gültig" in text(staff.get(detail))
    power = db.scalars(select(PowerOfAttorney)).one()
    revoked = post(staff, detail, f"{detail}/vollmachten/{power.id}/widerrufen", {})
    assert revoked.status_code == 302
    assert "Hundesteuer Prinz" not in text(client.get(f"/{m.slug}/konto"))
