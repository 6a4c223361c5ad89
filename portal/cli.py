"""`openkasse` command line: Flask's CLI for this app plus OpenKasse's own commands.

Each command is a thin call into core; it opens one unit of work and commits once.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext

from core.kernel import clock
from core.kernel.db import make_engine, make_session_factory, unit_of_work
from portal import serving

ROOT = Path(__file__).resolve().parent.parent


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    return config


def _create_app():  # type: ignore[no-untyped-def]
    from portal.app import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """OpenKasse – Kommunale Steuern und Gebühren."""


main.add_command(serving.run_command)  # replaces Flask's: no version banner, redacted log


@main.group("db")
def db_group() -> None:
    """Datenbankschema (Alembic-Migrationen)."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade(revision: str) -> None:
    """Migrate the database to REVISION (default: head)."""
    url = current_app.config["DATABASE_URL"]
    command.upgrade(alembic_config(url), revision)
    click.echo(f"Datenbank ist auf Stand {revision}.")


@main.command("demo")
@click.option("--if-empty", is_flag=True, help="Nur laden, wenn noch keine Kommune existiert.")
@click.option("--persons", default=180, show_default=True, help="Personen je Kommune.")
@click.option("--seed", default=2026, show_default=True)
@with_appcontext
def demo(if_empty: bool, persons: int, seed: int) -> None:
    """Load demo data: two municipalities, persons, claims, payments, log-ins."""
    from core import demo as demo_data

    factory = make_session_factory(make_engine(current_app.config["DATABASE_URL"]))
    with unit_of_work(factory) as session:
        if demo_data.has_data(session):
            if if_empty:
                click.echo("Demodaten sind bereits geladen.")
                return
            raise click.ClickException("Die Datenbank enthält schon Daten.")
        summary = demo_data.load(
            session,
            as_of=clock.today(),
            persons_per_municipality=persons,
            seed=seed,
            progress=click.echo,
        )
    click.echo(summary)


def _session_factory():  # type: ignore[no-untyped-def]
    return make_session_factory(make_engine(current_app.config["DATABASE_URL"]))


def _settings():  # type: ignore[no-untyped-def]
    from core.notices.records import NoticeSettings

    return NoticeSettings(
        secret=current_app.config["SECRET_KEY"],
        public_base_url=current_app.config["PUBLIC_BASE_URL"],
    )


def _municipalities(session, slug: str | None):  # type: ignore[no-untyped-def]
    from core.tenancy import municipalities as tenancy

    if slug:
        try:
            return [tenancy.get_by_slug(session, slug)]
        except Exception as exc:
            raise click.ClickException(f"Unbekannte Kommune: {slug}") from exc
    return tenancy.all_municipalities(session)


@main.group("assess")
def assess_group() -> None:
    """Veranlagung (Stapellauf)."""


def _batch(
    slug: str | None, unit: str, run: Callable[..., Any], summary: Callable[[Any, Any], str]
) -> None:
    """A batch run per municipality: every chunk is its own transaction (a rerun resumes where
    it stopped, the runs are idempotent), progress on stderr, a summary line each."""
    with _session_factory()() as session:
        for municipality in _municipalities(session, slug):

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


@assess_group.command("dog-tax")
@_annual_run_options("Steuerjahr")
def assess_dog_tax(as_of, year: str | None, slug: str | None, render: bool) -> None:  # type: ignore[no-untyped-def]
    """Annual dog-tax assessment; idempotent (a second run changes nothing)."""
    from core.levies.dog_tax import assessment as dog_tax_run

    day = as_of.date()
    year = _year(year, day)
    _batch(
        slug,
        "Halter",
        lambda session, m, progress: dog_tax_run.assess_all(
            session, municipality=m, year=year, as_of=day, actor="cli", chunk_done=progress
        ),
        lambda m, stats: (
            f"{m.name}: Hundesteuer {year} – {stats.persons} Halter, "
            f"{stats.notices} neue Bescheide."
        ),
    )
    if render:
        _render_pending(slug)


