"""The municipal part of the portal: every URL starts with the municipality's slug.

``/<muni>/...`` loads the municipality once per request into ``g.municipality``; links built with
``url_for`` inside that context get the slug filled in automatically.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, g, render_template
from flask_login import current_user

from core.kernel.errors import NotFound
from portal.identity import sessions

bp = Blueprint("portal", __name__, url_prefix="/<muni>")


@bp.url_value_preprocessor
def _load_municipality(_endpoint: str | None, values: dict[str, Any] | None) -> None:
    slug = (values or {}).pop("muni", "")
    try:
        g.municipality = sessions.municipality_for_request(slug)
    except NotFound:
        abort(404)


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
