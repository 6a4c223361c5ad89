"""`openkasse assess …` and `openkasse meters cards`: the levies' annual runs (dog tax, waste
fees, property tax, water billing) and the water meters' reading cards that come before the
water run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.kernel import clock
from portal.cli import context
from portal.cli.notices import render_pending

if TYPE_CHECKING:
    from core.levies.pipeline import PersonLevy


@click.group("assess", cls=AppGroup)
def assess_group() -> None:
    """Veranlagung (Stapellauf)."""


def _batch(
    slug: str | None, unit: str, run: Callable[..., Any], summary: Callable[[Any, Any], str]
) -> None:
    """A batch run per municipality: every chunk is its own transaction (a rerun resumes where
    it stopped, the runs are idempotent), progress on stderr, a summary line each."""
    with context.session_factory()() as session:
        for municipality in context.municipalities(session, slug):

            def progress(done: int, total: int, name: str = municipality.name) -> None:
                session.commit()
                click.echo(f"  {name}: {done}/{total} {unit}", err=True)

            stats = run(session, municipality, progress)
            session.commit()
            click.echo(summary(municipality, stats))


def _annual_run_options(year_label: str) -> Callable[[Any], Any]:
    """The options every annual assessment run takes (and its app context)."""

    def decorate(command: Any) -> Any:
        for option in reversed(
            [
                click.option(
                    "--as-of",
                    "as_of",
                    required=True,
                    type=click.DateTime(formats=["%Y-%m-%d"]),
                    help="Bescheiddatum (JJJJ-MM-TT).",
                ),
                click.option(
                    "--year", help=f"{year_label}, vierstellig (Standard: Jahr von --as-of)."
                ),
                click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname)."),
                click.option(
                    "--render/--no-render",
                    default=True,
                    show_default=True,
                    help="PDFs der neuen Bescheide gleich erzeugen.",
                ),
                with_appcontext,
            ]
        ):
            command = option(command)
        return command

    return decorate


def _year(text: str | None, as_of: Any) -> int:
    """The run's year, four digits and assessable on ``as_of`` (German error otherwise)."""
    from core.kernel.errors import ValidationError
    from core.levies import run_guards

    try:
        return run_guards.parse_year(text or str(as_of.year), as_of)
    except ValidationError as exc:
        raise click.ClickException(exc.message) from exc


def _person_levy_run(
    levy: PersonLevy[Any, Any, Any],
    *,
    as_of: Any,
    year: str | None,
    slug: str | None,
    render: bool,
    who: str,
    summary: Callable[[Any, int, Any], str],
) -> None:
    """The annual run of a levy assessed per person, per municipality, with progress."""
    day = as_of.date()
    run_year = _year(year, day)
    _batch(
        slug,
        who,
        lambda session, m, progress: levy.assess_all(
            session, municipality=m, year=run_year, as_of=day, actor="cli", chunk_done=progress
        ),
        lambda m, stats: summary(m, run_year, stats),
    )
    if render:
        render_pending(slug)


@assess_group.command("dog-tax")
@_annual_run_options("Steuerjahr")
def assess_dog_tax(as_of, year: str | None, slug: str | None, render: bool) -> None:  # type: ignore[no-untyped-def]
    """Annual dog-tax assessment; idempotent (a second run changes nothing)."""
    from core.levies.dog_tax.assessment import DOG_TAX

    _person_levy_run(
        DOG_TAX,
        as_of=as_of,
        year=year,
        slug=slug,
        render=render,
        who="Halter",
        summary=lambda m, tax_year, stats: (
            f"{m.name}: Hundesteuer {tax_year} – {stats.persons} Halter, "
            f"{stats.notices} neue Bescheide."
        ),
    )


@assess_group.command("waste")
@_annual_run_options("Gebührenjahr")
def assess_waste(as_of, year: str | None, slug: str | None, render: bool) -> None:  # type: ignore[no-untyped-def]
    """Annual waste-fee assessment; idempotent (a second run changes nothing)."""
    from core.levies.waste.assessment import WASTE_FEE

    _person_levy_run(
        WASTE_FEE,
        as_of=as_of,
        year=year,
        slug=slug,
        render=render,
        who="Gebührenpflichtige",
        summary=lambda m, fee_year, stats: (
            f"{m.name}: Abfallgebühren {fee_year} – {stats.persons} "
            f"Gebührenpflichtige, {stats.bins} Behälter, {stats.notices} neue Bescheide."
        ),
    )