@assess_group.command("waste")
@_annual_run_options("Gebührenjahr")
def assess_waste(as_of, year: str | None, slug: str | None, render: bool) -> None:  # type: ignore[no-untyped-def]
    """Annual waste-fee assessment; idempotent (a second run changes nothing)."""
    from core.levies.waste import assessment as waste_fee_run

    day = as_of.date()
    year = _year(year, day)
    _batch(
        slug,
        "Gebührenpflichtige",
        lambda session, m, progress: waste_fee_run.assess_all(
            session, municipality=m, year=year, as_of=day, actor="cli", chunk_done=progress
        ),
        lambda m, stats: (
            f"{m.name}: Abfallgebühren {year} – {stats.persons} "
            f"Gebührenpflichtige, {stats.bins} Behälter, {stats.notices} neue Bescheide."
        ),
    )
    if render:
        _render_pending(slug)


def _render_pending(slug: str | None) -> None:
    from core.notices import records as notices

    factory = _session_factory()
    settings = _settings()
    with factory() as session:
        for municipality in _municipalities(session, slug):
            pending = notices.pending_documents(session, municipality.id)
            for i, notice_id in enumerate(pending, start=1):
                notice = session.get_one(notices.Notice, notice_id)
                notices.ensure_document(session, notice, settings, actor="cli")
                if i % 50 == 0 or i == len(pending):
                    session.commit()
                    click.echo(f"  {municipality.name}: {i}/{len(pending)} PDFs", err=True)
            session.commit()


@main.group("notices")
def notices_group() -> None:
    """Bescheide auflisten und drucken."""


@notices_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Ausgabe als JSON.")
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@with_appcontext
def notices_list(as_json: bool, slug: str | None) -> None:
    """List notices (id, municipality, person, kind, Kassenzeichen, amount, date)."""
    import json

    from sqlalchemy import select

    from core.notices.records import Notice
    from core.persons.models import Person

    factory = _session_factory()
    with factory() as session:
        rows = []
        for municipality in _municipalities(session, slug):
            result = session.execute(
                select(Notice, Person)
                .join(Person, Notice.person_id == Person.id)
                .where(Notice.municipality_id == municipality.id)
                .order_by(Notice.id)
            )
            for notice, person in result:
                rows.append(
                    {
                        "id": notice.id,
                        "number": notice.number,
                        "municipality": municipality.slug,
                        "person_name": person.display_name,
                        "kind": notice.levy,
                        "year": notice.year,
                        "title": notice.title,
                        "kassenzeichen": notice.kassenzeichen,
                        "amount_cents": notice.total_cents,
                        "previous_cents": notice.previous_cents,
                        "issued_on": notice.issued_on.isoformat(),
                        "rendered": notice.document_id is not None,
                    }
                )
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=1))
        return
    from core.kernel.money import format_euro

    for r in rows:
        click.echo(
            f"{r['id']:>6}  {r['municipality']:<15} {r['issued_on']}  {r['kassenzeichen']}  "
            f"{format_euro(r['amount_cents']):>12}  {r['person_name']}  {r['title']}"
        )


@notices_group.command("render")
@click.argument("notice_id", type=int)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, writable=True))
@with_appcontext
def notices_render(notice_id: int, out: str) -> None:
    """Write the PDF of notice NOTICE_ID (archived on first render) to --out."""
    from core.notices import records as notices

    factory = _session_factory()
    with factory() as session:
        notice = session.get(notices.Notice, notice_id)
        if notice is None:
            raise click.ClickException(f"Bescheid {notice_id} gibt es nicht.")
        document = notices.ensure_document(session, notice, _settings(), actor="cli")
        session.commit()
        Path(out).write_bytes(document.content)
        click.echo(f"{out}: {document.size_bytes} Bytes, SHA-256 {document.sha256}")


@notices_group.command("render-pending")
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@with_appcontext
def notices_render_pending(slug: str | None) -> None:
    """Render and archive the PDFs of all notices that have none yet."""
    _render_pending(slug)


@main.group("payments")
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

    factory = _session_factory()
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


@main.group("meters")
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
    factory = _session_factory()
    with factory() as session:
        for municipality in _municipalities(session, slug):
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
    with _session_factory()() as session:  # every municipality is checked before any is billed
        early = []
        for m in _municipalities(session, slug):
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


@main.group("outbox")
def outbox_group() -> None:
    """E-Mail-Postausgang."""


