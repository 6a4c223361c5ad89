"""Log-in sessions that end when they should — on the server, not only in the browser.

The session cookie is signed but lives in the browser, so a copy of it would work for as long as
its signature does. Three checks on every request make it end for real:

* **session version** — the cookie carries the account's ``session_version``; log-out and a new
  password raise it, and from then on every copy of an older cookie is refused;
* **idle timeout** — no request for longer than the idle time ends the session;
* **absolute lifetime** — a session ends a fixed time after log-in, however busy.

Times per kind of account are configuration (portal/config.py). The defaults follow OWASP ASVS
4.0.3 V3.3.2 (level 2: re-authenticate after 12 hours or 30 minutes of inactivity); clerks, who
see many citizens' data, get a working day (8 h) and 30 minutes idle.
"""

from __future__ import annotations

from hashlib import sha512

from flask import current_app, g, request, session
from flask_login import login_user, logout_user

from core.identity import models as identity
from core.identity.models import Role, UserAccount
from core.kernel import clock
from portal.database import db

LOGGED_IN_AT = "_ok_login_at"
SEEN_AT = "_ok_seen_at"
# Touch the "last seen" time at most this often, so the cookie is not rewritten on every request.
SEEN_RESOLUTION_SECONDS = 60


class LoginUser:
    """What Flask-Login keeps per request: ids and role, never an ORM object across requests."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, account: UserAccount) -> None:
        self.id = account.id
        self.role = account.role
        self.municipality_id = account.municipality_id
        self.display_name = account.display_name
        self.is_active = account.is_active
        self.session_version = account.session_version or 0

    def get_id(self) -> str:
        """The session's user id: account id and session version ("17.3")."""
        return f"{self.id}.{self.session_version}"

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.id}"

    @property
    def is_staff(self) -> bool:
        return self.role.is_staff


def _now() -> int:
    return int(clock.now().timestamp())


def limits_for(role: Role) -> tuple[int, int]:
    """(idle timeout, absolute lifetime) in seconds for an account of ``role``."""
    config = current_app.config
    if role.is_staff:
        return (
            int(config["BACKOFFICE_IDLE_MINUTES"]) * 60,
            int(config["BACKOFFICE_SESSION_HOURS"]) * 3600,
        )
    return int(config["PORTAL_IDLE_MINUTES"]) * 60, int(config["PORTAL_SESSION_HOURS"]) * 3600


def begin(account: UserAccount) -> None:
    """A fresh session for ``account`` (no fixation: nothing of the old session survives)."""
    session.clear()
    now = _now()
    session[LOGGED_IN_AT] = now
    session[SEEN_AT] = now
    login_user(LoginUser(account))


def end(user_id: int | None) -> None:
    """Log out: end this session and every other one of the account (copies included)."""
    if user_id is not None:
        account = db().get(UserAccount, user_id)
        if account is not None:
            identity.end_sessions(account)
            db().commit()
    logout_user()
    session.clear()


def load_user(user_id: str) -> LoginUser | None:
    """Flask-Login's user loader: the account, if this session is still valid."""
    account_id, _, version = user_id.partition(".")
    if not (account_id.isdigit() and version.isdigit()):
        return None  # a session from before session versions: log in again
    # Usually already in the identity map (portal.municipal loads it); held on g, so that
    # later lookups of the account in this request (db().get) need no statement either:
    # the identity map holds its objects only weakly.
    account = g.user_account = db().get(UserAccount, int(account_id))
    if account is None or not account.is_active or account.session_version != int(version):
        return None
    idle, lifetime = limits_for(account.role)
    now = _now()
    logged_in_at, seen_at = session.get(LOGGED_IN_AT), session.get(SEEN_AT)
    if not isinstance(logged_in_at, int) or not isinstance(seen_at, int):
        return None
    if now - seen_at > idle or now - logged_in_at > lifetime:
        g.session_expired = True
        session.clear()
        return None
    if now - seen_at >= SEEN_RESOLUTION_SECONDS:
        session[SEEN_AT] = now
    return LoginUser(account)


def session_identifier() -> str:
    """Flask-Login's "strong" session protection binds a session to address and browser. Its
    own version trusts ``X-Forwarded-For`` from anyone; this one uses ``remote_addr``, which
    reflects a proxy's header only where ProxyFix is configured (portal/app.py)."""
    agent = request.headers.get("User-Agent", "")
    return sha512(f"{request.remote_addr}|{agent}".encode()).hexdigest()
