"""Back office for the bank account: upload of bank statements (camt.053/camt.054) with the
import's report, and the clerks' queue of statement lines that need a person (assign to a
person and claim, or close with a note).

Every query is limited to the clerk's municipality: another municipality's import or line is
"not found" (404)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import TextAreaField
from wtforms.validators import Length

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID, form_id, parse_id
from backoffice.lookups import actor_names, rows_by_id
from core.kernel import clock
from core.kernel.errors import NotFound
from core.kernel.money import format_euro
from core.ledger.models import Claim
from core.ledger.queries import ClaimView, claims_of
from core.payments.bank import import_records
from core.payments.bank import imports as bank_import
from core.payments.bank import queue as queue_pages
from core.payments.bank.models import BankLine, StatementImport
from core.payments.sepa.identifiers import masked_iban
from core.persons import models as persons
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out

STATEMENT_MAX_BYTES = 8 * 1024 * 1024  # below the app's request limit (MAX_CONTENT_LENGTH)
REPORT_KEY = "bank_import_report"  # the last upload's report, shown once after the redirect


class StatementUploadForm(GermanForm):
    statement = FileField(
        "Kontoauszug (camt.053 oder camt.054 als XML-Datei, höchstens 8 MB)",
        validators=[
            FileRequired("Bitte wählen Sie die Datei des Kontoauszugs."),
            FileAllowed(["xml"], "Bitte laden Sie eine XML-Datei (camt.053 oder camt.054) hoch."),
            FileSize(STATEMENT_MAX_BYTES, message="Die Datei ist größer als 8 MB."),
        ],
        render_kw={"accept": ".xml,application/xml,text/xml"},
    )


class CloseLineForm(GermanForm):
    note = TextAreaField(
        "Vermerk",
        validators=[
            required("Bitte vermerken Sie, was mit dem Umsatz geschehen ist."),
            Length(max=500),
        ],
        description="z. B. Bankgebühren, an den Absender zurücküberwiesen, Spende.",
    )


# --------------------------------------------------------------------------- bank statements


def _statements_page(form: StatementUploadForm) -> str:
    db_session = db()
    imports = import_records.imports_of(db_session, current_user.municipality_id)
    return render_template(
        "backoffice/payments/bank/statements.html",
        form=form,
        report=session.pop(REPORT_KEY, None),
        imports=imports,
        names=actor_names(db_session, {i.imported_by for i in imports}),
        queued=queue_pages.queued_count(db_session, current_user.municipality_id),
    )


@bp.get("/kontoauszuege")
@staff_required()
def statements() -> str:
    return _statements_page(StatementUploadForm())


@bp.post("/kontoauszuege")
@staff_required()
def statement_upload() -> str | Response:
    form = StatementUploadForm()
    if form.validate_on_submit():
        db_session = db()
        upload = form.statement.data
        data = upload.read()
        # End the request's transaction before reading the file: on SQLite every transaction
        # holds the write lock (core.kernel.db), and parsing needs no database.
        db_session.commit()
        # all or nothing: a refused file books nothing, its message goes onto the file field
        imported = carry_out(
            lambda: bank_import.import_statements(
                db_session,
                g.municipality,
                bank_import.read_bank_file(data),
                filename=upload.filename or "kontoauszug.xml",
                as_of=clock.today(),
                actor=current_user.actor,
            ),
            form=form,
            field="statement",
        )
        if imported.ok:
            report = imported.result()
            shown = report.as_dict()
            shown["already_imported"] = shown["already_imported"][:20]
            shown["import_ids"] = shown["import_ids"][:20]
            session[REPORT_KEY] = shown
            if report.already_imported and not report.import_ids:
                flash(
                    "Dieser Kontoauszug wurde bereits eingelesen; es wurde nichts gebucht.",
                    "info",
                )
            else:
                flash(f"Kontoauszug „{upload.filename}“ eingelesen.", "success")
            return redirect(url_for("backoffice.statements"))
    return _statements_page(form)


@bp.get("/kontoauszuege/<int:import_id>")
@staff_required()
def statement_detail(import_id: int) -> str:
    if import_id > MAX_ID:
        abort(404)
    db_session = db()
    record = db_session.scalars(
        select(StatementImport).where(
            StatementImport.id == import_id,
            StatementImport.municipality_id == current_user.municipality_id,
        )
    ).first()
    if record is None:
        abort(404)
    page = queue_pages.import_page(
        db_session,
        current_user.municipality_id,
        record.id,
        page=parse_id(request.args.get("seite")) or 1,
    )
    lines = page.lines
    return render_template(
        "backoffice/payments/bank/statement_detail.html",
        page=page,
        record=record,
        report=record.report,
        lines=lines,
        people=rows_by_id(db_session, persons.Person, {x.person_id for x in lines if x.person_id}),
        names=actor_names(db_session, {record.imported_by}),
        mask=masked_iban,
    )


# --------------------------------------------------------------------------- clerks' queue


DIRECTIONS = {"eingang": True, "abgang": False}  # the queue's filter "richtung"


@bp.get("/zahlungsabgleich")
@staff_required()
def bank_queue() -> str:
    """The queue, a page at a time; the filters travel in the query string of every link."""
    direction = request.args.get("richtung", "")
    search = (request.args.get("suche") or "").strip()[: queue_pages.MAX_SEARCH]
    wanted = queue_pages.QueueFilter(credit=DIRECTIONS.get(direction), search=search)
    page = queue_pages.queue_page(
        db(),
        current_user.municipality_id,
        page=parse_id(request.args.get("seite")) or 1,
        wanted=wanted,
    )
    filters = {k: v for k, v in (("richtung", direction), ("suche", search)) if v}
    if direction not in DIRECTIONS:
        filters.pop("richtung", None)
    return render_template(
        "backoffice/payments/bank/queue.html",
        page=page,
        lines=page.lines,
        total_cents=page.total_cents,
        filters=filters,
        direction=filters.get("richtung", ""),
        search=search,
        mask=masked_iban,
    )


def _line(line_id: int) -> BankLine:
    if line_id > MAX_ID:
        abort(404)
    try:
        return queue_pages.get_line(db(), current_user.municipality_id, line_id)
    except NotFound:
        abort(404)


def _line_page(line: BankLine, close_form: CloseLineForm) -> str:
    db_session = db()
    query = (request.args.get("q") or "").strip()[:100]
    results = persons.search_persons(db_session, line.municipality_id, query) if query else []
    chosen = None
    open_claims: list[ClaimView] = []
    person_id = parse_id(request.args.get("person"))
    if person_id:
        try:
            chosen = persons.get_person(db_session, line.municipality_id, person_id)
        except NotFound:
            abort(404)
        open_claims = [
            v for v in claims_of(db_session, chosen) if v.open_cents > 0 and not v.cancelled
        ]
    return render_template(
        "backoffice/payments/bank/line_detail.html",
        line=line,
        close_form=close_form,
        confirm=ConfirmForm(),
        query=query,
        results=results,
        chosen=chosen,
        open_claims=open_claims,
        mask=masked_iban,
        names=actor_names(db_session, {line.resolved_by} if line.resolved_by else set()),
    )


@bp.get("/zahlungsabgleich/<int:line_id>")
@staff_required()
def bank_line(line_id: int) -> str:
    return _line_page(_line(line_id), CloseLineForm())


@bp.post("/zahlungsabgleich/<int:line_id>/zuordnen")
@staff_required()
def bank_line_assign(line_id: int) -> Response:
    """Book the line to a person (and, optionally, one of the person's open claims)."""
    db_session = db()
    line = _line(line_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person_id = form_id(request.form, "person_id")
    claim_id = form_id(request.form, "claim_id") if request.form.get("claim_id") else None
    if person_id is None or (request.form.get("claim_id") and claim_id is None):
        abort(404)  # an id that names nothing (not a number, too large): German "not found"
    try:
        person = persons.get_person(db_session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    if claim_id is not None:
        claim = db_session.get(Claim, claim_id)
        if claim is None or claim.person_id != person.id:
            abort(404)
    assigned = carry_out(
        lambda: queue_pages.assign_line(
            db_session,
            line,
            person,
            claim_ids=[claim_id] if claim_id is not None else [],
            as_of=clock.today(),
            actor=current_user.actor,
        )
    )
    if not assigned.ok:
        return redirect(url_for("backoffice.bank_line", line_id=line_id))
    flash(
        f"Umsatz über {format_euro(line.amount_cents)} {person.display_name} "
        f"(Personenkonto {person.number}) zugeordnet.",
        "success",
    )
    return redirect(url_for("backoffice.bank_queue"))


@bp.post("/zahlungsabgleich/<int:line_id>/erledigen")
@staff_required()
def bank_line_close(line_id: int) -> str | Response:
    db_session = db()
    line = _line(line_id)
    form = CloseLineForm()
    if form.validate_on_submit():
        closed = carry_out(
            lambda: queue_pages.close_line(
                db_session, line, note=form.note.data or "", actor=current_user.actor
            ),
            form=form,
            field="note",
        )
        if closed.ok:
            flash(f"Umsatz über {format_euro(line.amount_cents)} als erledigt vermerkt.", "success")
            return redirect(url_for("backoffice.bank_queue"))
    return _line_page(line, form)
