"""`openkasse jobs …`: start, watch, cancel and resume jobs (Job-Steuerung), and the job
workers that any number of machines run beside the web workers (PostgreSQL): `jobs worker`,
woken by procrastinate (core.jobs.queue), or `jobs work`, which polls the chunk table."""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from core.kernel.gc_pause import freeze_startup
from portal.cli import context

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from core.jobs.control import Progress
    from core.jobs.models import Job

ACTOR = "cli"


@click.group("jobs", cls=AppGroup)
def jobs_group() -> None:
    """Läufe (Jobs): starten, beobachten, abbrechen, fortsetzen; Job-Worker."""


def _figures(job: Job, done: Progress) -> str:
    """The figures the back office shows too: done/total, rate, time left."""
    parts = [f"{done.done:,}/{done.total:,} ({done.percent} %)".replace(",", ".")]
    if done.failed:
        parts.append(f"{done.failed} fehlgeschlagen")
    if done.per_minute:
        parts.append(f"{done.per_minute / 60:,.0f}/s".replace(",", "."))
    if done.seconds_left is not None:
        minutes, seconds = divmod(done.seconds_left, 60)
        parts.append(f"noch {minutes}:{seconds:02d}")
    return f"Job {job.id} {job.title}: " + " · ".join(parts)


def _bar(job: Job, done: Progress) -> str:
    filled = done.percent * 30 // 100
    return f"[{'#' * filled}{'.' * (30 - filled)}] {_figures(job, done)}"


@jobs_group.command("kinds")
def kinds_command() -> None:
    """Die Arten von Läufen, die gestartet werden können."""
    import core.job_kinds  # noqa: F401
    from core.jobs.kinds import KINDS

    for kind in KINDS.values():
        click.echo(f"{kind.name}\t{kind.title}")


@jobs_group.command("start")
@click.argument("kind")
@click.option("--municipality", "slug", help="Kommune (Kurzname).")
@click.option("--year", help="Jahr, vierstellig.")
@click.option("--as-of", "as_of", help="Bescheiddatum (JJJJ-MM-TT), Standard: heute.")
@click.option("--confirm-early", is_flag=True, help="Wasser: vor Ende der Ablesefrist abrechnen.")
@click.option("--wait", is_flag=True, help="Den Lauf hier abarbeiten und den Fortschritt zeigen.")
@with_appcontext
def start_command(
    kind: str,
    slug: str | None,
    year: str | None,
    as_of: str | None,
    confirm_early: bool,
    wait: bool,
) -> None:
    """Einen Lauf planen und starten (mit Vorschau)."""
    import core.job_kinds  # noqa: F401
    from core.jobs import control
    from core.kernel.errors import DomainError

    factory = context.session_factory()
    given = {"year": year or "", "as_of": as_of or "", "confirm_early": str(confirm_early)}
    with factory() as session:
        municipality = context.one_municipality(session, slug)
        try:
            planned = control.preview(session, municipality, kind, given)
            job = control.start_planned(session, municipality, *planned, actor=ACTOR)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        session.commit()
        for line in planned[2].preview:
            click.echo(f"  {line}", err=True)
        click.echo(f"Job {job.id} gestartet: {job.title}")
    if wait:
        _work(factory, job.id)
        _show(factory, job.id)
    else:
        _hand_over(factory, job.id)


def _hand_over(factory: sessionmaker[Session], job_id: int) -> None:
    """With procrastinate: a token per pending chunk for the `jobs worker` processes."""
    if current_app.config["JOBS_WORKER"] != "procrastinate":
        return
    from core.jobs import queue

    try:
        tokens = queue.defer_pending(current_app.config["DATABASE_URL"], factory, job_id)
    except Exception as error:  # committed already: the workers' sweep gives it tokens
        click.echo(
            f"Warnung: Job {job_id} wurde nicht an die Job-Worker übergeben ({error}); "
            "ihr Abgleich holt das innerhalb einer Minute nach.",
            err=True,
        )
        return
    click.echo(f"Abschnitte an die Job-Worker übergeben: {tokens}.", err=True)


def _work(factory: object, job_id: int | None) -> int:
    from core.jobs import control, worker
    from core.jobs.models import Job
    from portal.jobs import environment

    shown = 0.0

    def chunk_done(done: worker.ChunkDone) -> None:
        nonlocal shown
        if time.monotonic() - shown < 0.5:
            return
        shown = time.monotonic()
        with factory() as session:  # type: ignore[operator]
            job = session.get_one(Job, done.job_id)
            line = _bar(job, control.progress(session, job))
        end = "\r" if sys.stderr.isatty() else "\n"
        click.echo(line, err=True, nl=False)
        click.echo(end, err=True, nl=False)

    chunks = worker.drain(
        factory,  # type: ignore[arg-type]
        environment=environment(),
        job_id=job_id,
        chunk_done=chunk_done,
    )
    if shown and sys.stderr.isatty():
        click.echo("", err=True)
    return chunks


