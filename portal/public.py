"""Pages outside any municipality: the chooser and the accessibility statement."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from core.tenancy import municipalities as tenancy
from portal.database import db
from portal.payments.provider import payment_provider

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


@bp.post("/zahlungsdienst/stripe")
def stripe_webhook() -> tuple[dict[str, str], int]:
    """Provider notifications: signature checked, each event acted on once (idempotent)."""
    from core.kernel import clock
    from core.payments.card import settlement
    from core.payments.card.provider import InvalidSignature, ProviderError

    session = db()
    try:
        outcome = settlement.handle_event(
            session,
            payment_provider(),
            request.get_data(),
            request.headers.get("Stripe-Signature", ""),
            as_of=clock.today(),
        )
    except InvalidSignature:
        session.rollback()
        return {"status": "invalid signature"}, 400
    except ProviderError:  # e.g. refunding a surplus failed: nothing kept, the provider retries
        session.rollback()
        return {"status": "retry later"}, 503
    session.commit()
    return {"status": outcome}, 200
