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
