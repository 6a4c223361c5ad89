"""Back office for SEPA direct debit (SEPA-Basislastschrift): the pre-notification of a
collection day (e-mail, or letters to print), the run for that day, and its pain.008 file for
the bank (the download is recorded).

Every query is limited to the clerk's municipality: another municipality's run is "not found"
(404)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import DateField

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from backoffice.lookups import actor_names, rows_by_id
from core.kernel import audit, clock
from core.kernel.errors import DomainError, NotFound
from core.kernel.money import format_euro
from core.ledger.models import Claim
from core.payments.sepa import prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.due import due_items
from core.payments.sepa.models import DirectDebitRun, Mandate
from core.persons import models as persons
from portal.database import db, writes
from portal.form_fields import GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out


class CollectionForm(GermanForm):
    collection_date = DateField(
        "Einzugstag", validators=[required("Bitte geben Sie den Einzugstag an.")]
    )


def _earliest_collection(db_session: Session) -> date | None:
    """The first bank day a collection announced today may take place (None without rules)."""
    try:
        return prenotifications.earliest_collection(
            db_session, current_user.municipality_id, clock.today()
        )
    except DomainError:
        return None


def _preview(db_session: Session, day: date) -> dict[str, Any]:
    """Due items a mandate covers up to ``day``, counted and summed by due date."""
    items = due_items(db_session, g.municipality, day)
    by_due: dict[date, list[int]] = defaultdict(list)
    for item in items:
        by_due[item.claim.due_date].append(item.open_cents)
    return {
        "day": day,
        "count": len(items),
        "total_cents": sum(i.open_cents for i in items),
        "rows": [(d, len(c), sum(c)) for d, c in sorted(by_due.items())],
    }


def _direct_debit_page(prenotify_form: CollectionForm, run_form: CollectionForm) -> str:
    db_session = db()
    earliest = _earliest_collection(db_session)
    preview_day = request.args.get("vorschau", type=date.fromisoformat) or earliest
    runs = debit_runs.runs_of(db_session, current_user.municipality_id)
    return render_template(
        "backoffice/payments/sepa/direct_debit.html",
        prenotify_form=prenotify_form,
        run_form=run_form,
        earliest=earliest,
        preview=_preview(db_session, preview_day) if preview_day else None,
        runs=runs,
        announced=prenotifications.announced_collections(db_session, current_user.municipality_id),
        names=actor_names(db_session, {r.created_by for r in runs}),
    )


def _forms() -> tuple[CollectionForm, CollectionForm]:
    """The two forms, pre-filled: announce for the earliest possible day, collect on the
    nearest day already announced."""
    db_session = db()
    earliest = _earliest_collection(db_session)
    announced = prenotifications.next_announced_date(
        db_session, current_user.municipality_id, clock.today()
    )
    return (
        CollectionForm(prefix="vorab", collection_date=earliest),
        CollectionForm(prefix="lauf", collection_date=announced or earliest),
    )


@bp.get("/lastschrift")
@staff_required()
def direct_debit_page() -> str:
    return _direct_debit_page(*_forms())


@bp.post("/lastschrift/vorabankuendigung")
@staff_required()
def direct_debit_prenotify() -> str | Response:
    forms = _forms()

    def done(result: prenotifications.PrenotifyResult, day: date) -> Response:
        already = f" {result.already} Posten waren schon angekündigt." if result.already else ""
        flash(
            f"Vorabankündigung zum {day:%d.%m.%Y} versandt: {result.items} Posten von "
            f"{result.persons} Personen, zusammen {format_euro(result.total_cents)} "
            f"({result.emails} per E-Mail, die übrigen als Brief: PDF unten zum Druck)."
            f"{already}",
            "success",
        )
        return redirect(url_for("backoffice.direct_debit_page"))

    return _collection_step(forms, forms[0], prenotifications.prenotify, done)


@bp.post("/lastschrift/lauf")
@staff_required()
def direct_debit_run() -> str | Response:
    forms = _forms()

    def done(result: debit_runs.RunResult, day: date) -> Response:
        skipped = "; ".join(
            f"{n} {debit_runs.SKIP_LABELS.get(code, code)}"
            for code, n in sorted(result.skipped.items())
            if n
        )
        skipped_text = f" Nicht eingezogen: {skipped}." if skipped else ""
        if result.run is None:
            flash(f"Zum {day:%d.%m.%Y} ist nichts einzuziehen.{skipped_text}", "info")
            return redirect(url_for("backoffice.direct_debit_page"))
        flash(
            f"Lastschriftdatei erstellt: {result.count} Lastschriften, zusammen "
            f"{format_euro(result.total_cents)}, Einzug am {day:%d.%m.%Y}.{skipped_text}",
            "success",
        )
        return redirect(url_for("backoffice.direct_debit_detail", run_id=result.run.id))

    return _collection_step(forms, forms[1], debit_runs.create_run, done)


def _collection_step(
    forms: tuple[CollectionForm, CollectionForm],
    form: CollectionForm,
    step: Callable[..., Any],
    done: Callable[[Any, date], Response],
) -> str | Response:
    """Pre-notification or run for the form's collection day: one core call, one commit; a
    refusal (too early, no bank day) goes back onto the date field."""
    if form.validate_on_submit():
        db_session = db()
        day = form.collection_date.data
        stepped = carry_out(
            lambda: step(
                db_session,
                g.municipality,
                collection_date=day,
                as_of=clock.today(),
                actor=current_user.actor,
            ),
            form=form,
            field="collection_date",
        )
        if stepped.ok:
            return done(stepped.result(), day)
    return _direct_debit_page(*forms)


def _run(run_id: int) -> DirectDebitRun:
    if run_id > MAX_ID:
        abort(404)
    try:
        return debit_runs.get_run(db(), current_user.municipality_id, run_id)
    except NotFound:
        abort(404)


@bp.get("/lastschrift/<int:run_id>")
@staff_required()
def direct_debit_detail(run_id: int) -> str:
    db_session = db()
    run = _run(run_id)
    items = debit_runs.items_of(db_session, run)
    return render_template(
        "backoffice/payments/sepa/run_detail.html",
        run=run,
        items=items,
        claims=rows_by_id(db_session, Claim, {i.claim_id for i in items}),
        people=rows_by_id(db_session, persons.Person, {i.person_id for i in items}),
        mandate_refs={
            m.id: m.reference
            for m in rows_by_id(db_session, Mandate, {i.mandate_id for i in items}).values()
        },
        names=actor_names(db_session, {run.created_by}),
    )


@bp.get("/lastschrift/vorabankuendigung/<day>.pdf")
@staff_required()
def prenotification_letters(day: str) -> Response:
    """The pre-notification letters of a collection day for those without e-mail, to print."""
    try:
        collection_date = date.fromisoformat(day)
    except ValueError:
        abort(404)
    letters = prenotifications.prenotification_letters(
        db(), g.municipality, collection_date=collection_date
    )
    if letters is None:
        abort(404)
    response = Response(letters[0], mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="Vorabankuendigungen-{collection_date.isoformat()}.pdf"'
    )
    return response


@bp.get("/lastschrift/<int:run_id>/datei.xml")
@writes
@staff_required()
def direct_debit_xml(run_id: int) -> Response:
    """The run's pain.008 file for the bank (the download is recorded)."""
    db_session = db()
    run = _run(run_id)
    audit.record(
        db_session,
        actor=current_user.actor,
        action="sepa.run_downloaded",
        obj=run,
        municipality_id=run.municipality_id,
    )
    db_session.commit()
    response = Response(run.xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{run.filename}"'
    return response
