"""Pages outside any municipality: the chooser and the accessibility statement."""

from __future__ import annotations

from flask import Blueprint, render_template

from core import tenancy
from portal.database import db

bp = Blueprint("public", __name__)


@bp.get("/")
def index() -> str:
    return render_template("public/index.html", municipalities=tenancy.all_municipalities(db()))


@bp.get("/barrierefreiheit")
def accessibility() -> str:
    return render_template("public/accessibility.html")


@bp.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}
