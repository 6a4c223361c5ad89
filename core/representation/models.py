"""The tables of representation.

``Representative``: a user account that acts for an organisation (a person of kind business),
with a role. It starts as an invitation to an e-mail address (``user_id`` empty) and becomes
active when the owner of that address accepts; removing it ends its access at once (every
request asks :mod:`core.representation.access`, nothing is kept in the session).

``PowerOfAttorney`` (Vollmacht): a principal person lets an agent account act for them, limited
in scope and time (``valid_until`` inclusive). It is recorded by a clerk or granted online; the
agent accepts with the e-mailed link. Revoked, or past its end date, it grants nothing.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.persons.models import Person


class Permission(enum.StrEnum):
    VIEW = "view"  # see claims, notices, payments
    PAY = "pay"  # pay claims online, instalments
    MANDATE = "mandate"  # grant and revoke SEPA mandates
    APPLY = "apply"  # submit applications and other requests
    MANAGE = "manage"  # add and remove representatives, grant powers of attorney


ALL_PERMISSIONS = frozenset(Permission)


class RepresentativeRole(enum.StrEnum):
    ADMIN = "admin"
    ACCOUNTING = "accounting"
    READ_ONLY = "read_only"

    @property
    def label(self) -> str:
        return _ROLE_LABELS[self]

    @property
    def permissions(self) -> frozenset[Permission]:
        return _ROLE_PERMISSIONS[self]


_ROLE_LABELS = {
    RepresentativeRole.ADMIN: "Verwaltung",
    RepresentativeRole.ACCOUNTING: "Buchhaltung",
    RepresentativeRole.READ_ONLY: "Nur lesen",
}
_ROLE_PERMISSIONS = {
    RepresentativeRole.ADMIN: ALL_PERMISSIONS,
    RepresentativeRole.ACCOUNTING: frozenset({Permission.VIEW, Permission.PAY, Permission.MANDATE}),
    RepresentativeRole.READ_ONLY: frozenset({Permission.VIEW}),
}


class Scope(enum.StrEnum):
    ALL = "all"
    VIEW = "view"
    PAYMENTS = "payments"

    @property
    def label(self) -> str:
        return _SCOPE_LABELS[self]

    @property
    def permissions(self) -> frozenset[Permission]:
        return _SCOPE_PERMISSIONS[self]


_SCOPE_LABELS = {Scope.ALL: "alle Dienste", Scope.VIEW: "nur ansehen", Scope.PAYMENTS: "Zahlungen"}
# A power of attorney never lets the agent hand on or manage access (no MANAGE).
_SCOPE_PERMISSIONS = {
    Scope.ALL: frozenset({Permission.VIEW, Permission.PAY, Permission.MANDATE, Permission.APPLY}),
    Scope.VIEW: frozenset({Permission.VIEW}),
    Scope.PAYMENTS: frozenset({Permission.VIEW, Permission.PAY, Permission.MANDATE}),
}


class Representative(Base):
    __tablename__ = "representative"
    __table_args__ = (
        Index("ix_representative_user", "user_id"),
        Index("ix_representative_organisation", "organisation_id"),
        CheckConstraint("accepted_at IS NULL OR user_id IS NOT NULL", name="accepted_has_user"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id", ondelete="RESTRICT"))
    email: Mapped[str] = mapped_column(String(254))  # invited address, lower-case
    role: Mapped[RepresentativeRole] = mapped_column(
        enum_column(RepresentativeRole, "representative_role", 20)
    )
    invited_by: Mapped[str] = mapped_column(String(60))
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    removed_by: Mapped[str | None] = mapped_column(String(60))

    organisation: Mapped[Person] = relationship()

    @property
    def is_active(self) -> bool:
        return self.accepted_at is not None and self.removed_at is None

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.removed_at is None


class PowerOfAttorney(Base):
    __tablename__ = "power_of_attorney"
    __table_args__ = (
        Index("ix_power_of_attorney_agent", "agent_user_id"),
        Index("ix_power_of_attorney_principal", "principal_id"),
        CheckConstraint("valid_until IS NULL OR valid_until >= valid_from", name="valid_range"),
        CheckConstraint("accepted_at IS NULL OR agent_user_id IS NOT NULL", name="accepted_agent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    principal_id: Mapped[int] = mapped_column(ForeignKey("person.id", ondelete="RESTRICT"))
    agent_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", ondelete="RESTRICT")
    )
    agent_email: Mapped[str] = mapped_column(String(254))
    scope: Mapped[Scope] = mapped_column(enum_column(Scope, "attorney_scope", 20))
    valid_from: Mapped[date]
    valid_until: Mapped[date | None]  # inclusive; None: until revoked
    granted_by: Mapped[str] = mapped_column(String(60))
    granted_online: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(60))

    principal: Mapped[Person] = relationship()

    def in_force(self, as_of: date) -> bool:
        return (
            self.accepted_at is not None
            and self.revoked_at is None
            and self.valid_from <= as_of
            and (self.valid_until is None or as_of <= self.valid_until)
        )

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
