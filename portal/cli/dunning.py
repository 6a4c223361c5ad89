"""`openkasse dunning run|approve|book|discard|handover`: the weekly dunning run from the
command line — preview (per person the claims, level, fee and surcharges), a second person's
approval (four eyes), booking (at once, or as a job the workers do in chunks); the hand-over of
what is still open after the last level to enforcement (Vollstreckung)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup, with_appcontext

from portal.cli import context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from core.dunning.models import DunningRun

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("dunning", cls=AppGroup)
def dunning_group() -> None:
    """Mahnwesen: Mahnläufe mit Vorschau, Freigabe (vier Augen) und Buchung."""


def _echo_run(session: Session, run: DunningRun) -> None:
    """Per letter: the person, level, deadline; per claim open amount, fee and surcharge."""
    from sqlalchemy import select

    from core.dunning import runs
    from core.kernel.money import format_euro
    from core.ledger.models import Claim
    from core.persons.models import Person

    letters = runs.letters_of(session, run)
    items = runs.items_of(session, [letter.id for letter in letters])
    claim_ids = sorted({i.claim_id for its in items.values() for i in its})
    claims = {c.id: c for c in session.scalars(select(Claim).where(Claim.id.in_(claim_ids)))}
    click.echo(
        f"Mahnlauf Nr. {run.id} zum {run.run_date:%d.%m.%Y} ({run.state_label}; "
        f"{run.procedure_source})"
    )
    for letter in letters:
        person = session.get_one(Person, letter.person_id)
        click.echo(
            f"\n{person.display_name} (Person {person.number}): Stufe {letter.level} "
            f"„{letter.level_name}“, zahlbar bis {letter.payment_deadline:%d.%m.%Y}"
        )
        for item in items[letter.id]:
            claim = claims[item.claim_id]
            click.echo(
                f"  {claim.kassenzeichen} {claim.description}: offen "
                f"{format_euro(item.open_cents)}, Mahngebühr {format_euro(item.fee_cents)}, "
                f"Säumniszuschlag {format_euro(item.surcharge_cents)}"
            )
        click.echo(f"  Gesamt: {format_euro(letter.total_cents)}")
    fees = sum(letter.fee_cents for letter in letters)
    surcharges = sum(letter.surcharge_cents for letter in letters)
    click.echo(
        f"\n{len(letters)} Mahnschreiben, {len(claim_ids)} Forderungen; Mahngebühren "
        f"{format_euro(fees)}, Säumniszuschläge {format_euro(surcharges)}."
    )


@dunning_group.command("run")
@click.option("--as-of", "as_of", required=True, type=DATE, help="Stichtag des Mahnlaufs.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@click.option("--preview", "only_preview", is_flag=True, help="Nur anzeigen, nichts speichern.")
@click.option("--actor", default="cli", show_default=True, help="Wer den Lauf vorbereitet.")
@with_appcontext
def run_command(as_of, slug: str | None, only_preview: bool, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Prepare a dunning run (kept for approval), or with --preview only show it."""
    from core.dunning import runs
    from core.kernel.errors import DomainError

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            run = runs.preview(session, municipality, as_of.date(), actor)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        _echo_run(session, run)
        if only_preview:
            session.rollback()
            click.echo("Nur Vorschau: nichts gespeichert.")
            return
        session.commit()
        click.echo(
            f"Zur Freigabe durch eine zweite Person: openkasse dunning approve {run.id} "
            "--actor KENNUNG"
        )


@dunning_group.command("approve")
@click.argument("run_id", type=int)
@click.option("--actor", required=True, help="Wer freigibt (nicht, wer den Lauf vorbereitet hat).")
@click.option("--municipality", "slug", help="Kurzname der Kommune.")
@with_appcontext
def approve_command(run_id: int, actor: str, slug: str | None) -> None:
    """Approve a prepared run (four eyes)."""
    from core.dunning import runs
    from core.dunning.models import DunningRun

    context.act_on_run(
        DunningRun, run_id, slug, lambda s, run: runs.approve(s, run, actor), noun="Mahnlauf"
    )
    click.echo(f"Mahnlauf Nr. {run_id} freigegeben von {actor}.")


