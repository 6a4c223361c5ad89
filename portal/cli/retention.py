"""`openkasse retention run|approve|discard`: the retention run (Löschlauf) from the command
line — preview per category the records due and the blocked ones with their reason (no
content), a second person's approval (four eyes) that starts the job deleting them (done by
`openkasse jobs work`, or at once with ``--work``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click
from flask.cli import AppGroup, with_appcontext

from portal.cli import context

if TYPE_CHECKING:
    from core.retention.runs import Preview

DATE = click.DateTime(formats=["%Y-%m-%d"])
LISTED = 200  # entries listed per list (the counts are of all)


@click.group("retention", cls=AppGroup)
def retention_group() -> None:
    """Aufbewahrung und Löschung: Löschläufe mit Vorschau und Freigabe (vier Augen)."""


def _echo_preview(shown: Preview) -> None:
    from core.retention.models import OBJECT_LABELS
    from core.retention.runs import category_label

    click.echo(f"Löschlauf zum {shown.as_of:%d.%m.%Y} – Fristen: {shown.rules.source}")
    counts = shown.counts()
    for key in sorted(counts):
        click.echo(f"  {category_label(key)}: {counts[key]} fällig")
    for item in shown.due[:LISTED]:
        click.echo(
            f"    {OBJECT_LABELS[item.object_type]} {item.object_id} ({item.category}, "
            f"erstellt {item.made_on:%d.%m.%Y}, fällig seit {item.due_on:%d.%m.%Y})"
        )
    if shown.blocked:
        click.echo(f"  Gesperrt: {len(shown.blocked)}")
        for item in shown.blocked[:LISTED]:
            click.echo(f"    {OBJECT_LABELS[item.object_type]} {item.object_id}: {item.blocked}")
    if max(len(shown.due), len(shown.blocked)) > LISTED:
        click.echo(f"  (je Liste die ersten {LISTED} Einträge)")
    click.echo(f"\n{len(shown.due)} Einträge fällig, {len(shown.blocked)} gesperrt.")


@retention_group.command("run")
@click.option("--as-of", "as_of", required=True, type=DATE, help="Stichtag des Löschlaufs.")
@click.option("--municipality", "slug", help="Kurzname der Kommune (bei mehreren nötig).")
@click.option("--preview", "only_preview", is_flag=True, help="Nur anzeigen, nichts speichern.")
@click.option("--actor", default="cli", show_default=True, help="Wer den Lauf vorbereitet.")
@with_appcontext
def run_command(as_of, slug: str | None, only_preview: bool, actor: str) -> None:  # type: ignore[no-untyped-def]
    """Prepare a retention run (kept for approval), or with --preview only show it."""
    from core.kernel.errors import DomainError
    from core.retention import runs

    with context.session_factory()() as session:
        municipality = context.one_municipality(session, slug)
        try:
            if only_preview:
                _echo_preview(runs.preview(session, municipality, as_of.date()))
                session.rollback()
                click.echo("Nur Vorschau: nichts gespeichert, nichts gelöscht.")
                return
            run, shown = runs.open_run(session, municipality, as_of.date(), actor)
        except DomainError as exc:
            raise click.ClickException(exc.message) from exc
        _echo_preview(shown)
        session.commit()
        click.echo(
            f"Löschlauf Nr. {run.id} vorbereitet. Zur Freigabe durch eine zweite Person: "
            f"openkasse retention approve {run.id} --actor KENNUNG"
        )


@retention_group.command("approve")
@click.argument("run_id", type=int)
@click.option("--actor", required=True, help="Wer freigibt (nicht, wer den Lauf vorbereitet hat).")
@click.option("--municipality", "slug", help="Kurzname der Kommune.")
@click.option("--work", is_flag=True, help="Den Löschjob gleich hier ausführen.")
@with_appcontext
def approve_command(run_id: int, actor: str, slug: str | None, work: bool) -> None:
    """Approve a prepared run (four eyes); its job deletes what is due."""
    import core.job_kinds  # noqa: F401  (registers the kinds)
    from core.jobs import worker
    from core.retention import runs
    from core.retention.models import RetentionRun
    from portal.jobs import environment

    job_id = context.act_on_run(
        RetentionRun, run_id, slug, lambda s, run: runs.approve(s, run, actor), noun="Löschlauf"
    )
    if job_id is None:
        click.echo(f"Löschlauf Nr. {run_id} freigegeben von {actor}; es war nichts zu löschen.")
        return
    click.echo(f"Löschlauf Nr. {run_id} freigegeben von {actor}; Job Nr. {job_id} gestartet.")
    if work:
        factory = context.session_factory()
        worker.drain(factory, environment=environment(), job_id=job_id)
        with factory() as session:
            click.echo(
                f"Löschlauf Nr. {run_id}: {session.get_one(RetentionRun, run_id).state_label}."
            )


@retention_group.command("discard")
@click.argument("run_id", type=int)
@click.option("--actor", default="cli", show_default=True)
@click.option("--municipality", "slug", help="Kurzname der Kommune.")
@with_appcontext
def discard_command(run_id: int, actor: str, slug: str | None) -> None:
    """Throw away a prepared run that is not approved yet (nothing was deleted)."""
    from core.retention import runs
    from core.retention.models import RetentionRun

    context.act_on_run(
        RetentionRun, run_id, slug, lambda s, run: runs.discard(s, run, actor), noun="Löschlauf"
    )
    click.echo(f"Löschlauf Nr. {run_id} verworfen; es wurde nichts gelöscht.")
