"""Throttling of log-ins (Flask-Limiter, counts in our database: rate_limit_storage.py).

Only *failed* log-ins count, in two moving windows shared by the citizen and the staff log-in:

* per account (the e-mail typed, from any address) — slows guessing one password from many
  machines; a browser that logged in to that account before is counted on its own instead
  (portal/identity/login_devices.py), so an attacker's guesses do not keep the citizen out;
* per client address (across all e-mails) — slows password spraying from one machine.

While a window is full, even the right password is refused with a German message saying when
to try again. Nothing is locked for good: each failure stops counting when it leaves the window,
so a citizen can log in again at the latest one window after the attacker stopped. Limits are
configuration (``LOGIN_LIMIT_PER_ACCOUNT``, ``LOGIN_LIMIT_PER_ADDRESS``, portal/config.py).

Keys are keyed hashes (HMAC with the secret key): neither the database nor Flask-Limiter's log
lines hold an e-mail or IP address. An IPv6 client counts per /64 network (one connection gets a
whole /64 and could otherwise switch addresses at will).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, g, render_template, request
from flask_limiter import Limiter, RequestLimit

from core.identity.models import normalize_email
from core.kernel import clock
from portal import database
from portal.identity import login_devices
from portal.identity.forms import LoginForm
from portal.identity.rate_limit_storage import SCHEME

F = TypeVar("F", bound=Callable[..., Any])


def _hashed(kind: str, value: str) -> str:
    secret = str(current_app.config["SECRET_KEY"]).encode()
    digest = hmac.new(secret, f"{kind}|{value}".encode(), hashlib.sha256).hexdigest()
    return f"{kind}:{digest[:40]}"


def client_network() -> str:
    """The client's address (``remote_addr``: X-Forwarded-For only behind a configured proxy);
    IPv6 reduced to its /64."""
    address = request.remote_addr or ""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def address_key() -> str:
    return _hashed("address", client_network())


def account_key() -> str:
    return _hashed("account", normalize_email(request.form.get("email", "")))


def _database_sessions() -> Any:
    return current_app.extensions[database.EXTENSION]


limiter = Limiter(
    key_func=address_key,
    # DatabaseStorage takes a callable; Flask-Limiter's hint only knows strings and numbers.
    storage_options=cast(dict[str, str | int], {"sessions": _database_sessions}),
)


def record_failed_login() -> None:
    """Called by a log-in view when the e-mail or password was wrong: this attempt counts."""
    g.login_failed = True


def _failed(_response: Response) -> bool:
    return bool(g.get("login_failed"))


def minutes_until(reset_at: float) -> int:
    return max(1, math.ceil((reset_at - clock.now().timestamp()) / 60))


def too_many_attempts_message(minutes: int) -> str:
    unit = "einer Minute" if minutes == 1 else f"{minutes} Minuten"
    return (
        "Zu viele Anmeldeversuche. Zum Schutz Ihres Kontos ist die Anmeldung vorübergehend "
        f"gesperrt – bitte versuchen Sie es in {unit} erneut."
    )


def _login_refused(limit: RequestLimit) -> Response:
    """The log-in page again, with the typed e-mail kept and a German form error (429)."""
    minutes = minutes_until(limit.window.reset_time)  # (reset_at rounds up a second)
    form = LoginForm()
    form.form_errors.append(too_many_attempts_message(minutes))
    template = (
        "backoffice/identity/login.html"
        if request.blueprint == "backoffice"
        else "portal/identity/login.html"
    )
    response = Response(render_template(template, form=form), status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(minutes * 60)
    return response


def _known_device() -> bool:
    return login_devices.device_of(account_key()) is not None


def device_key() -> str:
    return _hashed("device", login_devices.device_of(account_key()) or "")


def remember_device(email: str) -> None:
    """After a successful log-in: this browser is counted on its own for this account."""
    login_devices.remember(_hashed("account", normalize_email(email)))


def _account_limit() -> str:
    return str(current_app.config["LOGIN_LIMIT_PER_ACCOUNT"])


_per_account = limiter.shared_limit(
    _account_limit,
    scope="login-account",
    key_func=account_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_login_refused,
    exempt_when=_known_device,
)
# The same numbers for a known device of the account, counted for that device alone.
_per_known_device = limiter.shared_limit(
    _account_limit,
    scope="login-device",
    key_func=device_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_login_refused,
    exempt_when=lambda: not _known_device(),
)
_per_address = limiter.shared_limit(
    lambda: str(current_app.config["LOGIN_LIMIT_PER_ADDRESS"]),
    scope="login-address",
    key_func=address_key,
    methods=["POST"],
    deduct_when=_failed,
    on_breach=_login_refused,
)


def _external_refused(limit: RequestLimit) -> Response:
    """Too many failed provider log-ins from this address: a German page (429)."""
    minutes = minutes_until(limit.window.reset_time)
    body = render_template(
        "portal/identity/too_many.html", message=too_many_attempts_message(minutes)
    )
    response = Response(body, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(minutes * 60)
    return response


# Provider round trips that failed (bad state, refused token) count per client address.
_external_per_address = limiter.shared_limit(
    lambda: str(current_app.config["LOGIN_LIMIT_PER_ADDRESS"]),
    scope="external-login-address",
    key_func=address_key,
    methods=["GET"],
    deduct_when=_failed,
    on_breach=_external_refused,
)


def external_login_throttled(view: F) -> F:
    """For the identity provider's return view (portal/identity/oidc.py)."""
    return cast(F, _external_per_address(view))


def login_throttled(view: F) -> F:
    """For a log-in view: refused while a window is full; call :func:`record_failed_login`."""
    return cast(F, _per_address(_per_known_device(_per_account(view))))


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", f"{SCHEME}://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    limiter.init_app(app)

    # Registered after the limiter's own hook, so it runs before it: the request's transaction
    # ends (nothing of a failed log-in is kept) before the failure is counted in a transaction
    # of its own — the count never hangs on, or is undone with, the request's work.
    @app.after_request
    def _end_request_transaction(response: Response) -> Response:
        if g.get("login_failed") and "db_session" in g:
            g.db_session.rollback()
        return response
