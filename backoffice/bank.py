"""Back office for the bank: SEPA direct debit (pre-notification, run, pain.008 download), bank
statement upload (camt.053/camt.054) with its report, and the clerks' queue of statement lines
that need a person. The person page shows the person's mandates (reactivate a suspended one);
a mandate the citizen signed on paper is recorded by the clerk ("Papiermandat erfassen").

Every query is limited to the clerk's municipality: another municipality's run, import or line
is "not found" (404)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileRequired, FileSize
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import BooleanField, DateField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from backoffice.form_ids import MAX_ID, form_id, parse_id
from backoffice.views import bp
from core.identity.models import UserAccount
from core.kernel import audit, clock
from core.kernel.errors import DomainError, FieldErrors, NotFound
from core.kernel.money import format_euro
from core.kernel.months import add_months
from core.ledger.models import Claim
from core.ledger.queries import ClaimView, claims_of
from core.payments.bank import import_records
from core.payments.bank import imports as bank_import
from core.payments.bank import queue as queue_pages
from core.payments.bank.models import BankLine, StatementImport
from core.payments.sepa import mandates, prenotifications
from core.payments.sepa import runs as debit_runs
from core.payments.sepa.debit_outlook import debit_outlook
from core.payments.sepa.due import due_items
from core.payments.sepa.identifiers import masked_iban
from core.payments.sepa.models import DirectDebitRun, Mandate, MandateStatus
from core.payments.sepa.rules import SepaRules, rules_on
from core.persons import models as persons
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import staff_required
from portal.payments.forms import MandateFieldsForm, scope_choices
from portal.requests import show_field_errors

STATEMENT_MAX_BYTES = 8 * 1024 * 1024  # below the app's request limit (MAX_CONTENT_LENGTH)
REPORT_KEY = "bank_import_report"  # the last upload's report, shown once after the redirect


class CollectionForm(GermanForm):
    collection_date = DateField(
        "Einzugstag", validators=[required("Bitte geben Sie den Einzugstag an.")]
    )


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


DEFAULT_LAPSE_MONTHS = 36  # rulebook 4.5, where the municipality has no direct-debit rules


class PaperMandateForm(MandateFieldsForm):
    """A SEPA-Basislastschriftmandat the citizen signed on paper, typed in by the clerk."""

    account_holder = StringField(
        "Kontoinhaberin oder Kontoinhaber",
        validators=[required("Bitte geben Sie den Namen des Kontoinhabers an.")],
        render_kw={"autocomplete": "off"},
    )
    iban = StringField(
        "IBAN",
        validators=[required("Bitte geben Sie die IBAN an.")],
        description="Wie auf dem Formular, z. B. DE89 3704 0044 0532 0130 00 – Leerzeichen "
        "sind erlaubt.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    bic = StringField(
        "BIC",
        description="Nur nötig, wenn sie sich nicht aus der IBAN ermitteln lässt.",
        render_kw={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"},
    )
    signed_on = DateField(
        "Datum der Unterschrift",
        # InputRequired: an unreadable date keeps WTForms' own German message
        validators=[InputRequired("Bitte geben Sie das Datum der Unterschrift an.")],
        description="Das Datum neben der Unterschrift auf dem Formular.",
    )
    original = BooleanField(
        "Das unterschriebene Original liegt vor",
        validators=[
            required(
                "Bitte bestätigen Sie, dass das unterschriebene Original vorliegt – ohne "
                "Original kein Mandat."
            )
        ],
    )

    def __init__(self, *args: Any, today: date, lapse_months: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self.today, self.lapse_months = today, lapse_months

    def validate(self, extra_validators: Any = None) -> bool:
        """Besides the shared checks (IBAN and BIC): the date of signature, so every mistake
        shows in one go."""
        ok = bool(super().validate(extra_validators))
        signed_on = self.signed_on.data
        if signed_on is not None and not self.signed_on.errors:
            if signed_on > self.today:
                self.signed_on.errors = [
                    "Das Datum der Unterschrift darf nicht in der Zukunft liegen."
                ]
                ok = False
            elif add_months(signed_on, self.lapse_months) <= self.today:
                self.signed_on.errors = [
                    f"Das Mandat wurde vor mehr als {self.lapse_months} Monaten unterschrieben; "
                    "ein so altes, nie genutztes Mandat ist bereits erloschen. Bitte lassen Sie "
                    "ein neues Mandat unterschreiben."
                ]
                ok = False
        return ok


# --------------------------------------------------------------------------- helpers


def _actor_names(db_session: Session, actors: set[str]) -> dict[str, str]:
    """Audit actors ("user:7") as the staff member's name; anything else as it is."""
    ids = {int(a.split(":", 1)[1]) for a in actors if a.startswith("user:") and a[5:].isdigit()}
    names = {
        f"user:{u.id}": u.display_name
        for u in db_session.scalars(select(UserAccount).where(UserAccount.id.in_(ids)))
    }
    return {a: names.get(a, a) for a in actors}


