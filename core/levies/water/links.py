"""Reading links: the signed token of a meter's reading card or e-mail, bound to its meter and
period, opens the reading form without log-in."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.kernel.tokens import make_token, read_token
from core.levies.water.models import Meter, get_meter

LINK_MAX_AGE = timedelta(days=400)


def link_purpose(period: int) -> str:
    return f"meter-reading-{period}"  # a card's link is bound to its meter and its period


def reading_token(secret: str, meter: Meter, period: int, *, issued_at: datetime) -> str:
    return make_token(secret, link_purpose(period), meter.id, issued_at=issued_at)


def meter_from_token(
    session: Session, secret: str, municipality_id: int, period: int, token: str, *, now: datetime
) -> Meter:
    meter_id = read_token(secret, link_purpose(period), token, now=now, max_age=LINK_MAX_AGE)
    return get_meter(session, municipality_id, meter_id)


def reading_url(public_base_url: str, municipality_slug: str, period: int, token: str) -> str:
    return f"{public_base_url.rstrip('/')}/{municipality_slug}/zaehlerstand/{period}/{token}"
