"""Throttling of the account e-mails: registration, "Passwort vergessen" and "Link noch einmal
senden" (auth.py, account_recovery.py), against flooding someone's inbox and
against spraying requests from one machine. Same limiter and database storage as the log-in
(portal/identity/throttle.py); two moving windows, shared by the three forms:

* per recipient (``ACCOUNT_MAIL_LIMIT_PER_RECIPIENT``, default "3 per hour"): each accepted
  request for an address counts, whether or not the address has an account. When the window
  is full nothing is sent, but the answer is the very same "Wir haben Ihnen eine E-Mail
  geschickt" — the page tells nobody whether a mail went out, or whether the address exists;
* per client address (``ACCOUNT_MAIL_LIMIT_PER_ADDRESS``, default "20 per hour"): each accepted
  request counts; while the window is full the forms answer 429 with a German message saying
  when to try again (this says nothing about any e-mail address).

Keys are keyed hashes (HMAC with the secret key): no e-mail or IP address is stored. Nothing is
locked for good: each request stops counting an hour later.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, render_template
from flask_limiter import RequestLimit
from limits import parse

from core.identity.models import normalize_email
from portal import database
from portal.identity.throttle import _hashed, address_key, limiter, minutes_until

F = TypeVar("F", bound=Callable[..., Any])

LIMIT_KEYS = ("ACCOUNT_MAIL_LIMIT_PER_RECIPIENT", "ACCOUNT_MAIL_LIMIT_PER_ADDRESS")


def too_many_requests_message(minutes: int) -> str:
    unit = "einer Minute" if minutes == 1 else f"{minutes} Minuten"
    return (
        "Zu viele Anfragen von Ihrem Anschluss. Zum Schutz vor Missbrauch nehmen wir "
        f"vorübergehend keine weiteren an – bitte versuchen Sie es in {unit} erneut."
    )


def may_mail(email: str) -> bool:
    """Count one account e-mail to ``email`` (and one request of this client); False when the
    recipient's window is full: then send nothing and answer as if it had been sent.

    The count is kept in a transaction of its own; the request's transaction (which has only
    read so far) is ended first, so that on SQLite it does not hold the write lock meanwhile."""
    g.account_mail_requested = True
    database.rollback()
    item = parse(str(current_app.config["ACCOUNT_MAIL_LIMIT_PER_RECIPIENT"]))
    return bool(
        limiter.limiter.hit(
            item, "account-mail-recipient", _hashed("recipient", normalize_email(email))
        )
    )


def _counted(_response: Response) -> bool:
    return bool(g.get("account_mail_requested"))


def _refused(limit: RequestLimit) -> Response:
    minutes = minutes_until(limit.window.reset_time)
    page = render_template(
        "error.html", title="Zu viele Anfragen", text=too_many_requests_message(minutes), code=429
    )
    response = Response(page, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(minutes * 60)
    return response


_per_address = limiter.shared_limit(
    lambda: str(current_app.config["ACCOUNT_MAIL_LIMIT_PER_ADDRESS"]),
    scope="account-mail-address",
    key_func=address_key,
    methods=["POST"],
    deduct_when=_counted,
    on_breach=_refused,
)


def mail_throttled(view: F) -> F:
    """For a view that e-mails an account link: refused (429) while this client's window is
    full; the view asks :func:`may_mail` before it sends."""
    return cast(F, _per_address(view))


def init_app(app: Flask) -> None:
    """Call after :func:`portal.identity.throttle.init_app`. The limits are checked at start-up: a
    mistyped one stops the start, not a request."""
    for key in LIMIT_KEYS:
        value = str(app.config.get(key, ""))
        try:
            parse(value)
        except ValueError:
            raise RuntimeError(
                f"{key} must be a limit such as '3 per hour', not {value!r}."
            ) from None

    # Runs before the limiter's hook (registered later): the request's transaction (committed
    # by the view) is over before this client's request is counted in a transaction of its own.
    @app.after_request
    def _end_request_transaction(response: Response) -> Response:
        if g.get("account_mail_requested"):
            database.rollback()
        return response