def _by_id(db_session: Session, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    return {row.id: row for row in db_session.scalars(select(model).where(model.id.in_(ids)))}


# --------------------------------------------------------------------------- direct debit


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
        names=_actor_names(db_session, {r.created_by for r in runs}),
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
        try:
            result = step(
                db_session,
                g.municipality,
                collection_date=day,
                as_of=clock.today(),
                actor=current_user.actor,
            )
        except DomainError as exc:
            db_session.rollback()
            form.collection_date.errors = [exc.message]
        else:
            db_session.commit()
            return done(result, day)
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
        claims=_by_id(db_session, Claim, {i.claim_id for i in items}),
        people=_by_id(db_session, persons.Person, {i.person_id for i in items}),
        mandate_refs={
            m.id: m.reference
            for m in _by_id(db_session, Mandate, {i.mandate_id for i in items}).values()
        },
        names=_actor_names(db_session, {run.created_by}),
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


# --------------------------------------------------------------------------- bank statements


def _statements_page(form: StatementUploadForm) -> str:
    db_session = db()
    imports = import_records.imports_of(db_session, current_user.municipality_id)
    return render_template(
        "backoffice/payments/bank/statements.html",
        form=form,
        report=session.pop(REPORT_KEY, None),
        imports=imports,
        names=_actor_names(db_session, {i.imported_by for i in imports}),
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
        try:
            parsed = bank_import.read_bank_file(data)
            report = bank_import.import_statements(
                db_session,
                g.municipality,
                parsed,
                filename=upload.filename or "kontoauszug.xml",
                as_of=clock.today(),
                actor=current_user.actor,
            )
        except DomainError as exc:
            db_session.rollback()  # all or nothing: nothing of the file is booked
            form.statement.errors = [exc.message]
        else:
            db_session.commit()
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
        people=_by_id(db_session, persons.Person, {x.person_id for x in lines if x.person_id}),
        names=_actor_names(db_session, {record.imported_by}),
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
        names=_actor_names(db_session, {line.resolved_by} if line.resolved_by else set()),
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
    try:
        queue_pages.assign_line(
            db_session,
            line,
            person,
            claim_ids=[claim_id] if claim_id is not None else [],
            as_of=clock.today(),
            actor=current_user.actor,
        )
    except DomainError as exc:
        db_session.rollback()
        flash(exc.message, "error")
        return redirect(url_for("backoffice.bank_line", line_id=line_id))
    db_session.commit()
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
        try:
            queue_pages.close_line(
                db_session, line, note=form.note.data or "", actor=current_user.actor
            )
        except DomainError as exc:
            db_session.rollback()
            form.note.errors = [exc.message]
        else:
            db_session.commit()
            flash(f"Umsatz über {format_euro(line.amount_cents)} als erledigt vermerkt.", "success")
            return redirect(url_for("backoffice.bank_queue"))
    return _line_page(line, form)


# --------------------------------------------------------------------------- mandates


@bp.post("/personen/<int:person_id>/mandate/<int:mandate_id>/reaktivieren")
@staff_required()
def mandate_reactivate(person_id: int, mandate_id: int) -> Response:
    db_session = db()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        person = persons.get_person(db_session, current_user.municipality_id, person_id)
        mandate = mandates.get_mandate(db_session, person, mandate_id)
    except NotFound:
        abort(404)
    try:
        mandates.reactivate_mandate(db_session, mandate, actor=current_user.actor)
    except DomainError as exc:
        db_session.rollback()
        flash(exc.message, "error")
    else:
        db_session.commit()
        flash(f"Mandat {mandate.reference} ist wieder aktiv.", "success")
    return redirect(url_for("backoffice.person_detail", person_id=person.id, _anchor="mandate"))


def _sepa_rules(db_session: Session) -> SepaRules | None:
    """The municipality's direct-debit rules today; None where it has none."""
    try:
        return rules_on(db_session, current_user.municipality_id, clock.today())
    except NotFound:
        return None


@bp.route("/personen/<int:person_id>/mandate/neu", methods=["GET", "POST"])
@staff_required()
def mandate_paper(person_id: int) -> str | Response:
    """Record a SEPA-Basislastschriftmandat that arrived on paper; it replaces the person's
    active mandates of the same scope (the core's rule)."""
    db_session = db()
    try:
        person = persons.get_person(db_session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    today = clock.today()
    rules = _sepa_rules(db_session)
    form = PaperMandateForm(
        data={"account_holder": person.display_name},
        today=today,
        lapse_months=rules.mandate_lapse_months if rules else DEFAULT_LAPSE_MONTHS,
    )
    form.scope.choices = scope_choices(db_session, person)
    if form.validate_on_submit():
        try:
            mandate = mandates.grant_mandate(
                db_session,
                person=person,
                municipality=g.municipality,
                account_holder=form.account_holder.data or "",
                iban=form.iban.data or "",
                bic=form.bic.data or None,
                tax_account_id=form.tax_account_id(),
                signed_on=form.signed_on.data,
                as_of=today,
                actor=current_user.actor,
            )
        except FieldErrors as exc:
            db_session.rollback()
            show_field_errors(form, exc.errors)
        except DomainError as exc:  # e.g. no direct-debit rules for today
            db_session.rollback()
            form.form_errors.append(exc.message)
        else:
            db_session.commit()
            flash(f"Mandat {mandate.reference} erfasst.", "success")
            return redirect(
                url_for("backoffice.person_detail", person_id=person.id, _anchor="mandate")
            )
    in_use = [
        (m, mandates.scope_label(db_session, m))
        for m in mandates.mandates_of(db_session, person)
        if m.status is MandateStatus.ACTIVE
    ]
    return render_template(
        "backoffice/payments/sepa/mandate_form.html",
        form=form,
        person=person,
        rules=rules,
        in_use=in_use,
    )


def mandate_context(person: persons.Person) -> dict[str, object]:
    """The person's mandates (newest first) with their scope, for the person detail page."""
    db_session = db()
    return {
        "mandates": [
            (m, mandates.scope_label(db_session, m))
            for m in mandates.mandates_of(db_session, person)
        ],
        "mandate_suspended": MandateStatus.SUSPENDED,
        "debits": debit_outlook(db_session, person, as_of=clock.today()),
    }
