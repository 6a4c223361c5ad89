"""The "Handeln für …" switcher and an organisation's representatives ("Vertreter")."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response
from wtforms import SelectChoice

from core.identity.models import UserAccount
from core.kernel import clock
from core.kernel.errors import NotFound
from core.persons.models import PersonKind
from core.representation import access, representatives
from core.representation import mail as representation_mail
from core.representation.models import Permission, Representative, RepresentativeRole
from portal.database import db, writes
from portal.form_fields import ConfirmForm
from portal.identity.auth import citizen_required
from portal.identity.redirects import safe_target
from portal.municipal import bp
from portal.representation import acting, company_login  # noqa: F401 - registers MUK log-in
from portal.representation.forms import ROLE_HINTS, InviteForm, RoleForm, SwitchForm
from portal.representation.invitation_page import Invitations, Offer, invitation_page
from portal.requests import carry_out

bp.before_request(acting.guard)
bp.teardown_request(acting.end_of_request)


@bp.app_context_processor
def _switcher() -> dict[str, object]:
    return {
        "acting_switcher": acting.switcher,
        "switch_form": SwitchForm,
        "acts_for_business": acting.acts_for_business,
    }


@bp.post("/handeln-fuer")
@citizen_required
def switch_acting() -> Response:
    form = SwitchForm()
    choices = access.actable(db(), g.municipality.id, current_user.id, clock.today())
    form.person.choices = [SelectChoice(str(a.person.id), a.person.display_name) for a in choices]
    if not form.validate_on_submit():
        abort(403, description="Für diese Person oder dieses Unternehmen dürfen Sie nicht handeln.")
    chosen = next(a for a in choices if str(a.person.id) == form.person.data)
    acting.act_for(chosen)
    flash(f"Sie handeln jetzt für {chosen.person.display_name}.", "success")
    return redirect(safe_target(form.next.data, url_for("portal.account")))


def _organisation_authority() -> access.Authority:
    authority = acting.require(Permission.VIEW)
    if authority.person.kind is not PersonKind.BUSINESS:
        abort(
            403,
            description="Vertreter gibt es nur für Unternehmen. Wählen Sie oben unter "
            "„Handeln für“ das Unternehmen.",
        )
    return authority


@bp.get("/vertreter")
@writes  # the organisation's own log-in is recorded as its first admin on first view
@citizen_required
def representatives_page() -> str:
    authority = _organisation_authority()
    session = db()
    representatives.ensure_owner(session, authority.person, now=clock.now())
    session.commit()
    return _render(authority, InviteForm())


def _render(authority: access.Authority, form: InviteForm) -> str:
    reps = representatives.current(db(), authority.person)
    accounts = {
        a.id: a
        for a in db()
        .query(UserAccount)
        .filter(UserAccount.id.in_([r.user_id for r in reps if r.user_id]))
    }
    return render_template(
        "portal/representation/representatives.html",
        organisation=authority.person,
        authority=authority,
        representatives=reps,
        accounts=accounts,
        form=form,
        confirm=ConfirmForm(),
        roles=list(RepresentativeRole),
        role_hints=ROLE_HINTS,
        can_manage=authority.allows(Permission.MANAGE),
    )


def invitation_url(token: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("portal.representative_invitation", token=token)


@bp.post("/vertreter/einladen")
@citizen_required
def invite_representative() -> str | Response:
    authority = _organisation_authority()
    acting.require(Permission.MANAGE)
    form = InviteForm()
    if not form.validate_on_submit():
        return _render(authority, form)
    session = db()

    def invite() -> Representative:
        rep = representatives.invite(
            session,
            authority.person,
            email=form.email.data or "",
            role=RepresentativeRole(form.role.data),
            actor=current_user.actor,
            now=clock.now(),
        )
        token = representatives.invitation_token(
            current_app.config["SECRET_KEY"], rep, issued_at=clock.now()
        )
        representation_mail.send_representative_invitation(
            session, g.municipality, rep, invitation_url(token)
        )
        return rep

    if not carry_out(invite, form=form, field="email").ok:
        return _render(authority, form)
    flash("Die Einladung wurde per E-Mail verschickt.", "success")
    return redirect(url_for("portal.representatives_page"))


@bp.post("/vertreter/<int:rep_id>/entfernen")
@citizen_required
def remove_representative(rep_id: int) -> Response:
    authority = _organisation_authority()
    acting.require(Permission.MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    session = db()
    try:
        rep = representatives.get(session, authority.person, rep_id)
    except NotFound:
        abort(404)
    done = carry_out(
        lambda: representatives.remove(session, rep, actor=current_user.actor, now=clock.now())
    )
    if done.ok:
        flash("Der Zugang wurde entfernt.", "success")
        if rep.user_id == current_user.id:  # removed oneself: the organisation is gone from view
            return redirect(url_for("portal.account"))
    return redirect(url_for("portal.representatives_page"))


REPRESENTATIVES = Invitations(
    find=lambda session, secret, token, now: representatives.invitation_for(
        session, secret, token, now=now
    ),
    offer=lambda rep: Offer(
        municipality_id=rep.municipality_id,
        principal_id=rep.organisation_id,
        what=f"Vertreter von {rep.organisation.display_name} (Rolle: {rep.role.label})",
        invited_email=rep.email,
    ),
    accept=lambda session, secret, token, account, now: representatives.accept(
        session, secret, token, account, now=now
    ),
    told=lambda rep, _acting_now: f"Sie handeln jetzt für {rep.organisation.display_name}.",
    then=lambda: url_for("portal.account"),
)


@bp.route("/einladung/vertreter/<token>", methods=["GET", "POST"])
def representative_invitation(token: str) -> str | Response:
    """Shown to anyone with the link; accepted only by the logged-in owner of the address."""
    return invitation_page(REPRESENTATIVES, token)


@bp.post("/vertreter/<int:rep_id>/rolle")
@citizen_required
def change_representative_role(rep_id: int) -> Response:
    authority = _organisation_authority()
    acting.require(Permission.MANAGE)
    form = RoleForm()
    if not form.validate_on_submit():
        abort(400)
    session = db()
    try:
        rep = representatives.get(session, authority.person, rep_id)
    except NotFound:
        abort(404)
    role = RepresentativeRole(form.role.data)
    done = carry_out(
        lambda: representatives.change_role(session, rep, role, actor=current_user.actor)
    )
    if done.ok:
        flash(f"Die Rolle ist jetzt „{role.label}“.", "success")
    return redirect(url_for("portal.representatives_page"))
