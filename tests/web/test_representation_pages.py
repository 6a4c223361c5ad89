"""Acting for an organisation in the portal: invitation by e-mail, the "Handeln für …"
switcher, roles enforced on every write, no way into another organisation's data by changing
ids, removal effective at once, business screens, audit rows naming actor and principal."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import clock
from core.kernel.audit import AuditEvent
from core.kernel.mail import OutboxMessage
from core.payments.sepa import mandates
from core.persons.models import PersonKind
from core.representation import representatives
from core.representation.models import Representative, RepresentativeRole
from portal.representation.acting import ACTING_FOR
from tests.conftest import csrf_token, login

IBAN = "DE89370400440532013000"
LINK_RE = re.compile(r"https?://[^/\s]+/[^/\s]+(/einladung/(?:vertreter|vollmacht)/\S+)")


def text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


@pytest.fixture
def orgs(db: Session, make: Any) -> Any:
    """A municipality with two organisations, Alpha and Beta, each with its log-in and a claim."""
    m = make.municipality()
    make.sepa_statute(m)
    owner_a, owner_b = make.user(), make.user()
    org_a = make.person(m, user=owner_a, kind=PersonKind.BUSINESS, company_name="Alpha GmbH")
    org_b = make.person(m, user=owner_b, kind=PersonKind.BUSINESS, company_name="Beta AG")
    make.claim(m, org_a, amount=12345, description="Gewerbesteuer Alpha")
    make.claim(m, org_b, amount=54321, description="Gewerbesteuer Beta")
    return m, owner_a, org_a, owner_b, org_b


def post(client: FlaskClient, m: Any, url: str, data: dict[str, str], page: str = "/konto") -> Any:
    token = csrf_token(client, f"/{m.slug}{page}")
    return client.post(f"/{m.slug}{url}", data={"csrf_token": token, **data})


def invitation_link(db: Session, email: str) -> str:
    messages = db.scalars(
        select(OutboxMessage).where(OutboxMessage.recipient == email).order_by(OutboxMessage.id)
    ).all()
    match = LINK_RE.search(messages[-1].body)
    assert match, messages[-1].body
    return match.group(1)


def invite(client: FlaskClient, db: Session, m: Any, owner: Any, email: str, role: str) -> str:
    login(client, m.slug, owner.email)
    sent = post(client, m, "/vertreter/einladen", {"email": email, "role": role}, "/vertreter")
    assert sent.status_code == 302, text(sent)
    post(client, m, "/abmelden", {})
    return invitation_link(db, email)


def member(client: FlaskClient, db: Session, make: Any, orgs: Any, role: str) -> Any:
    """A new account invited to Alpha with ``role``, accepted and logged in (acting for Alpha)."""
    m, owner_a = orgs[0], orgs[1]
    account = make.user()
    link = invite(client, db, m, owner_a, account.email, role)
    login(client, m.slug, account.email)
    accepted = post(client, m, link, {}, link)
    assert accepted.status_code == 302, text(accepted)
    return account


def test_invite_accept_and_see_the_organisations_claims(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m = orgs[0]
    member(client, db, make, orgs, "accounting")
    page = text(client.get(f"/{m.slug}/konto"))
    assert "Unternehmenskonto" in page and "Gewerbesteuer Alpha" in page
    assert "Gewerbesteuer Beta" not in page
    assert "Handeln für" in page and "Alpha GmbH (Buchhaltung)" in page
    assert "Meine Hunde" not in page and "Anschrift ändern" not in page
    assert "Vertreter" in page


def test_an_invitation_link_works_once_for_the_account_that_opens_it(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    """The link proves the mailbox: the logged-in account that opens it accepts (whatever its
    own address), and then the link is dead for everyone."""
    m, owner_a, org_a = orgs[0], orgs[1], orgs[2]
    link = invite(client, db, m, owner_a, "jemand@test.example", "read_only")
    assert client.get(f"/{m.slug}{link[:-3]}abc").status_code == 404
    taker = make.user()
    login(client, m.slug, taker.email)
    page = text(client.get(f"/{m.slug}{link}"))
    assert "nur einmal" in page and taker.display_name in page
    accepted = post(client, m, link, {}, link)
    assert accepted.status_code == 302, text(accepted)
    assert client.get(f"/{m.slug}{link}").status_code == 404
    post(client, m, "/abmelden", {})
    login(client, m.slug, make.user().email)
    assert post(client, m, link, {}, "/konto").status_code == 404
    rep = db.scalars(
        select(Representative).where(Representative.email == "jemand@test.example")
    ).one()
    assert rep.user_id == taker.id and rep.organisation_id == org_a.id


def test_the_switcher_refuses_an_organisation_not_represented(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_a, org_b = orgs[0], orgs[2], orgs[4]
    member(client, db, make, orgs, "admin")
    refused = post(client, m, "/handeln-fuer", {"person": str(org_b.id)})
    assert refused.status_code == 403 and "nicht handeln" in text(refused)
    no_csrf = client.post(f"/{m.slug}/handeln-fuer", data={"person": str(org_a.id)})
    assert no_csrf.status_code in (400, 403)
    away = post(client, m, "/handeln-fuer", {"person": str(org_a.id), "next": "//evil.example/"})
    assert away.status_code == 302 and away.headers["Location"].endswith(f"/{m.slug}/konto")


def test_a_forged_session_value_shows_nothing_of_another_organisation(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_b = orgs[0], orgs[4]
    member(client, db, make, orgs, "admin")
    with client.session_transaction() as session:
        session[ACTING_FOR] = f"{m.id}:{org_b.id}"
    page = text(client.get(f"/{m.slug}/konto"))
    assert "Gewerbesteuer Beta" not in page and "besteht nicht mehr" in page


def test_ids_of_another_organisation_are_not_found(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_b = orgs[0], orgs[4]
    mandate = mandates.grant_mandate(
        db,
        person=org_b,
        municipality=m,
        account_holder="Beta AG",
        iban=IBAN,
        tax_account_id=None,
        signed_on=clock.today(),
        as_of=clock.today(),
        actor="test",
    )
    rep = representatives.invite(
        db,
        org_b,
        email="b2@test.example",
        role=RepresentativeRole.ADMIN,
        actor="t",
        now=clock.now(),
    )
    member(client, db, make, orgs, "admin")
    assert client.get(f"/{m.slug}/lastschrift/{mandate.id}").status_code == 404
    assert client.get(f"/{m.slug}/lastschrift/{mandate.id}.pdf").status_code == 404
    removed = post(client, m, f"/vertreter/{rep.id}/entfernen", {})
    assert removed.status_code == 404
    db.refresh(rep)
    assert rep.removed_at is None


def test_read_only_may_not_pay_grant_mandates_or_apply(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_a = orgs[0], orgs[2]
    member(client, db, make, orgs, "read_only")
    assert client.get(f"/{m.slug}/konto").status_code == 200
    mandate = {"scope": "alle", "account_holder": "Alpha", "iban": IBAN, "consent": "y"}
    for url, data, words in [
        ("/lastschrift/neu", mandate, "keine Lastschriftmandate"),
        ("/bezahlen", {}, "keine Zahlungen"),
        ("/konto/raten", {}, "keine Zahlungen"),
        ("/zustellung", {}, "keine Anträge"),
        ("/vertreter/einladen", {"email": "x@test.example", "role": "admin"}, "es nicht, Zugänge"),
    ]:
        answer = post(client, m, url, data)
        assert answer.status_code == 403, url
        assert f"Ihre Berechtigung für Alpha GmbH erlaubt {words}" in text(answer), url
    assert mandates.mandates_of(db, org_a) == []


def test_accounting_grants_a_mandate_and_the_audit_names_both(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_a = orgs[0], orgs[2]
    account = member(client, db, make, orgs, "accounting")
    mandate = {"scope": "alle", "account_holder": "Alpha GmbH", "iban": IBAN, "consent": "y"}
    granted = post(client, m, "/lastschrift/neu", mandate, "/lastschrift/neu")
    assert granted.status_code == 302, text(granted)
    (made,) = mandates.mandates_of(db, org_a)
    rows = db.scalars(
        select(AuditEvent).where(
            AuditEvent.object_type == "sepa_mandate", AuditEvent.object_id == made.id
        )
    ).all()
    assert rows and all(
        (r.actor, r.on_behalf_of) == (f"user:{account.id}", f"person:{org_a.id}") for r in rows
    )


def test_a_removed_representative_loses_access_at_once(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, org_a = orgs[0], orgs[2]
    account = member(client, db, make, orgs, "accounting")
    assert "Gewerbesteuer Alpha" in text(client.get(f"/{m.slug}/konto"))
    rep = db.scalars(select(Representative).where(Representative.user_id == account.id)).one()
    representatives.remove(db, rep, actor="test", now=clock.now())
    db.commit()
    page = text(client.get(f"/{m.slug}/konto"))  # the same session, the very next request
    assert "Gewerbesteuer Alpha" not in page and "besteht nicht mehr" in page
    assert org_a.display_name not in page.split("<main", 1)[1].split("Handeln für")[0]


def test_the_last_admin_cannot_remove_themselves(
    client: FlaskClient, db: Session, orgs: Any
) -> None:
    m, owner_a, org_a = orgs[0], orgs[1], orgs[2]
    login(client, m.slug, owner_a.email)
    page = text(client.get(f"/{m.slug}/vertreter"))
    assert owner_a.display_name in page and "Verwaltung" in page
    (own,) = representatives.current(db, org_a)
    refused = post(client, m, f"/vertreter/{own.id}/entfernen", {}, "/vertreter")
    assert refused.status_code == 302
    assert "letzte Zugang" in text(client.get(f"/{m.slug}/vertreter"))
    db.refresh(own)
    assert own.removed_at is None


def test_a_business_sees_no_dog_or_address_wizard(client: FlaskClient, orgs: Any) -> None:
    m, owner_a = orgs[0], orgs[1]
    login(client, m.slug, owner_a.email)
    page = text(client.get(f"/{m.slug}/konto"))
    assert "Meine Hunde" not in page and "Anschrift ändern" not in page
    for url in ("/hunde", "/hunde/anmelden", "/anschrift/aendern"):
        answer = client.get(f"/{m.slug}{url}")
        assert answer.status_code == 403, url
        assert "Dieser Dienst ist für Bürgerinnen und Bürger" in text(answer)


def test_a_citizen_still_sees_their_own_services(client: FlaskClient, make: Any, orgs: Any) -> None:
    m = orgs[0]
    user = make.user()
    make.person(m, user=user)
    login(client, m.slug, user.email)
    page = text(client.get(f"/{m.slug}/konto"))
    assert "Meine Hunde" in page and "Handeln für" not in page
    assert client.get(f"/{m.slug}/hunde").status_code == 200


def test_an_admin_who_removes_themselves_lands_on_their_account(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m = orgs[0]
    account = member(client, db, make, orgs, "admin")
    rep = db.scalars(select(Representative).where(Representative.user_id == account.id)).one()
    gone = post(client, m, f"/vertreter/{rep.id}/entfernen", {}, "/vertreter")
    assert gone.status_code == 302 and gone.headers["Location"].endswith(f"/{m.slug}/konto")
    page = client.get(f"/{m.slug}/konto")
    assert page.status_code == 200 and "Gewerbesteuer Alpha" not in text(page)
    assert client.get(f"/{m.slug}/vertreter").status_code == 403


def test_a_representative_sees_the_organisations_notices_and_no_others(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    from datetime import date

    from core.levies.basis_notices import imports
    from core.levies.property_tax import assessment as property_tax
    from core.notices.records import notices_of
    from tests.basis_notice_files import delivery, plot
    from tests.integration.test_property_tax_levy import enact

    m, org_a, org_b = orgs[0], orgs[2], orgs[4]
    enact(db, m)
    data = delivery(
        plot(m, person_number=org_a.number), plot(m, "3150/123/9999", person_number=org_b.number)
    )
    imports.import_file(db, m, data, filename="a.xml", actor="test")
    property_tax.assess_all(db, municipality=m, year=2026, as_of=date(2026, 1, 10), actor="t")
    db.commit()
    member(client, db, make, orgs, "read_only")
    page = text(client.get(f"/{m.slug}/bescheide"))
    assert "Bescheid über die Festsetzung der Grundsteuer 2026" in page
    [ours] = notices_of(db, org_a.id, m.id)
    [theirs] = notices_of(db, org_b.id, m.id)
    pdf = client.get(f"/{m.slug}/bescheide/{ours.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert client.get(f"/{m.slug}/bescheide/{theirs.id}.pdf").status_code == 404
    downloads = db.scalars(
        select(AuditEvent).where(AuditEvent.on_behalf_of == f"person:{org_a.id}")
    ).all()
    assert downloads, "reading a notice while acting for Alpha is on record for Alpha"


def test_the_organisations_own_log_in_is_bound_by_its_role(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, owner_a, org_a = orgs[0], orgs[1], orgs[2]
    second = make.user()
    rep = representatives.invite(
        db, org_a, email=second.email, role=RepresentativeRole.ADMIN, actor="t", now=clock.now()
    )
    token = representatives.invitation_token("test-secret", rep, issued_at=clock.now())
    representatives.accept(db, "test-secret", token, second, now=clock.now())
    (own,) = [r for r in representatives.current(db, org_a) if r.user_id == owner_a.id]
    representatives.change_role(db, own, RepresentativeRole.READ_ONLY, actor="t")
    db.commit()
    login(client, m.slug, owner_a.email)
    assert "Gewerbesteuer Alpha" in text(client.get(f"/{m.slug}/konto"))
    refused = post(client, m, "/bezahlen", {})
    assert refused.status_code == 403 and "keine Zahlungen" in text(refused)


def test_the_admin_changes_a_role_on_the_page(
    client: FlaskClient, db: Session, make: Any, orgs: Any
) -> None:
    m, owner_a, org_a = orgs[0], orgs[1], orgs[2]
    reader = make.user()
    rep = representatives.invite(
        db, org_a, email=reader.email, role=RepresentativeRole.READ_ONLY, actor="t", now=clock.now()
    )
    db.commit()
    login(client, m.slug, owner_a.email)
    changed = post(client, m, f"/vertreter/{rep.id}/rolle", {"role": "accounting"}, "/vertreter")
    assert changed.status_code == 302
    db.refresh(rep)
    assert rep.role is RepresentativeRole.ACCOUNTING
    assert "Rolle ist jetzt „Buchhaltung“" in text(client.get(f"/{m.slug}/vertreter"))
    (own,) = [r for r in representatives.current(db, org_a) if r.user_id == owner_a.id]
    kept = post(client, m, f"/vertreter/{own.id}/rolle", {"role": "read_only"}, "/vertreter")
    assert kept.status_code == 302
    assert "behält diese Rolle" in text(client.get(f"/{m.slug}/vertreter"))
    assert (
        post(client, m, f"/vertreter/{rep.id}/rolle", {"role": "boss"}, "/vertreter").status_code
        == 400
    )
