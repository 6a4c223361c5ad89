"""`openkasse demo --muk URL` (make run) registers the demo company-account provider per
municipality and records the bakery's managing director (a MUK identity) as its admin; the demo
identities' Steuernummern name the businesses the README says."""

from __future__ import annotations

from sqlalchemy import select

from core.demo import company_account
from core.identity import external
from core.identity.external import IdentityProvider
from core.kernel.db import make_engine, make_session_factory
from core.levies.basis_notices.businesses import business_by_tax_number
from core.representation.models import Representative, RepresentativeRole
from core.tenancy.municipalities import get_by_slug
from tests.integration.test_cli import fresh_env, run  # noqa: F401 - fixture

URL = "http://127.0.0.1:8423"


def test_demo_registers_the_company_account(fresh_env: dict[str, str]) -> None:  # noqa: F811
    assert run("db", "upgrade", env=fresh_env).returncode == 0
    loaded = run("demo", "--persons", "4", "--muk", URL, env=fresh_env)
    assert loaded.returncode == 0, loaded.stderr
    assert f"„Mit Unternehmenskonto anmelden“ über {URL}" in loaded.stdout
    again = run("demo", "--if-empty", "--muk", URL, env=fresh_env)
    assert again.returncode == 0 and "eingerichtet" not in again.stdout  # nothing new

    engine = make_engine(fresh_env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            rows = session.scalars(select(IdentityProvider)).all()
            assert [(r.slug, r.company_account, r.org_claim, r.issuer) for r in rows] == [
                (company_account.SLUG, True, "org_id", URL)
            ] * 2
            m = get_by_slug(session, "musterstadt")
            bakery = business_by_tax_number(session, m.id, company_account.KRUME)
            assert bakery is not None and bakery.company_name == "Bäckerei Krume GmbH"
            assert bakery.user_id is not None  # the bakery of the README's own log-in
            identity = external.find_identity(session, URL, company_account.DIRECTOR)
            assert identity is not None
            rep = session.scalars(
                select(Representative).where(Representative.user_id == identity.account_id)
            ).one()
            assert rep.organisation_id == bakery.id and rep.role is RepresentativeRole.ADMIN
            assert rep.is_active
            assert business_by_tax_number(session, m.id, "9999/999/99999") is None
    finally:
        engine.dispose()