@outbox_group.command("send")
@with_appcontext
def outbox_send() -> None:
    """Send queued e-mails by SMTP (SMTP_HOST, SMTP_PORT, SMTP_SENDER, SMTP_USER,
    SMTP_PASSWORD, SMTP_STARTTLS); without SMTP_HOST they stay queued."""
    from core.kernel.mail import SmtpSettings, send_pending

    config = current_app.config
    if not config.get("SMTP_HOST"):
        click.echo("Kein SMTP_HOST konfiguriert: die E-Mails bleiben im Postausgang.")
        return
    settings = SmtpSettings(
        host=config["SMTP_HOST"],
        port=int(config.get("SMTP_PORT") or 25),
        sender=config.get("SMTP_SENDER") or "noreply@openkasse.invalid",
        username=config.get("SMTP_USER"),
        password=config.get("SMTP_PASSWORD"),
        starttls=str(config.get("SMTP_STARTTLS", "")).lower() in ("1", "true"),
    )
    with _session_factory()() as session:
        sent = send_pending(session, settings, now=clock.now())
        session.commit()
    click.echo(f"{sent} E-Mails gesendet.")


# --------------------------------------------------------------------------- SEPA and bank

_DATE = click.DateTime(formats=["%Y-%m-%d"])


def _one_municipality(session, slug: str | None):  # type: ignore[no-untyped-def]
    municipalities = _municipalities(session, slug)
    if len(municipalities) != 1:
        raise click.ClickException("Bitte die Kommune angeben: --municipality KURZNAME.")
    return municipalities[0]


@main.group("sepa")
def sepa_group() -> None:
    """SEPA-Lastschrift: Vorabankündigungen und Lastschriftdateien (pain.008)."""


@sepa_group.command("prenotify")
@click.option("--collection-date", "collection_date", required=True, type=_DATE)
@click.option("--as-of", "as_of", type=_DATE, help="Versanddatum (Standard: heute).")
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

    with _session_factory()() as session:
        municipality = _one_municipality(session, slug)
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
@click.option("--collection-date", "collection_date", required=True, type=_DATE)
@click.option(
    "--out", "out", required=True, type=click.Path(dir_okay=False, writable=True), help="XML-Datei."
)
@click.option("--as-of", "as_of", type=_DATE, help="Erstellungsdatum (Standard: heute).")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@with_appcontext
def sepa_export(collection_date, out: str, as_of, slug: str | None) -> None:  # type: ignore[no-untyped-def]
    """Write the direct-debit file (pain.008.001.08) and book its items as in collection."""
    from core.kernel.errors import ValidationError
    from core.kernel.money import format_euro
    from core.payments.sepa import runs as debit_runs

    with _session_factory()() as session:
        municipality = _one_municipality(session, slug)
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


@main.group("bank")
def bank_group() -> None:
    """Kontoauszüge (camt.053/camt.054) einlesen und abgleichen."""


@bank_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", "as_of", type=_DATE, help="Buchungstag (Standard: heute).")
@click.option("--municipality", "slug", help="Kurzname (Standard: die Kommune des Kontos).")
@with_appcontext
def bank_import_command(file: str, as_of, slug: str | None) -> None:  # type: ignore[no-untyped-def]
    """Import a bank statement: match, book, queue the rest; prints the match rate."""
    from core.kernel.errors import ValidationError
    from core.kernel.money import format_euro
    from core.payments.bank import camt_parser
    from core.payments.bank import imports as bank_import

    data = Path(file).read_bytes()
    with _session_factory()() as session:
        try:
            if slug:
                municipality = _one_municipality(session, slug)
            else:
                statements = camt_parser.parse_statements(data)
                ibans = {s.iban.replace(" ", "").upper() for s in statements}
                matches = [
                    m
                    for m in _municipalities(session, None)
                    if m.iban.replace(" ", "").upper() in ibans
                ]
                if len(matches) != 1:
                    raise click.ClickException(
                        "Das Konto des Auszugs gehört keiner Kommune; bitte --municipality angeben."
                    )
                municipality = matches[0]

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
        f"{report.returns} Rücklastschriften ({report.return_fees} Gebühren, "
        f"{report.mandates_suspended} Mandate ausgesetzt); {report.queued} zur Klärung "
        f"({format_euro(report.queued_cents)}); {report.duplicates} schon bekannt."
    )
