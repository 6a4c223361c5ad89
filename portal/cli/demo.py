"""`openkasse demo`: load the demo data (core/demo/) into an empty database."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from core.kernel import clock
from core.kernel.db import unit_of_work
from portal.cli import context


@click.command("demo")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn noch keine Kommune existiert.")
@click.option("--persons", default=180, show_default=True, help="Personen je Kommune.")
@click.option("--seed", default=2026, show_default=True)
@click.option(
    "--bundid",
    "bundid_url",
    default=None,
    help="Adresse des Demo-Identitätsdienstes (make run: http://127.0.0.1:8421).",
)
@click.option(
    "--bundid-saml",
    "saml_url",
    default=None,
    help="Adresse des Demo-SAML-Identitätsdienstes (make run: http://127.0.0.1:8422).",
)
@click.option(
    "--muk",
    "muk_url",
    default=None,
    help="Adresse des Demo-Unternehmenskontos (make run: http://127.0.0.1:8423).",
)
@with_appcontext
def demo(
    if_empty: bool,
    persons: int,
    seed: int,
    bundid_url: str | None,
    saml_url: str | None,
    muk_url: str | None,
) -> None:
    """Load demo data: two municipalities, persons, claims, payments, log-ins."""
    from core import demo as demo_data
    from core.demo import bundid, bundid_saml, company_account

    with unit_of_work(context.session_factory()) as session:
        if demo_data.has_data(session):
            if if_empty:
                click.echo("Demodaten sind bereits geladen.")
                if bundid_url and bundid.ensure_providers(session, bundid_url):
                    click.echo(f"„Mit BundID anmelden“ über {bundid_url} eingerichtet.")
                if saml_url and bundid_saml.ensure_providers(session, saml_url):
                    click.echo(f"„Mit BundID (SAML) anmelden“ über {saml_url} eingerichtet.")
                if muk_url and company_account.ensure_providers(session, muk_url):
                    click.echo(f"„Mit Unternehmenskonto anmelden“ über {muk_url} eingerichtet.")
                return
            raise click.ClickException("Die Datenbank enthält schon Daten.")
        summary = demo_data.load(
            session,
            as_of=clock.today(),
            persons_per_municipality=persons,
            seed=seed,
            progress=click.echo,
        )
        if bundid_url:
            bundid.ensure_providers(session, bundid_url)
            summary += f" „Mit BundID anmelden“ über {bundid_url}."
        if saml_url:
            bundid_saml.ensure_providers(session, saml_url)
            summary += f" „Mit BundID (SAML) anmelden“ über {saml_url}."
        if muk_url:
            company_account.ensure_providers(session, muk_url)
            summary += f" „Mit Unternehmenskonto anmelden“ über {muk_url}."
    click.echo(summary)