@dunning_group.command("book")
@click.argument("run_id", type=int)
@click.option("--actor", default="cli", show_default=True)
@click.option("--municipality", "slug", help="Kurzname der Kommune.")
@click.option("--job", "as_job", is_flag=True, help="Als Job buchen (openkasse jobs work).")
@with_appcontext
def book_command(run_id: int, actor: str, slug: str | None, as_job: bool) -> None:
    """Book an approved run's fees and surcharges (booking twice books nothing)."""
    import core.job_kinds  # noqa: F401  (registers the kinds)
    from core.dunning import booking
    from core.dunning.letters import make_for_run as make_letters
    from core.dunning.models import DunningRun
    from core.jobs import control
    from core.tenancy.municipalities import Municipality
    from portal.notice_settings import notice_settings

    def book(session: Session, run: DunningRun) -> str:
        if as_job:
            municipality = session.get_one(Municipality, run.municipality_id)
            job = control.start(session, municipality, "dunning", {"run": str(run.id)}, actor=actor)
            return f"Job Nr. {job.id} gestartet: {job.title} ({job.total} Mahnschreiben)."
        counts = booking.book(session, run, actor)
        counts["pdfs"] = make_letters(session, run, notice_settings(), actor)
        return _booked(run.id, counts)

    click.echo(context.act_on_run(DunningRun, run_id, slug, book, noun="Mahnlauf"))


def _booked(run_id: int, counts: dict[str, int]) -> str:
    return (
        f"Mahnlauf Nr. {run_id} gebucht: {counts['letters']} Mahnschreiben, "
        f"{counts['fees']} Mahngebühren, {counts['surcharges']} Säumniszuschläge, "
        f"{counts['pdfs']} Mahnschreiben als PDF archiviert"
        + (
            f"; {counts['dropped']} Posten entfallen (inzwischen bezahlt, gesperrt oder im Einzug)."
            if counts.get("dropped")
            else "."
        )
    )


@dunning_group.command("discard")
@click.argument("run_id", type=int)
@click.option("--actor", default="cli", show_default=True)
@click.option("--municipality", "slug", help="Kurzname der Kommune.")
@with_appcontext
def discard_command(run_id: int, actor: str, slug: str | None) -> None:
    """Throw away a prepared run that is not approved yet."""
    from core.dunning import runs
    from core.dunning.models import DunningRun

    context.act_on_run(
        DunningRun, run_id, slug, lambda s, run: runs.discard(s, run, actor), noun="Mahnlauf"
    )
    click.echo(f"Mahnlauf Nr. {run_id} verworfen.")


@dunning_group.command("handover")
@click.option("--as-of", "as_of", required=True, type=DATE, help="Stichtag der Abgabe.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@click.option("--preview", "only_preview", is_flag=True, help="Nur anzeigen, nichts speichern.")
@click.option("--actor", default="cli", show_default=True, help="Wer die Fälle abgibt.")
@with_appcontext
def handover_command(as_of, slug: str | None, only_preview: bool, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Hand the claims past the last dunning level over to enforcement, one case per person
    (never blocked claims or items in collection; a claim only once)."""
    from core.dunning import enforcement
    from core.kernel.errors import DomainError
    from core.kernel.money import format_euro

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            planned = enforcement.plan(session, municipality, as_of.date())
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        for case in planned:
            click.echo(
                f"{case.person.display_name} (Person {case.person.number}): "
                f"{len(case.claims)} Forderungen, offen {format_euro(case.open_cents)}"
            )
            for claim, open_cents, _role in case.claims:
                click.echo(
                    f"  {claim.kassenzeichen} {claim.description}: {format_euro(open_cents)}"
                )
        click.echo(f"{len(planned)} Fälle zur Abgabe an die Vollstreckung.")
        if only_preview:
            click.echo("Nur Vorschau: nichts gespeichert.")
            return
        try:
            made = enforcement.hand_over(session, municipality, as_of.date(), actor)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        session.commit()
        click.echo(
            f"{len(made)} Vollstreckungsfälle angelegt: {', '.join(str(c.id) for c in made)}"
        )


@dunning_group.command("plans")
@click.option("--as-of", "as_of", required=True, type=DATE, help="Stichtag der Prüfung.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@with_appcontext
def plans_command(as_of, slug: str | None) -> None:  # type: ignore[no-untyped-def]
    """Check the running instalment plans: paid ones end, missed instalments end the plan."""
    from core.dunning.instalments import check_plans
    from core.kernel.errors import DomainError

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            counts = check_plans(session, municipality, as_of.date())
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        session.commit()
        click.echo(
            f"Ratenpläne zum {as_of:%d.%m.%Y}: {counts['checked']} geprüft, "
            f"{counts['completed']} erledigt, {counts['terminated']} wegen versäumter Rate beendet."
        )
