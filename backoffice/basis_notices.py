"""Back office for the tax office's basis notices (Messbescheide, Zerlegungsbescheide): upload
of a delivery (refused whole, with every rejected line listed), the imports so far, the queue of
notices whose person the import could not tell (suggestions, search, assign), and the tax objects
on the person page. Every query is limited to the clerk's municipality."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user
from flask_wtf.file import FileField, FileRequired, FileSize
from sqlalchemy import select
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID, form_id
from backoffice.persons import person_page_section
from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies import basis_import
from core.levies.basis_notices import imports, queries
from core.levies.basis_notices import queue as pending_queue
from core.levies.basis_notices.models import (
    KIND_LABELS,
    TAX_LABELS,
    BasisNoticeImport,
    PendingNotice,
)
from core.levies.basis_notices.reader import FileRejected
from core.levies.property_tax import annual_payment
from core.levies.trade_tax import refund_interest
from core.persons import models as persons
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm
from portal.identity.auth import staff_required
from portal.requests import carry_out

FILE_MAX_BYTES = 8 * 1024 * 1024
REPORT_KEY = "basis_notice_report"  # the last upload's summary, shown once after the redirect


class DeliveryUploadForm(GermanForm):
    delivery = FileField(
        "Lieferung des Finanzamts (XML-Datei nach docs/MESSBESCHEIDE.md, höchstens 8 MB)",
        validators=[
            FileRequired("Bitte wählen Sie die Datei mit den Messbescheiden."),
            FileSize(FILE_MAX_BYTES, message="Die Datei ist größer als 8 MB."),
        ],
        render_kw={"accept": ".xml,application/xml,text/xml"},
    )


def _imports(municipality_id: int) -> list[BasisNoticeImport]:
    return list(
        db().scalars(
            select(BasisNoticeImport)
            .where(BasisNoticeImport.municipality_id == municipality_id)
            .order_by(BasisNoticeImport.id.desc())
            .limit(50)
        )
    )


def _page(form: DeliveryUploadForm, problems: list[str] | None = None) -> str:
    municipality_id = current_user.municipality_id
    return render_template(
        "backoffice/basis_notices/index.html",
        form=form,
        problems=problems or [],
        report=session.pop(REPORT_KEY, None),
        imports=_imports(municipality_id),
        pending=pending_queue.open_pending(db(), municipality_id),
        taxes=TAX_LABELS,
    )


@bp.get("/messbescheide")
@staff_required()
def basis_notices() -> str:
    return _page(DeliveryUploadForm())


@bp.post("/messbescheide")
@staff_required()
def basis_notice_upload() -> str | Response:
    form = DeliveryUploadForm()
    if not form.validate_on_submit():
        return _page(form)
    upload = form.delivery.data
    data = upload.read()
    db().commit()  # end the request's transaction before reading (SQLite's write lock)
    imported = carry_out(
        lambda: imports.import_file(
            db(),
            g.municipality,
            data,
            filename=upload.filename or "messbescheide.xml",
            actor=current_user.actor,
        ),
        form=form,
        field="delivery",
        handled=(FileRejected,),
    )
    if isinstance(imported.error, FileRejected):
        form.delivery.errors = [imported.error.message.split(" Fehler:")[0] + " Fehler."]
        return _page(form, imported.error.problems)
    if not imported.ok:
        return _page(form)
    report = imported.result()
    message = report.summary()
    if report.import_id is not None:  # committed: now what it calls for (its own transaction)
        assessed = carry_out(
            lambda: basis_import.assess_import(
                db(), g.municipality, report, as_of=clock.today(), actor=current_user.actor
            )
        )
        if assessed.ok:
            message += " " + assessed.result().summary()
    session[REPORT_KEY] = message
    flash(message, "info" if report.already_imported else "success")
    return redirect(url_for("backoffice.basis_notices"))


def _pending(pending_id: int) -> PendingNotice:
    if pending_id > MAX_ID:
        abort(404)
    try:
        return pending_queue.get_pending(db(), current_user.municipality_id, pending_id)
    except NotFound:
        abort(404)


@bp.get("/messbescheide/klaerung/<int:pending_id>")
@staff_required()
def basis_notice_pending(pending_id: int) -> str:
    item = _pending(pending_id)
    query = (request.args.get("q") or "").strip()[:100]
    results = persons.search_persons(db(), item.municipality_id, query) if query else []
    return render_template(
        "backoffice/basis_notices/pending.html",
        item=item,
        record=pending_queue.record_of(item),
        suggestions=pending_queue.suggestions(db(), item),
        query=query,
        results=results,
        confirm=ConfirmForm(),
        taxes=TAX_LABELS,
        kinds=KIND_LABELS,
    )


@bp.post("/messbescheide/klaerung/<int:pending_id>/zuordnen")
@staff_required()
def basis_notice_assign(pending_id: int) -> Response:
    item = _pending(pending_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person_id = form_id(request.form, "person_id")
    if person_id is None:
        abort(404)
    try:
        person = persons.get_person(db(), current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    reference = item.reference
    assigned = carry_out(
        lambda: [
            n.id for n in pending_queue.assign_notices(db(), item, person, actor=current_user.actor)
        ]
    )
    if not assigned.ok:
        return redirect(url_for("backoffice.basis_notice_pending", pending_id=pending_id))
    notice_ids = assigned.result()
    message = (
        f"{len(notice_ids)} Bescheid(e) zum Aktenzeichen {reference} "
        f"{person.display_name} (Personenkonto {person.number}) zugeordnet und übernommen."
    )
    assessed = carry_out(  # committed: now what it calls for (its own transaction, as an import)
        lambda: basis_import.assess_assigned(
            db(), g.municipality, notice_ids, as_of=clock.today(), actor=current_user.actor
        )
    )
    if assessed.ok:
        message += " " + assessed.result().summary()
    flash(message, "success")
    return redirect(url_for("backoffice.basis_notices"))


@person_page_section
def basis_notice_section(person: persons.Person) -> dict[str, object]:
    """The person's tax objects of property and trade tax with their basis notices, the
    property tax's annual payment on application and the Erstattungszinsen credited."""
    db_session = db()
    objects = queries.objects_of(db_session, person.municipality_id, person.id)
    return {
        "tax_objects": objects,
        "tax_object_notices": {o.id: queries.history(db_session, o.id) for o in objects},
        "tax_labels": TAX_LABELS,
        "notice_kind_labels": KIND_LABELS,
        "annual_payment": annual_payment.current(db_session, person, clock.today()),
        "refund_interest": refund_interest.of_person(db_session, person.id),
    }
