"""Stundung oder Ratenzahlung online beantragen (§ 222 AO): the citizen chooses open claims,
the number of instalments and their dates (a suggested monthly schedule they may adjust), gives
a reason and optionally a proof. Within the statute's limits the plan is accepted at once;
otherwise it is "in Prüfung" on the one review queue (core.workflow). The account shows the
plans (templates/portal/ledger/_instalments.html); each instalment is paid by transfer with
its GiroCode, by card (exactly the next instalment: core.payments.card.checkout.part_of), or by
a mandate (core.dunning.instalment_debits), or the whole rest online."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf.file import FileAllowed, FileField, FileSize
from werkzeug.wrappers import Response
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from core.dunning import instalment_progress, instalments
from core.dunning.instalment_models import InstalmentPlan
from core.dunning.instalment_rules import InstalmentRules, rules_on, schedule, suggested_dates
from core.kernel import clock
from core.kernel.errors import NotFound, ValidationError
from core.kernel.months import add_months
from core.payments.sepa.debit_outlook import DebitOutlook, collecting
from core.persons.models import Person
from core.workflow.applications import ApplicationStatus
from portal.citizen import person_or_redirect
from portal.database import db
from portal.form_fields import UPLOAD_MAX_BYTES, ConfirmForm, GermanForm, required
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.payments.card import girocode, start_card_payment
from portal.requests import carry_out
from portal.uploads import store_upload
from portal.workflow.views import own_application

PROOF_TYPES = ["pdf", "jpg", "jpeg", "png"]


class InstalmentForm(GermanForm):
    claims = HiddenField("Offene Beträge")  # the checkboxes are named "claims" (template)
    count = StringField(
        "Anzahl der Raten",
        default="3",
        validators=[required("Bitte geben Sie die Anzahl der Raten an.")],
        description="1 für eine Stundung bis zu einem Tag, sonst die Zahl der Monatsraten.",
        render_kw={"inputmode": "numeric", "autocomplete": "off"},
    )
    first_due = DateField(
        "Erste Rate am",
        validators=[InputRequired("Bitte geben Sie an, wann die erste Rate fällig sein soll.")],
    )
    schedule = HiddenField("Ratenplan")  # the date inputs are named "due_1", "due_2", …
    reason = TextAreaField(
        "Begründung",
        validators=[
            required("Bitte begründen Sie Ihren Antrag."),
            Length(max=instalments.MAX_REASON, message="Bitte höchstens 1000 Zeichen."),
        ],
        description="Warum können Sie die Beträge nicht zum Fälligkeitstag zahlen?",
    )
    proof = FileField(
        "Nachweis (PDF, JPG oder PNG, höchstens 5 MB)",
        validators=[
            FileAllowed(PROOF_TYPES, "Bitte laden Sie eine PDF-, JPG- oder PNG-Datei hoch."),
            FileSize(UPLOAD_MAX_BYTES, message="Die Datei ist größer als 5 MB."),
        ],
    )

    def number(self, most: int) -> int | None:
        text = (self.count.data or "").strip()
        if not text.isdigit() or not 1 <= int(text) <= most:
            self.count.errors = [f"Bitte geben Sie eine Zahl von 1 bis {most} an."]
            return None
        return int(text)


def _chosen_ids() -> list[int]:
    return [int(v) for v in request.form.getlist("claims") if v.isdigit()]


def _entered_dates(form: InstalmentForm, count: int) -> list[date] | None:
    """The adjusted schedule the citizen sent (due_1 … due_n); None when it was not shown
    (or the number of instalments changed): then the suggestion applies."""
    sent = [request.form.get(f"due_{i}") for i in range(1, count + 1)]
    if any(v is None for v in sent) or request.form.get(f"due_{count + 1}") is not None:
        return None
    found = []
    for text in sent:
        try:
            found.append(date.fromisoformat((text or "").strip()))
        except ValueError:
            form.schedule.errors = [
                "Bitte geben Sie für jede Rate ein gültiges Datum an (TT.MM.JJJJ)."
            ]
            return None
    return found


def _dates(form: InstalmentForm, rules: InstalmentRules) -> list[date] | None:
    count = form.number(rules.max_instalments)
    if count is None or form.first_due.data is None:
        return None
    entered = _entered_dates(form, count) if request.form.get("action") == "submit" else None
    return entered or suggested_dates(form.first_due.data, count)


def _preview(person: Person, rules: InstalmentRules, dates: list[date], today: date) -> Any:
    chosen = set(_chosen_ids())
    owed = sum(o for c, o in instalments.eligible_claims(db(), person, today) if c.id in chosen)
    try:
        return schedule(rules, owed, dates, today) if owed else None
    except ValidationError:
        return None  # the submit shows why


@bp.route("/konto/raten", methods=["GET", "POST"])
@citizen_required
def instalment_request() -> str | Response:
    person = person_or_redirect()
    if isinstance(person, Response):
        return person
    session, today = db(), clock.today()
    try:
        rules = rules_on(session, g.municipality.id, today)
    except NotFound:
        abort(404)  # this municipality offers no instalments online
    form = InstalmentForm()
    if request.method == "GET":
        form.first_due.data = add_months(today, 1)
    dates, plan = None, None
    if request.method == "POST":
        valid = form.validate_on_submit()
        if not form.csrf_token.errors:
            dates = _dates(form, rules)
        if request.form.get("action") != "submit":  # "Ratenplan berechnen": nothing is judged
            form.reason.errors, form.proof.errors = [], []
        elif valid and dates and not form.count.errors and not form.schedule.errors:
            done = _submit(form, person, dates, today)
            if done is not None:
                return done
    if dates:
        plan = _preview(person, rules, dates, today)
    return render_template(
        "portal/instalments/request.html",
        form=form,
        rules=rules,
        items=instalments.eligible_claims(session, person, today),
        chosen=set(_chosen_ids()) if request.method == "POST" else set(),
        dates=dates or [],
        plan=plan,
    )


def _submit(
    form: InstalmentForm, person: Person, dates: list[date], today: date
) -> Response | None:
    proof_id = store_upload(
        form.proof, person_id=person.id, kind="proof", filename="Nachweis", actor=current_user.actor
    )
    if proof_id is False:
        return None
    done = carry_out(
        lambda: instalments.submit_request(
            db(),
            person=person,
            municipality=g.municipality,
            claim_ids=_chosen_ids(),
            dates=dates,
            reason=form.reason.data or "",
            as_of=today,
            actor=current_user.actor,
            proof_document_id=proof_id or None,
        ),
        form=form,
        rename={"dates": "schedule"},
    )
    if not done.ok:
        return None
    return redirect(url_for("portal.instalment_result", application_id=done.result().id))


@bp.get("/konto/raten/antrag/<int:application_id>")
@citizen_required
def instalment_result(application_id: int) -> str:
    person, application = own_application(application_id)
    if application.service != instalments.SERVICE_INSTALMENTS:
        abort(404)
    plan = None
    if application.status is ApplicationStatus.APPROVED and application.data.get("plan_id"):
        found = instalment_progress.get_plan(db(), person, int(application.data["plan_id"]))
        plan = instalment_progress.progress(db(), found) if found else None
    return render_template("portal/instalments/result.html", application=application, progress=plan)


def _own_plan(plan_id: int) -> tuple[Person, InstalmentPlan]:
    person = person_or_redirect()
    if isinstance(person, Response):
        abort(404)
    found = instalment_progress.get_plan(db(), person, plan_id)
    if found is None:
        abort(404)  # another citizen's plan does not exist for this one
    return person, found


@bp.get("/konto/raten/<int:plan_id>")
@citizen_required
def instalment_plan(plan_id: int) -> str:
    _, found = _own_plan(plan_id)
    state, today = instalment_progress.progress(db(), found), clock.today()
    due = state.next_due
    # The next instalment a mandate collects (announced, or with the bank): not to pay twice.
    debits = collecting(db(), instalment_progress.claims_of(db(), found), as_of=today)
    return render_template(
        "portal/instalments/plan.html",
        progress=state,
        due=due,
        debit=_next_debit(list(debits.values())),
        as_of=today,
        girocode=girocode(due.open_cents, state.kassenzeichen) if due else None,
        pay_form=ConfirmForm(),
    )


@bp.post("/konto/raten/<int:plan_id>/karte")
@citizen_required
def instalment_pay_card(plan_id: int) -> Response | tuple[str, int]:
    """„Rate jetzt mit Karte bezahlen“: exactly the next instalment's open amount, once (the
    form names the instalment; a second click finds it paid or its payment running)."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    person, found = _own_plan(plan_id)
    number = request.form.get("instalment", "")
    if not number.isdigit() or len(number) > 4:
        abort(400)
    try:
        claim_ids, amount = instalment_progress.card_payment(db(), found, int(number))
    except ValidationError as exc:
        return render_template("portal/payments/card/unavailable.html", message=exc.message), 409
    return start_card_payment(
        claim_ids,
        person_id=person.id,
        kassenzeichen=None,
        origin="instalment",
        actor=current_user.actor,
        amount_cents=amount,
    )


def _next_debit(debits: list[DebitOutlook]) -> tuple[date, int] | None:
    """The day of the plan's next direct debit and what it takes in all."""
    if not debits:
        return None
    day = min(d.collection_date for d in debits)
    return day, sum(d.amount_cents for d in debits if d.collection_date == day)


def _plans_of(person: Person | None) -> list[instalment_progress.Progress]:
    return instalment_progress.plans_of(db(), person) if person is not None else []


@bp.app_context_processor
def _account_plans() -> dict[str, Any]:
    """``instalment_plans(person)`` for the account's partial (called only where it is
    included; whether instalments are offered comes with the account's person statement)."""
    return {"instalment_plans": _plans_of}