@assess_group.command("property-tax")
@_annual_run_options("Steuerjahr")
def assess_property_tax(as_of, year: str | None, slug: str | None, render: bool) -> None:  # type: ignore[no-untyped-def]
    """Annual property-tax assessment from the basis notices; idempotent (a second run
    changes nothing)."""
    from core.levies.property_tax.assessment import PROPERTY_TAX

    _person_levy_run(
        PROPERTY_TAX,
        as_of=as_of,
        year=year,
        slug=slug,
        render=render,
        who="Eigentümer",
        summary=lambda m, tax_year, stats: (
            f"{m.name}: Grundsteuer {tax_year} – {stats.persons} Eigentümer, "
            f"{stats.objects} Grundstücke, {stats.notices} neue Bescheide."
        ),
    )


@click.group("meters", cls=AppGroup)
def meters_group() -> None:
    """Wasserzähler."""


@meters_group.command("cards")
@click.option("--period", required=True, help="Ablesejahr (vierstellig).")
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(dir_okay=False, writable=True),
    help="PDF-Datei (eine Karte je Seite; je Kommune eine Datei mit Kurzname).",
)
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@click.option("--email", is_flag=True, help="Den Link auch per E-Mail senden (Postausgang).")
@with_appcontext
def meters_cards(period: str, out: str, slug: str | None, email: bool) -> None:
    """Reading cards with a QR code per meter (signed, bound to meter and period); the reply-by
    date is the statute's reading deadline."""
    from core.levies.water import cards as water_cards
    from core.levies.water import models as water

    year = _year(period, clock.today())
    factory = context.session_factory()
    with factory() as session:
        for municipality in context.municipalities(session, slug):
            meters = water.meters_for_cards(session, municipality.id, year)
            if not meters:
                continue
            target = (
                Path(out)
                if slug
                else Path(out).with_name(f"{Path(out).stem}-{municipality.slug}{Path(out).suffix}")
            )
            pdf = water_cards.reading_cards_pdf(
                session,
                meters,
                period=year,
                secret=current_app.config["SECRET_KEY"],
                public_base_url=current_app.config["PUBLIC_BASE_URL"],
                issued_at=clock.now(),
            )
            target.write_bytes(pdf)
            click.echo(f"{target}: {len(meters)} Ablesekarten")
            if email:
                queued = water_cards.email_reading_links(
                    session,
                    meters,
                    period=year,
                    secret=current_app.config["SECRET_KEY"],
                    public_base_url=current_app.config["PUBLIC_BASE_URL"],
                    issued_at=clock.now(),
                )
                session.commit()
                click.echo(f"  {queued} E-Mails im Postausgang")


@assess_group.command("water")
@click.option("--period", required=True, help="Abrechnungsjahr (vierstellig).")
@click.option(
    "--as-of",
    "as_of",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="Bescheiddatum (Standard: heute).",
)
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@click.option(
    "--confirm-early",
    is_flag=True,
    help="Vor Ende der Ablesefrist abrechnen (Zähler ohne Stand werden geschätzt).",
)
@with_appcontext
def assess_water(period: str, as_of, slug: str | None, confirm_early: bool) -> None:  # type: ignore[no-untyped-def]
    """Consumption billing with estimates and next year's advance payments; idempotent.
    Before the reading deadline only with --confirm-early, after showing what it would do."""
    from core.kernel.errors import DomainError
    from core.levies.water import assessment as water_run
    from core.levies.water import guard as water_guard

    day = as_of.date() if as_of else clock.today()
    year = _year(period, day)
    with (
        context.session_factory()() as session
    ):  # every municipality is checked before any is billed
        early = []
        for m in context.municipalities(session, slug):
            try:
                check = water_guard.water_billing_check(session, m.id, year, day)
            except DomainError as exc:
                raise click.ClickException(f"{m.name}: {exc.message}") from exc
            click.echo(f"{m.name}:\n  " + "\n  ".join(check.lines()))
            early += [m.name] if check.early else []
    if early and not confirm_early:
        raise click.ClickException(
            f"Die Ablesefrist für {year} ist noch nicht abgelaufen ({', '.join(early)}): nichts "
            "abgerechnet. Mit --confirm-early trotzdem abrechnen (Zähler ohne übernommenen "
            "Stand werden geschätzt)."
        )
    _batch(
        slug,
        "Zähler",
        lambda session, m, progress: water_run.bill_all(
            session,
            municipality=m,
            period=year,
            as_of=day,
            actor="cli",
            chunk_done=progress,
            confirm_early=confirm_early,
        ),
        lambda m, stats: (
            f"{m.name}: Wasser {year} – {stats.meters} Zähler, "
            f"{stats.notices} Abrechnungen, davon {stats.estimated} geschätzt"
            + (f", {stats.waiting} Zählerstände warteten auf Prüfung." if stats.waiting else ".")
        ),
    )
