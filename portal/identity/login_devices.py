"""Known devices: a browser that has logged in to an account before keeps a signed cookie.

The per-account throttle counts failed log-ins from anywhere, so an attacker guessing at a
citizen's e-mail would otherwise also keep the citizen out. A browser with this cookie for that
account is counted on its own instead (OWASP "device cookies" against lock-out): the attacker's
guesses elsewhere do not lock it out, and guesses from it are still limited. The cookie holds a
random device id and a keyed hash of the e-mail, no e-mail and no session; it gives no access.
"""

from __future__ import annotations

import secrets
from typing import Any

from flask import Response, after_this_request, current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

COOKIE = "ok_login_device"
DAYS = 180  # a device is forgotten half a year after its last log-in
_SALT = "openkasse.login-device"


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(str(current_app.config["SECRET_KEY"]), salt=_SALT)


def remember(account_hash: str) -> None:
    """After a successful log-in: this browser is a known device of the account."""
    value = _serializer().dumps({"a": account_hash, "d": secrets.token_urlsafe(16)})

    @after_this_request
    def _set_cookie(response: Response) -> Response:
        response.set_cookie(
            COOKIE,
            value,
            max_age=DAYS * 86400,
            httponly=True,
            secure=bool(current_app.config.get("SESSION_COOKIE_SECURE", False)),
            samesite="Lax",
        )
        return response


def _read() -> dict[str, Any] | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        data = _serializer().loads(raw, max_age=DAYS * 86400)
    except BadData:
        return None
    return data if isinstance(data, dict) and {"a", "d"} <= data.keys() else None


def device_of(account_hash: str) -> str | None:
    """This browser's device id if it is a known device of the account, else None."""
    data = _read()
    return str(data["d"]) if data is not None and data["a"] == account_hash else None
