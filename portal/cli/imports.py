"""`openkasse import messbescheide FILE`: basis notices of the tax office, all or nothing."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from portal.cli import context


@click.group("import", cls=AppGroup)
def import_group() -> None:
    """Lieferungen des Finanzamts einlesen."""


def _municipality(session, records, slug: str | None):  # type: ignore[no-untyped-def]
    """The municipality named by ``slug``, else the one the file's Gemeindeschlüssel names."""
    from core.levies.basis_notices.imports import municipality_keys
    from core.tenancy import municipalities as tenancy

    if slug:
        return context.one_municipality(session, slug)
    keys = municipality_keys(records)
    found = [m for m in tenancy.all_municipalities(session) if m.official_key in keys]
    if len(keys) != 1 or len(found) != 1:
        raise click.ClickException(
            f"Unbekannte Kommune: Gemeindeschlüssel {', '.join(sorted(keys))}; bitte "
            "--municipality angeben. Es wurde nichts übernommen."
        )
    return found[0]


@import_group.command("messbescheide")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--municipality", "slug", help="Kurzname (Standard: nach Gemeindeschlüssel).")
@with_appcontext
def import_basis_notices(file: str, slug: str | None) -> None:
    """Import Grundsteuer-/Gewerbesteuermessbescheide and Zerlegungsbescheide
    (format: docs/MESSBESCHEIDE.md); a refused file is listed line by line."""
    from core.levies.basis_notices import imports
    from core.levies.basis_notices.reader import FileRejected

    data = Path(file).read_bytes()
    with context.session_factory()() as session:
        try:
            _reader, records = imports.read(data)
            municipality = _municipality(session, records, slug)
            report = imports.import_file(
                session, municipality, data, filename=Path(file).name, actor="cli"
            )
        except FileRejected as exc:
            session.rollback()
            lines = "\n".join(f"  {p}" for p in exc.problems)
            raise click.ClickException(
                f"Die Datei wurde nicht eingelesen, es wurde nichts übernommen.\n{lines}"
            ) from exc
        session.commit()
        click.echo(f"{municipality.name}: {report.summary()}")
        _assess(session, municipality, report)


def _assess(session, municipality, report) -> None:  # type: ignore[no-untyped-def]
    """The assessment the committed import calls for, in its own transaction."""
    from core.kernel import clock
    from core.kernel.errors import DomainError
    from core.levies.basis_import import assess_import

    if report.import_id is None:
        return
    try:
        assessed = assess_import(session, municipality, report, as_of=clock.today(), actor="cli")
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(
            f"Die Bescheide sind eingelesen, aber nicht festgesetzt: {exc.message} "
            "Bitte nachholen mit „openkasse assess property-tax“ bzw. auf der Seite "
            "„Gewerbesteuer“."
        ) from exc
    session.commit()
    click.echo(f"{municipality.name}: {assessed.summary()}")
