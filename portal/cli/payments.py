"""`openkasse payments cleanup`, `openkasse sepa …` and `openkasse bank import`: card payments
left behind, SEPA pre-notifications and direct-debit files (pain.008), bank statements (camt)."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from core.kernel import clock
from portal.cli import context

DATE = click.DateTime(formats=["%Y-%m-%d"])


@click.group("payments", cls=AppGroup)
def payments_group() -> None:
    """Online-Zahlungen."""


@payments_group.command("cleanup")
@click.option("--older-than-hours", default=2, show_default=True, type=int)
@with_appcontext
def payments_cleanup(older_than_hours: int) -> None:
    """Book late successes and cancel abandoned card payments (run it from cron)."""
    from datetime import timedelta

    from core.payments.card import settlement
    from portal.payments.provider import payment_provider as provider

    factory = context.session_factory()
    with factory() as session:
        counts = settlement.abandon_stale(
            session,
            provider(),
            now=clock.now(),
            older_than=timedelta(hours=older_than_hours),
            as_of=clock.today(),
        )
        session.commit()
    click.echo(
        f"Zahlungsvorgänge: {counts['booked']} nachgebucht, {counts['abandoned']} "
        f"abgebrochen, {counts['errors']} nicht erreichbar."
    )


@click.group("sepa", cls=AppGroup)
def sepa_group() -> None:
    """SEPA-Lastschrift: Vorabankündigungen und Lastschriftdateien (pain.008)."""


@sepa_group.command("prenotify")
@click.option("--collection-date", "collection_date", required=True, type=DATE)
@click.option("--as-of", "as_of", type=DATE, help="Versanddatum (Standard: heute).")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@click.option(
    "--letters",
    type=click.Path(dir_okay=False, writable=True),
    help="PDF mit den Briefen an alle ohne E-Mail-Adresse (zum Druck).",
)
@with_appcontext
def sepa_prenotify(collection_date, as_of, slug: str | None, letters: str | None) -> None:  # type: ignore[no-untyped-def]
    """Announce date and amount of every due item a mandate covers (e-mail where known,
    letters to print for everyone else)."""
    from core.kernel.errors import ValidationError
    from core.kernel.money import format_euro
    from core.payments.sepa import prenotifications

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            result = prenotifications.prenotify(
                session,
                municipality,
                collection_date=collection_date.date(),
                as_of=as_of.date() if as_of else clock.today(),
                actor="cli",
            )
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from exc
        printed = None
        if letters:
            printed = prenotifications.prenotification_letters(
                session, municipality, collection_date=collection_date.date()
            )
            if printed is not None:
                Path(letters).write_bytes(printed[0])
        session.commit()
    if printed is not None:
        click.echo(f"{letters}: {printed[1]} Briefe zum Druck")
    click.echo(
        f"{municipality.name}: {result.items} Posten ({format_euro(result.total_cents)}) für "
        f"{result.persons} Personen angekündigt, davon {result.emails} per E-Mail; "
        f"{result.already} waren schon angekündigt."
    )


@sepa_group.command("export")
@click.option("--collection-date", "collection_date", required=True, type=DATE)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="XML-Datei."
)
@click.option("--as-of", "as_of", type=DATE, help="Erstellungsdatum (Standard: heute).")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@with_appcontext
def sepa_export(collection_date, out: str, as_of, slug: str | None) -> None:  # type: ignore[no-untyped-def]
    """Write the direct-debit file (pain.008.001.08) and book its items as in collection."""
    from core.kernel.errors import ValidationError
    from core.kernel.money import format_euro
    from core.payments.sepa import runs as debit_runs

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            result = debit_runs.create_run(
                session,
                municipality,
                collection_date=collection_date.date(),
                as_of=as_of.date() if as_of else clock.today(),
                actor="cli",
            )
        except ValidationError as exc:
            raise click.ClickException(str(exc)) from exc
        skipped = ", ".join(
            f"{n} {debit_runs.SKIP_LABELS.get(k, k)}" for k, n in sorted(result.skipped.items())
        )
        if result.run is None:
            session.rollback()
            raise click.ClickException(
                "Keine einziehbaren Posten." + (f" Übersprungen: {skipped}." if skipped else "")
            )
        Path(out).write_bytes(result.run.xml)  # written before the commit: no run without file
        session.commit()
    click.echo(
        f"{out}: {result.count} Lastschriften, {format_euro(result.total_cents)}, "
        f"Einzug am {collection_date:%d.%m.%Y}." + (f" Übersprungen: {skipped}." if skipped else "")
    )


@click.group("bank", cls=AppGroup)
def bank_group() -> None:
    """Kontoauszüge (camt.053/camt.054) einlesen und abgleichen."""


def _statement_municipality(session, data: bytes, slug: str | None):  # type: ignore[no-untyped-def]
    """The municipality named by ``slug``, else the one whose account the statement is of."""
    from core.payments.bank import camt_parser

    if slug:
        return context.one_municipality(session, slug)
    statements = camt_parser.parse_statements(data)
    ibans = {s.iban.replace(" ", "").upper() for s in statements}
    matches = [
        m for m in context.municipalities(session, None) if m.iban.replace(" ", "").upper() in ibans
    ]
    if len(matches) != 1:
        raise click.ClickException(
            "Das Konto des Auszugs gehört keiner Kommune; bitte --municipality angeben."
        )
    return matches[0]


@bank_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", "as_of", type=DATE, help="Buchungstag (Standard: heute).")
@click.option("--municipality", "slug", help="Kurzname (Standard: die Kommune des Kontos).")
@with_appcontext
def bank_import_command(file: str, as_of, slug: str | None) -> None:  # type: ignore[no-untyped-def]
    """Import a bank statement: match, book, queue the rest; prints the match rate."""
    from core.kernel.errors import ValidationError
    from core.kernel.money import format_euro
    from core.payments.bank import imports as bank_import

    data = Path(file).read_bytes()
    with context.session_factory()() as session:
        try:
            municipality = _statement_municipality(session, data, slug)

            def progress(done: int, total: int) -> None:
                if done % 10000 == 0 or done == total:
                    click.echo(f"  {done}/{total} Umsätze", err=True)

            report = bank_import.import_statements(
                session,
                municipality,
                data,
                filename=Path(file).name,
                as_of=as_of.date() if as_of else clock.today(),
                actor="cli",
                progress=progress,
            )
        except ValidationError as exc:
            session.rollback()
            raise click.ClickException(f"{exc} Es wurde nichts gebucht.") from exc
        session.commit()
    if report.already_imported and not report.transactions:
        click.echo(f"Bereits eingelesen ({', '.join(report.already_imported)}): nichts gebucht.")
        return
    click.echo(
        f"{municipality.name}: {report.transactions} Umsätze, {report.credits} Gutschriften, "
        f"davon {report.credits_matched} automatisch zugeordnet (Trefferquote "
        f"{report.match_rate_text()}); {report.cleared} Lastschriften gutgeschrieben, "
        f"{report.payouts_debited} Auszahlungsläufe belastet, "
        f"{report.returns} Rücklastschriften ({report.return_fees} Gebühren, "
        f"{report.mandates_suspended} Mandate ausgesetzt); {report.queued} zur Klärung "
        f"({format_euro(report.queued_cents)}); {report.duplicates} schon bekannt."
    )
