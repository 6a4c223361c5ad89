"""Back office for payouts (Auszahlungen): the runs, a new run prepared from a preview, the
second person's approval (Vier-Augen-Prinzip) that books the payouts, the pain.001 file for the
bank (the download is recorded), and the account a clerk records for a person's payouts.

Every query is limited to the clerk's municipality: another municipality's run or person is
"not found" (404)."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import DateField
from wtforms.validators import InputRequired

from backoffice.blueprint import bp
from backoffice.four_eyes import confirmed, run_or_404, staff_names
from backoffice.lookups import rows_by_id
from backoffice.persons import person_page_section
from core.kernel import audit, clock
from core.kernel.errors import NotFound
from core.payments.payouts import runs
from core.payments.payouts.accounts import payout_target, record_payout_account
from core.payments.payouts.models import PayoutRunState
from core.payments.payouts.queries import payouts_of
from core.persons import models as persons
from portal.database import db, writes
from portal.form_fields import ConfirmForm, GermanForm
from portal.identity.auth import staff_required
from portal.payments.forms import PayoutAccountForm
from portal.requests import carry_out


class DebitForm(GermanForm):
    debited_on = DateField(
        "Belastet am", validators=[InputRequired("Bitte geben Sie den Tag der Belastung an.")]
    )


class RunForm(GermanForm):
    as_of = DateField("Stichtag", validators=[InputRequired("Bitte geben Sie den Stichtag an.")])


@bp.route("/auszahlungen", methods=["GET", "POST"])
@staff_required()
def payout_runs() -> str | Response | tuple[str, int]:
    """The runs, the newest first, and "Neuer Auszahlungslauf" (prepared, nothing booked)."""
    form = RunForm() if request.method == "POST" else RunForm(data={"as_of": clock.today()})
    invalid = False
    if request.method == "POST":
        if form.validate_on_submit():
            made = carry_out(
                lambda: runs.open_run(
                    db(), g.municipality, as_of=form.as_of.data, actor=current_user.actor
                ),
                form=form,
                field="as_of",
            )
            if made.ok:
                run = made.result()
                flash(f"Auszahlungslauf Nr. {run.id} vorbereitet; gebucht ist nichts.", "success")
                return redirect(url_for("backoffice.payout_run", run_id=run.id))
        invalid = True
    found = runs.runs_of(db(), current_user.municipality_id)
    page = render_template(
        "backoffice/payments/payouts/runs.html",
        form=form,
        runs=found,
        names=staff_names(a for r in found for a in (r.created_by, r.approved_by)),
    )
    return (page, 422) if invalid else page


@bp.get("/auszahlungen/<int:run_id>")
@staff_required()
def payout_run(run_id: int) -> str:
    session = db()
    run = run_or_404(runs.get_run, run_id)
    items = runs.items_of(session, run)
    return render_template(
        "backoffice/payments/payouts/run.html",
        run=run,
        payable=[i for i in items if i.reason is None],
        not_paid=[i for i in items if i.reason is not None],
        people=rows_by_id(session, persons.Person, {i.person_id for i in items}),
        reasons=runs.REASON_LABELS,
        names=staff_names((run.created_by, run.approved_by)),
        states=PayoutRunState,
        form=ConfirmForm(),
        debit_form=DebitForm(data={"debited_on": clock.today()}),
    )


@bp.post("/auszahlungen/<int:run_id>/freigeben")
@staff_required()
def payout_run_approve(run_id: int) -> Response:
    """The second person's approval: books the payouts and writes the file."""
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    done = carry_out(lambda: runs.approve(db(), run, actor=current_user.actor, as_of=clock.today()))
    if done.ok:
        flash(
            f"Auszahlungslauf Nr. {run.id} freigegeben: {done.result()} Auszahlungen gebucht.",
            "success",
        )
    return redirect(url_for("backoffice.payout_run", run_id=run.id))


@bp.post("/auszahlungen/<int:run_id>/belastung")
@staff_required()
def payout_run_debited(run_id: int) -> Response:
    """The bank's statement shows the file debited: 1830 is cleared against the bank."""
    run = run_or_404(runs.get_run, run_id)
    form = DebitForm()
    if not form.validate_on_submit():
        flash("Bitte geben Sie den Tag der Belastung an (TT.MM.JJJJ).", "error")
        return redirect(url_for("backoffice.payout_run", run_id=run.id))
    done = carry_out(
        lambda: runs.confirm_debited(
            db(), run, debited_on=form.debited_on.data, actor=current_user.actor
        )
    )
    if done.ok:
        flash(f"Belastung des Auszahlungslaufs Nr. {run.id} gebucht.", "success")
    return redirect(url_for("backoffice.payout_run", run_id=run.id))


@bp.post("/auszahlungen/<int:run_id>/verwerfen")
@staff_required()
def payout_run_discard(run_id: int) -> Response:
    confirmed()
    run = run_or_404(runs.get_run, run_id)
    if carry_out(lambda: runs.discard(db(), run, actor=current_user.actor)).ok:
        flash(f"Auszahlungslauf Nr. {run.id} verworfen; es wurde nichts gebucht.", "success")
    return redirect(url_for("backoffice.payout_run", run_id=run.id))


@bp.get("/auszahlungen/<int:run_id>/datei.xml")
@writes
@staff_required()
def payout_run_xml(run_id: int) -> Response:
    """The run's pain.001 file for the bank (the download is recorded)."""
    session = db()
    run = run_or_404(runs.get_run, run_id)
    if run.xml is None or run.filename is None:
        abort(404)
    audit.record(
        session,
        actor=current_user.actor,
        action="payout_run.downloaded",
        obj=run,
        municipality_id=run.municipality_id,
    )
    session.commit()
    response = Response(run.xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{run.filename}"'
    return response


@bp.route("/personen/<int:person_id>/auszahlungskonto", methods=["GET", "POST"])
@staff_required()
def payout_account_form(person_id: int) -> str | Response | tuple[str, int]:
    """Record the account a person's credit is paid out to (IBAN checked, German messages)."""
    session = db()
    try:
        person = persons.get_person(session, current_user.municipality_id, person_id)
    except NotFound:
        abort(404)
    form = PayoutAccountForm()
    if request.method == "POST":
        if form.validate_on_submit():
            made = carry_out(
                lambda: record_payout_account(
                    session,
                    person,
                    iban=form.iban.data or "",
                    account_holder=form.account_holder.data or "",
                    bic=form.bic.data or None,
                    actor=current_user.actor,
                ),
                form=form,
            )
            if made.ok:
                flash("Die Bankverbindung für Auszahlungen ist gespeichert.", "success")
                return redirect(url_for("backoffice.person_detail", person_id=person.id))
        page = render_template(
            "backoffice/payments/payouts/account_form.html", form=form, person=person
        )
        return page, 422
    return render_template(
        "backoffice/payments/payouts/account_form.html", form=form, person=person
    )


@person_page_section
def payouts_section(person: persons.Person) -> dict[str, object]:
    """The person's payouts (newest first) and the account a payout would go to."""
    session = db()
    return {
        "payouts": payouts_of(session, person),
        "payout_target": payout_target(session, person),
    }
