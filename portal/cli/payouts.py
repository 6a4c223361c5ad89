"""`openkasse payouts run|approve`: the payout run (Auszahlungslauf) from the command line —
preview the persons whose credit is paid out (and those listed with the reason why not), a
run prepared for approval, and a second person's approval (four eyes) that books the payouts
and writes the credit-transfer file (pain.001.001.09)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup, with_appcontext

from core.kernel import clock
from portal.cli import context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("payouts", cls=AppGroup)
def payouts_group() -> None:
    """Auszahlungen von Guthaben per SEPA-Überweisung (Vorschau, Freigabe mit vier Augen)."""


@payouts_group.command("run")
@click.option("--as-of", "as_of", required=True, type=DATE, help="Stichtag des Laufs.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@click.option("--preview", "only_preview", is_flag=True, help="Nur anzeigen, nichts speichern.")
@click.option("--actor", default="cli", show_default=True, help="Wer den Lauf vorbereitet.")
@with_appcontext
def run_command(as_of, slug: str | None, only_preview: bool, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Prepare a payout run (kept for approval), or with --preview only show it."""
    from core.kernel.errors import DomainError
    from core.kernel.money import format_euro
    from core.payments.payouts import runs
    from core.payments.sepa.identifiers import masked_iban

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            planned = runs.preview(session, municipality, as_of.date())
            for p in planned:
                where = (
                    p.reason_label
                    if p.reason
                    else f"an {p.account_holder}, {masked_iban(p.iban or '')}"
                )
                click.echo(
                    f"  Person {p.person.number} {p.person.display_name}: "
                    f"{format_euro(p.payable_cents)} – {where}"
                )
            payable = [p for p in planned if p.reason is None]
            total = format_euro(sum(p.payable_cents for p in payable))
            click.echo(
                f"{len(payable)} Auszahlungen, {total}; {len(planned) - len(payable)} nicht "
                "auszahlbar."
            )
            if only_preview:
                session.rollback()
                click.echo("Nur Vorschau: nichts gespeichert, nichts gebucht.")
                return
            run = runs.open_run(session, municipality, as_of=as_of.date(), actor=actor)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        session.commit()
        click.echo(f"Auszahlungslauf Nr. {run.id} wartet auf Freigabe durch eine zweite Person.")


@payouts_group.command("approve")
@click.argument("run_id", type=int)
@click.option("--by", "actor", required=True, help="Wer freigibt (nicht, wer vorbereitet hat).")
@click.option("--out", type=click.Path(dir_okay=False, writable=True), help="XML-Datei.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@with_appcontext
def approve_command(run_id: int, actor: str, out: str | None, slug: str | None) -> None:
    """Approve a prepared run: book the payouts and write the pain.001 file."""
    from core.kernel.money import format_euro
    from core.payments.payouts import runs
    from core.payments.payouts.models import PayoutRun

    def approve(session: Session, run: PayoutRun) -> str:
        runs.approve(session, run, actor=actor, as_of=clock.today())
        if out and run.xml:
            Path(out).write_bytes(run.xml)  # before the commit: no booked run without its file
        return (
            f"Auszahlungslauf Nr. {run.id}: {run.count} Auszahlungen, "
            f"{format_euro(run.total_cents)} gebucht."
            + (f" Datei: {out}" if out and run.xml else "")
        )

    click.echo(context.act_on_run(PayoutRun, run_id, slug, approve, noun="Auszahlungslauf"))
