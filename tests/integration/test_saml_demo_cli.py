"""`openkasse demo --bundid-saml URL` (make run) registers the demo SAML IdP per municipality,
beside the OIDC one, on a fresh database and on one the demo already filled."""

from __future__ import annotations

from sqlalchemy import select

from core.demo import bundid_saml
from core.identity.external import IdentityProvider, ProviderKind
from core.kernel.db import make_engine, make_session_factory
from tests.integration.test_cli import fresh_env, run  # noqa: F401 - fixture

URL = "http://127.0.0.1:8422"


def test_demo_registers_the_saml_idp(fresh_env: dict[str, str]) -> None:  # noqa: F811
    assert run("db", "upgrade", env=fresh_env).returncode == 0
    loaded = run(
        "demo",
        "--persons",
        "4",
        "--bundid",
        "http://127.0.0.1:8421",
        "--bundid-saml",
        URL,
        env=fresh_env,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert f"„Mit BundID (SAML) anmelden“ über {URL}" in loaded.stdout
    again = run("demo", "--if-empty", "--bundid-saml", URL, env=fresh_env)
    assert again.returncode == 0 and "eingerichtet" not in again.stdout  # nothing new

    engine = make_engine(fresh_env["DATABASE_URL"])
    with make_session_factory(engine)() as session:
        rows = session.scalars(select(IdentityProvider).order_by(IdentityProvider.id)).all()
    engine.dispose()
    kinds = sorted((r.slug, r.kind) for r in rows)
    assert (
        kinds == [("bundid", ProviderKind.OIDC)] * 2 + [(bundid_saml.SLUG, ProviderKind.SAML)] * 2
    )
    saml_rows = [r for r in rows if r.kind is ProviderKind.SAML]
    assert {(r.issuer, r.discovery_url, r.label) for r in saml_rows} == {
        (f"{URL}/metadata", f"{URL}/metadata", "BundID (SAML)")
    }
