"""Back office Widersprüche (core.objections): the municipality's objections (received, notice,
deadline, "verspätet", suspension), one objection's detail with its reasons and attachment, and
the decision on the suspension of enforcement: granted keeps the dunning blocks, refused ends
them today (both in the audit trail). On the same page the decision on the objection itself
(core.objections.decisions): Abhilfe with the new amount, Zurückweisung, Rücknahme; one that
waits for a second person is approved or refused there by an approver. Another municipality's
objection is "not found"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import RadioField, SelectChoice, StringField, TextAreaField
from wtforms.validators import Length

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID
from core.dunning.models import DunningBlock
from core.kernel import clock
from core.kernel.errors import NotFound
from core.kernel.money import parse_euro
from core.notices.records import Notice
from core.objections import decisions, letters, service
from core.objections.models import (
    GRANTED,
    DecisionKind,
    DecisionStatus,
    Objection,
    SuspensionDecision,
)
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


class DecisionForm(GermanForm):
    kind = RadioField(
        "Entscheidung über den Widerspruch",
        choices=[
            SelectChoice(DecisionKind.GRANTED_FULL.value, "Abhilfe in vollem Umfang"),
            SelectChoice(DecisionKind.GRANTED_PARTIAL.value, "teilweise Abhilfe"),
            SelectChoice(DecisionKind.REJECTED.value, "Zurückweisung (Widerspruchsbescheid)"),
            SelectChoice(DecisionKind.WITHDRAWN.value, "Rücknahme durch die Person"),
        ],
        validators=[required("Bitte wählen Sie eine Entscheidung.")],
    )
    amount = StringField(
        "Neuer Betrag in Euro (bei Abhilfe)",
        description="Der Betrag, der nach der Abhilfe festgesetzt ist, z. B. 60,00.",
        validators=[Length(max=20, message="Bitte einen Betrag wie 60,00 angeben.")],
    )
    reasons = TextAreaField(
        "Begründung",
        validators=[
            Length(max=decisions.MAX_REASONS, message="Bitte höchstens 5000 Zeichen."),
        ],
    )


class ApprovalForm(GermanForm):
    verdict = RadioField(
        "Freigabe der Entscheidung",
        choices=[
            SelectChoice("approve", "freigeben (wird gebucht, Bescheid geht ins Postfach)"),
            SelectChoice("refuse", "ablehnen (der Widerspruch ist wieder offen)"),
        ],
        validators=[required("Bitte wählen Sie, ob Sie freigeben.")],
    )


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
        "backoffice/objections/index.html",
        objections=found,
        notices=notices,
        people=people,
        decided=decisions.current_of(session, [o.id for o in found]),
    )


def _detail(
    objection: Objection,
    form: SuspensionForm,
    decision_form: DecisionForm | None = None,
    approval_form: ApprovalForm | None = None,
) -> str:
    session = db()
    notice = session.get_one(Notice, objection.notice_id)
    decision = decisions.current(session, objection)
    return render_template(
        "backoffice/objections/detail.html",
        objection=objection,
        notice=notice,
        person=session.get(Person, objection.person_id),
        decision=decision,
        delivered=letters.delivery_of(session, decision)
        if decision is not None and decision.status is DecisionStatus.FINAL
        else None,
        standing=decisions.standing_cents(session, notice),
        decision_form=decision_form or DecisionForm(formdata=None),
        approval_form=approval_form or ApprovalForm(formdata=None),
        own=decision is not None and decision.proposed_by == current_user.actor,
        blocks=[b for b in (session.get(DunningBlock, i) for i in objection.block_ids) if b],
        form=form,
        open=objection.suspension is SuspensionDecision.OPEN
        and (decision is None or decision.status is not DecisionStatus.FINAL),
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


def _cents(form: DecisionForm) -> int | None:
    """The new amount of an Abhilfe in cents; None (with the field's German message) when it is
    missing or not an amount."""
    text = (form.amount.data or "").strip()
    if not text:
        form.amount.errors = [*form.amount.errors, "Bitte geben Sie den neuen Betrag an."]
        return None
    try:
        return parse_euro(text)
    except ValueError:  # MoneyParseError
        form.amount.errors = [*form.amount.errors, "Bitte einen Betrag wie 60,00 angeben."]
        return None


@bp.post("/widersprueche/<int:objection_id>/entscheidung")
@staff_required()
def objection_decision(objection_id: int) -> Response | tuple[str, int]:
    objection = _objection(objection_id)
    form = DecisionForm()
    if form.validate_on_submit():
        kind = DecisionKind(form.kind.data)
        cents = _cents(form) if kind in GRANTED else None
        if kind not in GRANTED or cents is not None:
            done = carry_out(
                lambda: decisions.decide(
                    db(), objection, kind=kind, reasons=form.reasons.data or "",
                    day=clock.today(), actor=current_user.actor, after_cents=cents,
                ),
                form=form,
            )  # fmt: skip
            if done.ok:
                pending = done.result().review_reasons
                flash(
                    "Die Entscheidung wartet auf die Freigabe (Vier-Augen-Prinzip): "
                    + ", ".join(pending) + "."
                    if pending
                    else "Entscheidung gespeichert; der Bescheid liegt im Postfach der Person.",
                    "success",
                )  # fmt: skip
                return redirect(url_for("backoffice.objection_detail", objection_id=objection.id))
    return _detail(objection, SuspensionForm(formdata=None), decision_form=form), 422


@bp.post("/widersprueche/<int:objection_id>/freigabe")
@staff_required()
def objection_approval(objection_id: int) -> Response | tuple[str, int]:
    objection = _objection(objection_id)
    decision = decisions.current(db(), objection)
    if decision is None:
        abort(404)
    form = ApprovalForm()
    if form.validate_on_submit():
        if form.verdict.data == "approve":
            call = lambda: decisions.approve(  # noqa: E731
                db(), decision, day=clock.today(), actor=current_user.actor
            )
        else:
            call = lambda: decisions.refuse(db(), decision, actor=current_user.actor)  # noqa: E731
        if carry_out(call, form=form).ok:
            flash("Freigabe gespeichert.", "success")
            return redirect(url_for("backoffice.objection_detail", objection_id=objection.id))
    return _detail(objection, SuspensionForm(formdata=None), approval_form=form), 422
