"""E-mailed account links: confirming the e-mail address and resetting a forgotten password.

A link is ``<account id>-<signed token>`` (kernel/tokens.py: HMAC-SHA256, issue time inside, age
checked against ``now``). The token's purpose also carries a fingerprint of the account's
current state, so that a link works only once and only for the state it was made for:

- confirming binds to the address and "not yet confirmed": once confirmed (or after the
  address changed) the link is dead;
- resetting binds to the current password hash: setting a password — through this very link
  or any other way — kills every reset link issued before.

Nothing is stored per link, and a link reveals nothing but the account id. Lifetimes: see
:data:`VERIFY_MAX_AGE` and :data:`RESET_MAX_AGE` (the portal may configure others).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from core.identity import models as identity
from core.identity.models import Role, UserAccount
from core.kernel import tokens
from core.kernel.errors import InvalidToken

# Long enough to read the mail the same day, short enough that an old mailbox is no key.
VERIFY_MAX_AGE = timedelta(hours=24)
# OWASP Forgot Password Cheat Sheet: reset tokens expire after a short period (here one hour).
RESET_MAX_AGE = timedelta(minutes=60)

INVALID = "Dieser Link ist ungültig oder wurde bereits verwendet. Bitte fordern Sie einen neuen an."


def _fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _verify_purpose(account: UserAccount) -> str:
    state = "verified" if account.email_verified else "unverified"
    return f"account-verify.{_fingerprint(account.email or '', state)}"


def _reset_purpose(account: UserAccount) -> str:
    return f"password-reset.{_fingerprint(account.email or '', account.password_hash or '')}"


def _make(secret: str, purpose: str, account: UserAccount, issued_at: datetime) -> str:
    return f"{account.id}-{tokens.make_token(secret, purpose, account.id, issued_at=issued_at)}"


def _account_of(session: Session, token: str) -> UserAccount:
    """The account a link names (not yet checked: the caller verifies the signed part)."""
    account_id, _, _signed = token.partition("-")
    if not account_id.isdigit() or len(account_id) > 12:
        raise InvalidToken(INVALID)
    account = session.get(UserAccount, int(account_id))
    if account is None or not account.is_active or account.role is not Role.CITIZEN:
        raise InvalidToken(INVALID)
    return account


def _read(
    secret: str, purpose: str, account: UserAccount, token: str, now: datetime, max_age: timedelta
) -> None:
    signed = token.partition("-")[2]
    try:
        subject = tokens.read_token(secret, purpose, signed, now=now, max_age=max_age)
    except InvalidToken as exc:
        raise InvalidToken(INVALID) from exc
    if subject != account.id:
        raise InvalidToken(INVALID)


# --------------------------------------------------------------------------- confirming


def verification_token(secret: str, account: UserAccount, *, issued_at: datetime) -> str:
    return _make(secret, _verify_purpose(account), account, issued_at)


def verify_email(
    session: Session,
    secret: str,
    token: str,
    *,
    now: datetime,
    max_age: timedelta = VERIFY_MAX_AGE,
) -> UserAccount:
    """Mark the account's address confirmed. Raises :class:`~core.kernel.errors.InvalidToken` for a
    forged, used or foreign link and :class:`~core.kernel.errors.ExpiredToken` for an old one."""
    account = _account_of(session, token)
    _read(secret, _verify_purpose(account), account, token, now, max_age)
    account.email_verified_at = now
    session.flush()
    return account


# --------------------------------------------------------------------------- resetting


def reset_token(secret: str, account: UserAccount, *, issued_at: datetime) -> str:
    return _make(secret, _reset_purpose(account), account, issued_at)


def account_for_reset(
    session: Session,
    secret: str,
    token: str,
    *,
    now: datetime,
    max_age: timedelta = RESET_MAX_AGE,
) -> UserAccount:
    """The account a reset link is good for, changing nothing (to show the form)."""
    account = _account_of(session, token)
    _read(secret, _reset_purpose(account), account, token, now, max_age)
    return account


def reset_password(
    session: Session,
    secret: str,
    token: str,
    new_password: str,
    *,
    now: datetime,
    max_age: timedelta = RESET_MAX_AGE,
    context: Iterable[str | None] = (),
) -> UserAccount:
    """Set a new password through a reset link; the link (and every other one issued before)
    stops working. The link came by e-mail, so the address counts as confirmed too."""
    account = account_for_reset(session, secret, token, now=now, max_age=max_age)
    identity.set_password(account, new_password, context=context)
    if account.email_verified_at is None:
        account.email_verified_at = now
    session.flush()
    return account
