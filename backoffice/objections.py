"""Back office Widersprüche (core.objections): the municipality's objections (received, notice,
deadline, "verspätet", suspension), one objection's detail with its reasons and attachment, and
the decision on the suspension of enforcement: granted keeps the dunning blocks, refused ends
them today (both in the audit trail). Another municipality's objection is "not found"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from core.dunning.models import DunningBlock
from core.kernel import clock
from core.kernel.errors import NotFound
from core.notices.records import Notice
from core.objections import service
from core.objections.models import Objection, SuspensionDecision
from core.persons.models import Person
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out


class SuspensionForm(GermanForm):
    decision = RadioField(
        "Entscheidung über die Aussetzung der Vollziehung",
        choices=[
            SelectChoice("grant", "gewähren (Mahnsperre bleibt)"),
            SelectChoice("refuse", "ablehnen (Mahnsperre endet heute)"),
        ],
        validators=[required("Bitte wählen Sie eine Entscheidung.")],
    )
    note = TextAreaField("Vermerk", validators=[Length(max=500, message="Höchstens 500 Zeichen.")])


def _objection(objection_id: int) -> Objection:
    if objection_id > MAX_ID:
        abort(404)
    try:
        return service.get_objection(db(), current_user.municipality_id, objection_id)
    except NotFound:
        abort(404)


@bp.get("/widersprueche")
@staff_required()
def objection_list() -> str:
    session = db()
    found = service.objections_of_municipality(session, current_user.municipality_id)
    notices = {n.id: n for n in (session.get(Notice, o.notice_id) for o in found) if n}
    people = {p.id: p for p in (session.get(Person, o.person_id) for o in found) if p}
    return render_template(
        "backoffice/objections/index.html", objections=found, notices=notices, people=people
    )


def _detail(objection: Objection, form: SuspensionForm) -> str:
    session = db()
    return render_template(
        "backoffice/objections/detail.html",
        objection=objection,
        notice=session.get(Notice, objection.notice_id),
        person=session.get(Person, objection.person_id),
        blocks=[b for b in (session.get(DunningBlock, i) for i in objection.block_ids) if b],
        form=form,
        open=objection.suspension is SuspensionDecision.OPEN,
    )


@bp.get("/widersprueche/<int:objection_id>")
@staff_required()
def objection_detail(objection_id: int) -> str:
    return _detail(_objection(objection_id), SuspensionForm(formdata=None))


@bp.post("/widersprueche/<int:objection_id>/aussetzung")
@staff_required()
def objection_suspension(objection_id: int) -> Response | tuple[str, int]:
    objection = _objection(objection_id)
    form = SuspensionForm()
    if form.validate_on_submit():
        done = carry_out(
            lambda: service.decide_suspension(
                db(), objection, grant=form.decision.data == "grant", day=clock.today(),
                actor=current_user.actor, note=form.note.data or "",
            ),
            form=form,
        )  # fmt: skip
        if done.ok:
            flash("Entscheidung über die Aussetzung der Vollziehung gespeichert.", "success")
            return redirect(url_for("backoffice.objection_detail", objection_id=objection.id))
    return _detail(objection, form), 422