def _show(factory: object, job_id: int) -> None:
    from core.jobs import control
    from core.jobs.models import STATE_TEXT, Job

    with factory() as session:  # type: ignore[operator]
        job = session.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"Job {job_id} gibt es nicht.")
        done = control.progress(session, job)
        click.echo(f"{_figures(job, done)} · {STATE_TEXT[job.state]}")
        click.echo(f"  {control.summary(job, done)}")
        for failure in control.failures_of(session, job):
            mark = " (erneut versucht)" if failure.retried else ""
            click.echo(f"  Fehler bei {failure.label}{mark}: {failure.message}")


@jobs_group.command("work")
@click.option("--job", "job_id", type=int, help="Nur diesen Job abarbeiten.")
@click.option("--forever", is_flag=True, help="Weiter auf neue Läufe warten (Job-Worker).")
@click.option("--poll", default=2.0, show_default=True, help="Sekunden zwischen zwei Blicken.")
@with_appcontext
def work_command(job_id: int | None, forever: bool, poll: float) -> None:
    """Ausstehende Abschnitte von Läufen abarbeiten (beliebig viele Worker, auch auf mehreren
    Rechnern mit derselben PostgreSQL-Datenbank)."""
    import core.job_kinds  # noqa: F401

    factory = context.session_factory()
    if forever:
        freeze_startup()
    while True:
        chunks = _work(factory, job_id)
        if chunks:
            click.echo(f"{chunks} Abschnitte erledigt.", err=True)
        if not forever:
            return
        time.sleep(poll)


@jobs_group.command("worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Abschnitte gleichzeitig (Threads); für mehr Kerne lieber mehr Worker-Prozesse.",
)
@with_appcontext
def worker_command(concurrency: int) -> None:
    """Job-Worker (PostgreSQL, procrastinate): erledigt die Abschnitte, die Start und
    Fortsetzen übergeben, bis SIGTERM (der Abschnitt in Arbeit wird fertig). Beliebig viele,
    auf beliebig vielen Rechnern mit derselben Datenbank."""
    import logging

    import core.job_kinds  # noqa: F401
    from core.jobs import queue
    from portal.jobs import environment

    url = current_app.config["DATABASE_URL"]
    if not url.startswith("postgresql"):
        raise click.ClickException(
            "Der Job-Worker braucht PostgreSQL (DATABASE_URL); mit SQLite erledigt die "
            "Web-Anwendung die Läufe selbst, oder `openkasse jobs work`."
        )
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    factory, settings = context.session_factory(), environment()
    freeze_startup()
    queue.run_worker(url, factory, settings, concurrency=concurrency)


@jobs_group.command("list")
@click.option("--municipality", "slug", help="Nur diese Kommune (Kurzname).")
@with_appcontext
def list_command(slug: str | None) -> None:
    """Die letzten Läufe mit ihrem Stand."""
    from core.jobs import control

    with context.session_factory()() as session:
        for municipality in context.municipalities(session, slug):
            for job in control.jobs_of(session, municipality.id):
                click.echo(f"{municipality.slug}\t{_figures(job, control.progress(session, job))}")


@jobs_group.command("show")
@click.argument("job_id", type=int)
@with_appcontext
def show_command(job_id: int) -> None:
    """Stand, Ergebnis und fehlgeschlagene Objekte eines Laufs."""
    import core.job_kinds  # noqa: F401

    _show(context.session_factory(), job_id)


def _steer(job_id: int, action: str) -> None:
    import core.job_kinds  # noqa: F401
    from core.jobs import control
    from core.jobs.models import Job
    from core.kernel.errors import DomainError

    with context.session_factory()() as session:
        job = session.get(Job, job_id)
        if job is None:
            raise click.ClickException(f"Job {job_id} gibt es nicht.")
        try:
            if action == "cancel":
                control.cancel(session, job, actor=ACTOR)
            else:
                control.resume(session, job, actor=ACTOR)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        session.commit()
        _print_state(session, job)
    if action == "resume":
        _hand_over(context.session_factory(), job_id)


def _print_state(session: Session, job: Job) -> None:
    from core.jobs import control
    from core.jobs.models import STATE_TEXT

    click.echo(f"{_figures(job, control.progress(session, job))} · {STATE_TEXT[job.state]}")


@jobs_group.command("cancel")
@click.argument("job_id", type=int)
@with_appcontext
def cancel_command(job_id: int) -> None:
    """Einen laufenden Lauf abbrechen (der Abschnitt in Arbeit wird fertig)."""
    _steer(job_id, "cancel")


@jobs_group.command("resume")
@click.argument("job_id", type=int)
@with_appcontext
def resume_command(job_id: int) -> None:
    """Einen abgebrochenen Lauf fortsetzen; fehlgeschlagene Objekte erneut versuchen."""
    _steer(job_id, "resume")
