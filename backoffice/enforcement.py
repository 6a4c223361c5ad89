"""Back office for enforcement (Vollstreckung): the cases handed over, a case's page with its
claims, costs and write-offs (requested by one clerk, approved by another), the case file as
PDF and XML. Every lookup is limited to the clerk's municipality."""

from __future__ import annotations

from typing import cast

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice, SelectField, TextAreaField
from wtforms.validators import Length

from backoffice.blueprint import bp
from backoffice.form_ids import form_id
from core.dunning import case_file, enforcement, writeoffs
from core.dunning.enforcement_costs import costs_on
from core.dunning.enforcement_models import (
    CASE_STATUS_LABELS,
    WRITE_OFF_LABELS,
    CaseStatus,
    EnforcementCase,
    WriteOffKind,
)
from core.kernel import clock
from core.kernel.errors import NotFound
from core.kernel.money import format_euro
from core.ledger.kinds import KINDS
from portal.database import db
from portal.form_fields import ConfirmForm, GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out


class WriteOffForm(GermanForm):
    kind = SelectField(
        "Art der Abschreibung",
        choices=[SelectChoice(k.value, label) for k, label in WRITE_OFF_LABELS.items()],
        validators=[required("Bitte wählen Sie die Art der Abschreibung.")],
    )
    reason = TextAreaField(
        "Gründe",
        description="Die Entscheidung wird mit diesen Gründen aktenkundig (mindestens 10 Zeichen).",
        validators=[
            required("Bitte geben Sie die Gründe an."),
            Length(max=500, message="Die Gründe dürfen höchstens 500 Zeichen lang sein."),
        ],
        render_kw={"rows": 4},
    )


class CostForm(GermanForm):
    code = SelectField("Kostenart", validators=[required("Bitte wählen Sie eine Kostenart.")])


def _case(case_id: int) -> EnforcementCase:
    try:
        return enforcement.get_case(db(), current_user.municipality_id, case_id)
    except NotFound:
        abort(404)


@bp.route("/vollstreckung", methods=["GET", "POST"])
@staff_required()
def enforcement_cases() -> str | Response:
    session, form = db(), ConfirmForm()
    if form.validate_on_submit():
        made = carry_out(
            lambda: enforcement.hand_over(
                session, g.municipality, clock.today(), current_user.actor
            ),
            form=form,
        )
        if made.ok:
            flash(f"{len(made.result())} Fälle an die Vollstreckung abgegeben.", "success")
            return redirect(url_for("backoffice.enforcement_cases"))
    wanted = request.args.get("status", "")
    status = CaseStatus(wanted) if wanted in CaseStatus._value2member_map_ else None
    cases = enforcement.cases_of(session, current_user.municipality_id, status)
    return render_template(
        "backoffice/enforcement/cases.html",
        cases=cases,
        people=enforcement.persons_of(session, cases),
        form=form,
        status=status,
        labels=CASE_STATUS_LABELS,
    )


def _cost_choices(form: CostForm) -> bool:
    """Fill the cost kinds in force today; False when the municipality has none."""
    try:
        rules = costs_on(db(), current_user.municipality_id, clock.today())
    except NotFound:
        form.code.choices = []
        return False
    form.code.choices = [
        SelectChoice(c.code, f"{c.name} ({format_euro(c.amount_cents)})") for c in rules.costs
    ]
    return True


def _act(case: EnforcementCase, action: str, forms: dict[str, GermanForm]) -> bool:
    """Carry out the posted ``action`` on the case; True when it was done."""
    session, actor, role, today = db(), current_user.actor, current_user.role, clock.today()
    if action == "write_off" and forms["write_off"].validate_on_submit():
        f = forms["write_off"]
        kind, reason = WriteOffKind(f.kind.data), f.reason.data or ""
        asked = carry_out(
            lambda: writeoffs.request(session, case, kind, reason=reason, actor=actor), form=f
        )
        return _flash(asked.ok, "Abschreibung beantragt; eine zweite Person muss sie genehmigen.")
    if action in ("approve", "reject") and forms["decide"].validate_on_submit():
        write_off_id = form_id(request.form, "write_off_id")
        if write_off_id is None:
            abort(404)

        def decide() -> int:
            found = writeoffs.get_write_off(session, case, write_off_id)
            if action == "approve":
                return writeoffs.approve(session, found, on=today, actor=actor, role=role)
            writeoffs.reject(session, found, actor=actor, role=role)
            return 0

        decided = carry_out(decide, form=forms["decide"])
        verb = "genehmigt" if action == "approve" else "abgelehnt"
        return _flash(decided.ok, f"Abschreibung {verb}.")
    if action == "cost" and forms["cost"].validate_on_submit():
        code = forms["cost"].code.data or ""
        booked = carry_out(
            lambda: enforcement.book_cost(session, case, code, on=today, actor=actor),
            form=forms["cost"],
        )
        return _flash(booked.ok, "Vollstreckungskosten als Forderung gebucht.")
    return False


def _flash(ok: bool, message: str) -> bool:
    if ok:
        flash(message, "success")
    return ok


@bp.route("/vollstreckung/<int:case_id>", methods=["GET", "POST"])
@staff_required()
def enforcement_case(case_id: int) -> str | Response:
    session, case = db(), _case(case_id)
    forms: dict[str, GermanForm] = {
        "write_off": WriteOffForm(prefix="wo"),
        "decide": ConfirmForm(prefix="decide"),
        "cost": CostForm(prefix="cost"),
    }
    has_costs = _cost_choices(cast(CostForm, forms["cost"]))
    if request.method == "POST":
        if _act(case, request.form.get("action", ""), forms):
            return redirect(url_for("backoffice.enforcement_case", case_id=case.id))
    elif case.status is not CaseStatus.PAID and not any(
        enforcement.open_of(session, case).values()
    ):
        # Paid is derived from the open items: noted as soon as someone looks.
        carry_out(
            lambda: enforcement.refresh_status(session, case, clock.today(), "system:enforcement")
        )
    links = enforcement.case_claims(session, case)
    return render_template(
        "backoffice/enforcement/case.html",
        case=case,
        links=links,
        open_now=enforcement.open_of(session, case),
        kinds=KINDS,
        write_offs=writeoffs.write_offs_of(session, case),
        pending=writeoffs.pending(session, case),
        forms=forms,
        has_costs=has_costs,
        person=enforcement.persons_of(session, [case])[case.person_id],
    )


@bp.get("/vollstreckung/<int:case_id>/fallakte.pdf")
@staff_required()
def enforcement_case_pdf(case_id: int) -> Response:
    case = _case(case_id)
    response = Response(case_file.case_pdf(case, g.municipality), mimetype="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="Vollstreckungsfall-{case.id}.pdf"'
    )
    return response


@bp.get("/vollstreckung/<int:case_id>/fallakte.xml")
@staff_required()
def enforcement_case_xml(case_id: int) -> Response:
    case = _case(case_id)
    response = Response(case_file.case_xml(case), mimetype="application/xml")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="Vollstreckungsfall-{case.id}.xml"'
    )
    return response
