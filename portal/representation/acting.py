"""Whose data a portal request sees: the one place that decides it.

The session may hold "acting for person X" (:data:`ACTING_FOR`, with the municipality). On every
request :func:`current_authority` asks core.representation.access whether the user may still act
for X *today*; if not — representative removed, power of attorney revoked or expired — the value
is cleared and the request falls back to the user's own person. Nothing but the person id is kept
in the session, so a removal takes effect on the next request.

A guard before every portal view (:func:`guard`) then refuses what the authority does not allow:
a write (any POST) needs the permission of its area (paying, mandates, everything else counts as
an application), and the citizen's own services (dog registration, the address wizard) are
refused while acting for a business. Audit rows written during the request name the person acted
for (core.kernel.audit.on_behalf_of).
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, request
from flask import session as flask_session
from flask_login import current_user

from core.kernel import audit, clock
from core.persons import models as persons
from core.persons.models import PersonKind
from core.representation import access
from core.representation.access import Authority
from core.representation.models import Permission
from portal.database import db

ACTING_FOR = "ok_acting_for"  # "<municipality id>:<person id>"

# The area of a view (its module) and the permission a write there needs; other writes: APPLY.
WRITE_PERMISSIONS = {
    "portal.payments.card": Permission.PAY,
    "portal.payments.sepa": Permission.MANDATE,
    "portal.instalments": Permission.PAY,
    "portal.dunning": Permission.PAY,
}
# Writes about the log-in itself or about acting, never about the person acted for.
NOT_FOR_THE_PERSON = ("portal.identity.", "portal.representation.")
# The citizen's own services: nothing a business registers or moves into.
CITIZEN_ONLY_MODULES = {"portal.dog_tax"}
CITIZEN_ONLY_ENDPOINTS = {"portal.change_address"}
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

REFUSED = {
    Permission.PAY: "Ihre Berechtigung für {name} erlaubt keine Zahlungen.",
    Permission.MANDATE: "Ihre Berechtigung für {name} erlaubt keine Lastschriftmandate.",
    Permission.APPLY: "Ihre Berechtigung für {name} erlaubt keine Anträge und Änderungen.",
    Permission.MANAGE: "Ihre Berechtigung für {name} erlaubt es nicht, Zugänge zu verwalten.",
    Permission.VIEW: "Sie dürfen die Daten von {name} nicht ansehen.",
}
BUSINESS_REFUSED = (
    "Dieser Dienst ist für Bürgerinnen und Bürger. Sie handeln gerade für das Unternehmen "
    "{name}; Änderungen der Anschrift eines Unternehmens teilen Sie bitte der Kasse mit."
)


def _citizen() -> bool:
    return bool(current_user.is_authenticated and not current_user.is_staff)


def _wanted_person_id() -> int | None:
    value = flask_session.get(ACTING_FOR)
    if not isinstance(value, str):
        return None
    municipality_id, _, person_id = value.partition(":")
    if municipality_id != str(g.municipality.id) or not person_id.isdigit():
        return None
    return int(person_id)


def _represents() -> bool:
    """False when this request's first statement (portal.municipal) read that the logged-in
    account has no accepted representation and no power of attorney: then nobody else is asked
    for. True when it did not read that for this account."""
    known = g.get("represents")
    return known is None or known[0] != current_user.id or known[1]


def _own_person_read() -> dict[str, persons.Person | None]:
    """``person=`` for access.own when this request's first statement (portal.municipal) read
    the logged-in account's own person here (None: it has none); else nothing."""
    known = g.get("own_person")
    return {"person": known[1]} if known is not None and known[0] == current_user.id else {}


def current_authority() -> Authority | None:
    """The user's authority for the person this request acts for (asked once per request)."""
    if "acting_authority" in g:
        return g.acting_authority
    found: Authority | None = None
    if _citizen() and getattr(g, "municipality", None) is not None:
        wanted = _wanted_person_id()
        if wanted is not None:
            found = access.authority(
                db(), g.municipality.id, current_user.id, wanted, clock.today()
            )
            if found is None or found.is_own:
                flask_session.pop(ACTING_FOR, None)
            if found is None:
                flash(
                    "Ihre Berechtigung, für diese Person oder dieses Unternehmen zu handeln, "
                    "besteht nicht mehr. Sie sehen wieder Ihr eigenes Konto.",
                    "warning",
                )
        if found is None:
            found = access.own(
                db(),
                g.municipality.id,
                current_user.id,
                represents=_represents(),
                **_own_person_read(),
            )
    g.acting_authority = found
    return found


def current_person() -> persons.Person | None:
    authority = current_authority()
    return authority.person if authority is not None else None


def act_for(authority: Authority) -> None:
    if authority.is_own:
        flask_session.pop(ACTING_FOR, None)
    else:
        flask_session[ACTING_FOR] = f"{g.municipality.id}:{authority.person.id}"
    g.acting_authority = authority
    g.pop("represents", None)  # read before this request's change: ask again from now on


def require(permission: Permission) -> Authority:
    """The current authority if it allows ``permission``, else a German 403 page."""
    authority = current_authority()
    if authority is None:
        abort(403)
    if not authority.allows(permission):
        abort(403, description=REFUSED[permission].format(name=authority.person.display_name))
    return authority


def _needed(module: str) -> Permission | None:
    if module.startswith(NOT_FOR_THE_PERSON):
        return None
    return WRITE_PERMISSIONS.get(module, Permission.APPLY)


def guard() -> None:
    """Before every portal view (registered on the municipal blueprint)."""
    audit.set_on_behalf_of(None)
    if not _citizen():
        return
    authority = current_authority()
    if authority is None:
        return
    if not authority.is_own:
        audit.set_on_behalf_of(f"person:{authority.person.id}")
    view = current_app.view_functions.get(request.endpoint or "")
    module = getattr(view, "__module__", "") or ""
    name = authority.person.display_name
    if authority.person.kind is PersonKind.BUSINESS and (
        module in CITIZEN_ONLY_MODULES or request.endpoint in CITIZEN_ONLY_ENDPOINTS
    ):
        abort(403, description=BUSINESS_REFUSED.format(name=name))
    if request.method in SAFE_METHODS:
        return
    needed = _needed(module)
    if needed is not None and not authority.allows(needed):
        abort(403, description=REFUSED[needed].format(name=name))


def end_of_request(_exc: BaseException | None = None) -> None:
    audit.set_on_behalf_of(None)


def acts_for_business() -> bool:
    """Does this request act for a business? (The header then says "Unternehmenskonto".)"""
    if not _citizen() or getattr(g, "municipality", None) is None:
        return False
    authority = current_authority()
    return authority is not None and authority.person.kind is PersonKind.BUSINESS


def switcher() -> dict[str, object]:
    """What the header's "Handeln für …" shows: the choices and the current one."""
    if not _citizen() or getattr(g, "municipality", None) is None:
        return {"choices": []}
    current = current_authority()
    choices = access.actable(
        db(),
        g.municipality.id,
        current_user.id,
        clock.today(),
        known_own=current,
        represents=_represents(),
    )
    return {"choices": choices, "current": current}
