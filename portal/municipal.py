"""The municipal part of the portal: every URL starts with the municipality's slug.

``/<muni>/...`` loads the municipality once per request into ``g.municipality``; links built with
``url_for`` inside that context get the slug filled in automatically.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, render_template, session
from flask_login import current_user
from sqlalchemy import bindparam, exists, select

from core.identity.external import IdentityProvider
from core.identity.models import UserAccount
from core.kernel.errors import NotFound
from core.persons.models import Person
from core.representation.models import PowerOfAttorney, Representative
from core.tenancy.municipalities import Municipality
from portal.database import db

bp = Blueprint("portal", __name__, url_prefix="/<muni>")


@bp.url_value_preprocessor
def _load_municipality(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("muni", "")
    try:
        g.municipality = _municipality_for_request(slug)
    except NotFound:
        abort(404)


def _municipality_for_request(slug: str) -> Municipality:
    """The municipality of a ``/<muni>/`` request and, in the same statement, whether it has an
    active identity provider and the account the session names (if any) with its own person
    here, so that the user loader finds the account in the identity map and the authority
    (portal.representation.acting) the person: one round trip instead of four. Only a load:
    the loader (identity/sessions.py) still checks the account (active, session version, idle
    and absolute time) as on every request."""
    account_id = str(session.get("_user_id", "")).partition(".")[0]
    row: Any
    if not account_id.isdigit() or int(account_id) > MAX_ID:
        row = db().execute(_MUNICIPALITY, {"slug": slug}).first()
    else:
        row = db().execute(_MUNICIPALITY_AND_ACCOUNT, {"slug": slug, "id": int(account_id)}).first()
        if row is not None:
            g.user_account = row[2]  # held: the identity map keeps objects weakly
            g.represents = (int(account_id), bool(row[3]))  # see portal.representation.acting
            g.own_person = (int(account_id), row[4])  # the same
    if row is None:
        raise NotFound("Diese Kommune ist hier nicht bekannt.")
    g.has_identity_providers = bool(row[1])  # see portal.identity.oidc
    found: Municipality = row[0]
    return found


# Built once (every portal request asks): building a statement costs more than running it.
# Whether the municipality has an active identity provider: without one, the pages that offer
# them (identity_providers() in the templates) do not ask for the list.
_PROVIDERS = exists().where(
    IdentityProvider.municipality_id == Municipality.id,
    IdentityProvider.is_active.is_(True),
)
_MUNICIPALITY = select(Municipality, _PROVIDERS).where(Municipality.slug == bindparam("slug"))
# … and whether the account has any accepted representation or power of attorney (anywhere):
# without one, the questions who else it may act for are not sent (core.representation.access).
_REPRESENTS = exists().where(
    Representative.user_id == bindparam("id"),
    Representative.accepted_at.is_not(None),
    Representative.removed_at.is_(None),
) | exists().where(
    PowerOfAttorney.agent_user_id == bindparam("id"),
    PowerOfAttorney.accepted_at.is_not(None),
    PowerOfAttorney.revoked_at.is_(None),
)
# The account's own person here: at most one ((municipality_id, user_id) is unique).
_MUNICIPALITY_AND_ACCOUNT = (
    select(Municipality, _PROVIDERS, UserAccount, _REPRESENTS, Person)
    .select_from(Municipality)
    .outerjoin(UserAccount, UserAccount.id == bindparam("id"))
    .outerjoin(
        Person, (Person.municipality_id == Municipality.id) & (Person.user_id == UserAccount.id)
    )
    .where(Municipality.slug == bindparam("slug"))
)
MAX_ID = 2**31 - 1  # an INTEGER column: a larger id in a forged cookie would be a DataError


@bp.url_defaults
def _add_municipality(endpoint: str, values: dict[str, Any]) -> None:
    if "muni" not in values and getattr(g, "municipality", None) is not None:
        values["muni"] = g.municipality.slug


@bp.get("/")
def start() -> str:
    return render_template("portal/start.html", user=current_user)


@bp.get("/theme.css")
def theme() -> Response:
    """The municipality's colours as CSS custom properties (no inline styles: strict CSP)."""
    css = render_template("portal/theme.css", municipality=g.municipality)
    response = Response(css, mimetype="text/css")
    response.cache_control.max_age = 3600
    return response
