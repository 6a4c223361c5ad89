"""Back office Mahnsperren on the person page (core.dunning.blocks): the person's blocks in
force and ended (reason, the claim or the whole person, from and to, note, who), a form to add
one (reason, optionally one claim, start, optional end, note) and one to end a block; and each
claim's dunning history (core.dunning.overview.claim_history).

The add form on the person page posts to its own page, which shows the German errors with the
values kept. Every query is limited to the clerk's municipality and the person: another
person's claim or block is "not found"."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response
from wtforms import DateField, SelectChoice, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from backoffice.blueprint import bp
from backoffice.form_ids import MAX_ID, parse_id
from backoffice.lookups import ACTORS, actor_names
from backoffice.persons import person_page_section
from core.dunning import blocks, overview
from core.dunning.models import BLOCK_REASON_LABELS, BlockReason, DunningBlock
from core.kernel import clock
from core.kernel.errors import NotFound
from core.kernel.references import format_kassenzeichen
from core.ledger.models import Claim
from core.persons import models as persons
from portal.database import db
from portal.form_fields import GermanForm, required
from portal.identity.auth import staff_required
from portal.requests import carry_out

WHOLE_PERSON = ""
CLAIM_UNKNOWN = "Diese Forderung gehört nicht zu dieser Person."


class BlockForm(GermanForm):
    reason = SelectField(
        "Grund",
        choices=[SelectChoice(r.value, BLOCK_REASON_LABELS[r]) for r in BlockReason],
        validators=[required("Bitte wählen Sie einen Grund.")],
    )
    claim = SelectField(
        "Forderung",
        description="Ohne Auswahl gilt die Sperre für alle Forderungen der Person.",
        validate_choice=False,
    )
    starts_on = DateField("Gilt ab", validators=[InputRequired("Bitte geben Sie den Beginn an.")])
    ends_on = DateField(
        "Gilt bis", validators=[Optional()], description="Leer lassen: bis sie beendet wird."
    )
    note = TextAreaField(
        "Vermerk",
        validators=[Length(max=500, message="Höchstens 500 Zeichen.")],
        description="z. B. Aktenzeichen der Stundung oder des Widerspruchs.",
    )


class EndForm(GermanForm):
    last_day = DateField(
        "Letzter Tag der Sperre", validators=[InputRequired("Bitte geben Sie den letzten Tag an.")]
    )


def _person(person_id: int) -> persons.Person:
    if person_id > MAX_ID:
        abort(404)
    try:
        return persons.get_person(db(), current_user.municipality_id, person_id)
    except NotFound:
        abort(404)


def _claims(person: persons.Person) -> list[Claim]:
    return list(
        db().scalars(
            select(Claim)
            .where(Claim.person_id == person.id, Claim.municipality_id == person.municipality_id)
            .order_by(Claim.due_date, Claim.id)
        )
    )


def block_form(claims: list[Claim], *, posted: bool = False) -> BlockForm:
    """The form with the person's claims to choose from; unposted, from today by the clerk."""
    form = (
        BlockForm()
        if posted
        else BlockForm(data={"starts_on": clock.today(), "reason": BlockReason.CLERK.value})
    )
    form.claim.choices = [SelectChoice(WHOLE_PERSON, "Alle Forderungen der Person")] + [
        SelectChoice(str(c.id), f"{format_kassenzeichen(c.kassenzeichen)} – {c.description}")
        for c in claims
    ]
    return form


def _chosen_claim(form: BlockForm, claims: list[Claim]) -> Claim | None:
    """The claim chosen, None for the whole person; NotFound for one not of this person."""
    raw = form.claim.data or WHOLE_PERSON
    if raw == WHOLE_PERSON:
        return None
    claim_id = parse_id(raw)
    found = next((c for c in claims if c.id == claim_id), None)
    if found is None:
        raise NotFound(CLAIM_UNKNOWN)
    return found


@bp.route("/personen/<int:person_id>/mahnsperren", methods=["GET", "POST"])
@staff_required()
def dunning_block_add(person_id: int) -> str | Response | tuple[str, int]:
    person = _person(person_id)
    claims = _claims(person)
    form = block_form(claims, posted=request.method == "POST")
    if request.method == "POST" and form.validate_on_submit():

        def add() -> DunningBlock:
            return blocks.add_block(
                db(), person=person, reason=BlockReason(form.reason.data),
                claim=_chosen_claim(form, claims), starts_on=form.starts_on.data,
                ends_on=form.ends_on.data, note=(form.note.data or "").strip(),
                actor=current_user.actor,
            )  # fmt: skip

        if carry_out(add, form=form).ok:
            flash("Mahnsperre eingetragen.", "success")
            return redirect(url_for("backoffice.person_detail", person_id=person.id) + "#mahnwesen")
    page = render_template("backoffice/dunning/block_add.html", person=person, form=form)
    return (page, 422) if request.method == "POST" else page


@bp.post("/personen/<int:person_id>/mahnsperren/<int:block_id>/beenden")
@staff_required()
def dunning_block_end(person_id: int, block_id: int) -> Response:
    """End a block after the day given (it stays in the history)."""
    person = _person(person_id)
    form = EndForm()
    valid = form.validate_on_submit()
    if form.errors.get("csrf_token"):
        abort(400)
    block = next((b for b in blocks.blocks_of(db(), person) if b.id == block_id), None)
    if block is None:
        abort(404)
    if not valid:
        for message in form.last_day.errors:
            flash(f"Mahnsperre beenden: {message}", "error")
    elif carry_out(
        lambda: blocks.end_block(db(), block, last_day=form.last_day.data, actor=current_user.actor)
    ).ok:
        flash(f"Mahnsperre beendet: {blocks.describe(block)}.", "success")
    return redirect(url_for("backoffice.person_detail", person_id=person.id) + "#mahnwesen")


@person_page_section
def dunning_section(person: persons.Person) -> dict[str, object]:
    """The person's blocks with who made and ended them, the form to add one, and each
    claim's dunning history."""
    session = db()
    found = blocks.blocks_of(session, person)
    claims = _claims(person)
    actors = {b.created_by for b in found} | {b.ended_by for b in found if b.ended_by}
    names = actor_names(session, actors)
    return {
        "dunning_blocks": found,
        "dunning_claims": {c.id: c for c in claims},
        "dunning_history": overview.claim_history(session, person),
        "dunning_block_form": block_form(claims),
        "dunning_names": {a: ACTORS.get(a, n) for a, n in names.items()},
    }
