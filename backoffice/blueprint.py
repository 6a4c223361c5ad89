"""The back office's one blueprint (``/backoffice/``, endpoints ``backoffice.<view>``).

A leaf: it imports no back-office area. Each area module adds its routes to :data:`bp`;
:func:`backoffice.areas.register` imports them all and registers the blueprint on the app.
"""

from __future__ import annotations

from flask import Blueprint, g
from flask_login import current_user

from core.tenancy.municipalities import Municipality
from portal.database import db

bp = Blueprint("backoffice", __name__, url_prefix="/backoffice")


@bp.before_request
def _load_municipality() -> None:
    """A clerk works in the own municipality: ``g.municipality`` for every back-office view."""
    if current_user.is_authenticated and current_user.is_staff:
        g.municipality = db().get(Municipality, current_user.municipality_id)
