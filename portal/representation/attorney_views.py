"""Powers of attorney in the portal ("Vollmachten"): the ones the current person gave and the
ones the log-in received, granting one online (the agent accepts by e-mailed link), revoking."""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from core.kernel import clock
from core.kernel.errors import NotFound
from core.representation import attorney
from core.representation import mail as representation_mail
from core.representation.models import Permission, PowerOfAttorney, Scope
from portal.database import db
from portal.form_fields import ConfirmForm
from portal.identity.auth import citizen_required
from portal.municipal import bp
from portal.representation import acting
from portal.representation.forms import AttorneyForm
from portal.representation.invitation_page import Invitations, Offer, invitation_page
from portal.requests import carry_out


def _render(form: AttorneyForm) -> str:
    authority = acting.current_authority()
    session = db()
    can_grant = authority is not None and authority.allows(Permission.MANAGE)
    return render_template(
        "portal/representation/attorneys.html",
        authority=authority,
        given=attorney.given_by(session, authority.person) if can_grant and authority else [],
        received=attorney.received_by(session, g.municipality.id, current_user.id),
        can_grant=can_grant,
        form=form,
        confirm=ConfirmForm(),
        as_of=clock.today(),
    )


@bp.get("/vollmachten")
@citizen_required
def attorneys_page() -> str:
    form = AttorneyForm()
    form.valid_from.data = clock.today()
    return _render(form)


def invitation_url(token: str) -> str:
    base = current_app.config["PUBLIC_BASE_URL"].rstrip("/")
    return base + url_for("portal.attorney_invitation", token=token)


@bp.post("/vollmachten/erteilen")
@citizen_required
def grant_attorney() -> str | Response:
    authority = acting.require(Permission.MANAGE)
    form = AttorneyForm()
    if not form.validate_on_submit():
        return _render(form)
    session = db()

    def grant() -> PowerOfAttorney:
        power = attorney.grant(
            session,
            authority.person,
            agent_email=form.agent_email.data or "",
            scope=Scope(form.scope.data),
            valid_from=form.valid_from.data or clock.today(),
            valid_until=form.valid_until.data,
            actor=current_user.actor,
            online=True,
            as_of=clock.today(),
        )
        token = attorney.invitation_token(
            current_app.config["SECRET_KEY"], power, issued_at=clock.now()
        )
        representation_mail.send_attorney_invitation(
            session, g.municipality, power, invitation_url(token)
        )
        return power

    if not carry_out(grant, form=form).ok:
        return _render(form)
    flash("Die Vollmacht wurde erteilt. Die bevollmächtigte Person erhält eine E-Mail.", "success")
    return redirect(url_for("portal.attorneys_page"))


@bp.post("/vollmachten/<int:power_id>/widerrufen")
@citizen_required
def revoke_attorney(power_id: int) -> Response:
    """The principal (with MANAGE) revokes; the agent may give a received one back."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    authority = acting.current_authority()
    principal = (
        authority.person if authority is not None and authority.allows(Permission.MANAGE) else None
    )
    session = db()
    try:
        power = attorney.get_for(
            session, power_id, principal=principal, agent_user_id=current_user.id
        )
    except NotFound:
        abort(404)
    done = carry_out(
        lambda: attorney.revoke(session, power, actor=current_user.actor, now=clock.now())
    )
    if done.ok:
        flash("Die Vollmacht wurde widerrufen.", "success")
    return redirect(url_for("portal.attorneys_page"))


def _attorney_offer(power: PowerOfAttorney) -> Offer:
    until = f" bis {power.valid_until:%d.%m.%Y}" if power.valid_until else ""
    return Offer(
        municipality_id=power.municipality_id,
        principal_id=power.principal_id,
        what=(
            f"Vollmacht von {power.principal.display_name} (Umfang: {power.scope.label}, ab "
            f"{power.valid_from:%d.%m.%Y}{until})"
        ),
        invited_email=power.agent_email,
    )


POWERS = Invitations(
    find=lambda session, secret, token, now: attorney.invitation_for(
        session, secret, token, now=now
    ),
    offer=_attorney_offer,
    accept=lambda session, secret, token, account, now: attorney.accept(
        session, secret, token, account, now=now
    ),
    told=lambda power, acting_now: (
        f"Sie handeln jetzt für {power.principal.display_name}."
        if acting_now
        else "Die Vollmacht wurde angenommen; sie gilt ab ihrem Beginn."
    ),
    then=lambda: url_for("portal.attorneys_page"),
)


@bp.route("/einladung/vollmacht/<token>", methods=["GET", "POST"])
def attorney_invitation(token: str) -> str | Response:
    return invitation_page(POWERS, token)
