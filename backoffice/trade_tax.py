"""Back office for trade-tax notices: the notices waiting for an approver (four eyes; they are
applications of the one review queue, core.levies.trade_tax.approval), computing the notices
of newly imported Gewerbesteuermessbescheide, and the approval page with the figures before
and after side by side. Every query is limited to the clerk's municipality; approving is
refused in the core to anyone but an approver other than the clerk who prepared the notice."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from backoffice.blueprint import bp
from core.kernel import clock
from core.kernel.errors import NotFound
from core.levies import realtax
from core.levies.trade_tax import approval
from core.persons import models as persons
from core.workflow import applications as workflow
from core.workflow import review
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import staff_required
from portal.requests import carry_out
from portal.workflow.forms import DecisionForm

ROWS = (  # the approval page: (label, key of Figures, how to show it)
    ("Gewerbesteuermessbetrag", "messbetrag_cents", "euro"),
    ("Hebesatz", "hebesatz", "percent"),
    ("Gewerbesteuer", "tax_cents", "euro"),
    ("Vorauszahlungen festgesetzt", "advances_fixed_cents", "euro"),
    ("Bisher festgesetzt", "booked_before_cents", "euro"),
    ("Bereits gezahlt", "paid_before_cents", "euro"),
    ("Abschlusszahlung (neu gefordert)", "final_cents", "euro"),
    ("Zinsen § 233a AO", "interest_cents", "euro"),
    ("Erstattung (Guthaben)", "refund_cents", "euro"),
)


def _remaining(figures: dict[str, Any] | None) -> int | None:
    if not figures:
        return None
    return (
        int(figures["tax_cents"])
        + int(figures["interest_cents"])
        - int(figures["paid_before_cents"])
    )


def _quarters(figures: dict[str, Any] | None) -> list[int]:
    return list((figures or {}).get("next_quarters") or [])


@bp.route("/gewerbesteuer", methods=["GET", "POST"])
@staff_required()
def trade_tax_pending() -> str | Response:
    """The notices waiting for an approver; computing the notices of new basis notices."""
    form = ConfirmForm()
    if form.validate_on_submit():
        outcome = carry_out(
            lambda: approval.prepare_from_basis_notices(
                db(), municipality=g.municipality, as_of=clock.today(), actor=current_user.actor
            )
        )
        if outcome.ok:
            done = outcome.result()
            issued = sum(1 for p in done if p.notice is not None)
            waiting = sum(1 for p in done if p.application is not None)
            flash(
                f"{issued} Bescheide erlassen, {waiting} warten auf Freigabe.",
                "success",
            )
            return redirect(url_for("backoffice.trade_tax_pending"))
    queue = approval.open_applications(db(), current_user.municipality_id)
    return render_template(
        "backoffice/trade_tax/pending.html",
        form=form,
        queue=queue,
        people={
            a.person_id: persons.get_person(db(), a.municipality_id, a.person_id) for a in queue
        },
        remaining=_remaining,
    )


@bp.route("/gewerbesteuer/<int:application_id>", methods=["GET", "POST"])
@staff_required()
def trade_tax_approval(application_id: int) -> str | Response:
    """Old and new figures side by side; approve (an approver, not the preparer) or reject."""
    session = db()
    try:
        application = workflow.get_application(
            session, current_user.municipality_id, application_id
        )
    except NotFound:
        abort(404)
    if application.service != approval.SERVICE:
        abort(404)
    form = DecisionForm()
    if form.validate_on_submit():
        decision, actor = request.form.get("decision", ""), current_user.actor
        if decision == "approve":
            call: Any = lambda: approval.approve(  # noqa: E731
                session, application, as_of=clock.today(), actor=actor
            )
        elif decision == "reject":
            message = (form.message.data or "").strip()
            call = lambda: review.reject(session, application, reason=message, actor=actor)  # noqa: E731
        else:
            abort(400)
        if carry_out(call, form=form).ok:
            flash(f"Gewerbesteuerbescheid {application.id}: {application.status_label}.", "success")
            return redirect(url_for("backoffice.trade_tax_pending"))
    data = application.data
    return render_template(
        "backoffice/trade_tax/approval.html",
        application=application,
        form=form,
        person=persons.get_person(session, current_user.municipality_id, application.person_id),
        old=data.get("old"),
        new=data["new"],
        rows=ROWS,
        percent=realtax.format_percent,
        remaining=_remaining,
        quarters=_quarters,
        open_statuses=approval.OPEN,
        own=application.submitted_by == current_user.actor,
    )
