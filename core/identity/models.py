"""Log-in identities: citizens, businesses and municipal staff.

A ``UserAccount`` is the login (e-mail + password now, OIDC/BundID pseudonym later). It is global
to the deployment; what a citizen owns lives in ``Person`` rows, one per municipality. Staff
accounts belong to exactly one municipality and see nothing of another.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CheckConstraint, ForeignKey, String, event, func, inspect, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.identity import passwords
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import ValidationError


class Role(enum.StrEnum):
    CITIZEN = "citizen"
    CLERK = "clerk"  # Sachbearbeitung
    APPROVER = "approver"  # may give the second signature (Vier-Augen-Prinzip)
    ADMIN = "admin"

    @property
    def is_staff(self) -> bool:
        return self is not Role.CITIZEN


class UserAccount(Base):
    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(
            "(role = 'citizen') = (municipality_id IS NULL)", name="staff_has_municipality"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # stored lower-case; None for an account made by a first BundID log-in (external.py)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role", 20))
    municipality_id: Mapped[int | None] = mapped_column(
        ForeignKey("municipality.id", ondelete="RESTRICT")
    )
    display_name: Mapped[str] = mapped_column(String(120))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every log-in session's id: raising it ends all sessions of this account at once,
    # also copies of the session cookie (log-out, password change).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # None until the owner followed the link e-mailed at self-registration (core/account_tokens);
    # accounts made by staff, the CLI or the demo count as verified when created.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


def end_sessions(user: UserAccount) -> None:
    """End every log-in session of ``user`` (all devices, all copied cookies)."""
    user.session_version = (user.session_version or 0) + 1


@event.listens_for(UserAccount.password_hash, "set")
def _password_change_ends_sessions(
    user: UserAccount, value: str | None, old: object, _initiator: object
) -> None:
    """Whoever sets a new password (change, reset, rehash) ends the sessions opened before."""
    if inspect(user).persistent and value != old:
        end_sessions(user)


# Argon2id with the library's current defaults (RFC 9106 low-memory profile).
_hasher = PasswordHasher()
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH


def normalize_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    display_name: str,
    role: Role = Role.CITIZEN,
    municipality_id: int | None = None,
    verified: bool = True,
    context: Iterable[str | None] = (),
) -> UserAccount:
    """A new account; the password must pass :mod:`.passwords` (``context``: further words
    that are known about the person, e.g. the address or the municipality's name).

    ``verified=False`` for self-registration: the account can do nothing until its owner
    followed the e-mailed link (:func:`core.identity.account_tokens.verify_email`).
    """
    email = normalize_email(email)
    password = passwords.check(password, context=(email, display_name, *context))
    if find_by_email(session, email) is not None:
        raise ValidationError("Zu dieser E-Mail-Adresse gibt es bereits ein Konto.")
    user = UserAccount(
        email=email,
        password_hash=_hasher.hash(password),
        display_name=display_name,
        role=role,
        municipality_id=municipality_id,
        email_verified_at=clock.now() if verified else None,
    )
    session.add(user)
    session.flush()
    return user


def find_by_email(session: Session, email: str) -> UserAccount | None:
    return session.scalars(
        select(UserAccount).where(UserAccount.email == normalize_email(email))
    ).first()


def set_password(
    account: UserAccount, password: str, *, context: Iterable[str | None] = ()
) -> None:
    """Replace the password (after the rules of :mod:`.passwords`). A new hash also ends
    every password-reset link issued before (account_tokens.py binds them to the hash)."""
    password = passwords.check(password, context=(account.email, account.display_name, *context))
    account.password_hash = _hasher.hash(password)


def spend_hashing_time(password: str) -> None:
    """Hash once and throw it away: a request that takes another path (the e-mail is already
    registered) takes about as long as one that creates an account."""
    _hasher.hash(passwords.normalize(password))


# Verified against when the e-mail is unknown, so that timing does not reveal which accounts exist.
_DUMMY_HASH = _hasher.hash("openkasse-timing-equaliser")


def authenticate(session: Session, email: str, password: str) -> UserAccount | None:
    user = session.scalars(
        select(UserAccount).where(UserAccount.email == normalize_email(email))
    ).first()
    stored = user.password_hash if user and user.password_hash else _DUMMY_HASH
    normalized = passwords.normalize(password)
    # Hashes made before passwords were NFKC-normalised were made of the password as typed.
    if not _verify(stored, normalized) and (
        normalized == password or not _verify(stored, password)
    ):
        return None
    if user is None or not user.is_active or not user.password_hash:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(passwords.normalize(password))
    user.last_login_at = clock.now()
    return user


def _verify(stored: str, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


def count_users(session: Session) -> int:
    return session.scalar(select(func.count(UserAccount.id))) or 0
