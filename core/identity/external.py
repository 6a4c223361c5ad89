"""External identities: log-in through an identity provider (BundID, Mein Unternehmenskonto).

An external identity is the pair (issuer, subject) a provider vouches for, with the trust level
(Vertrauensniveau) of the log-in and the kind of protocol (OIDC or SAML). The subject is
a pseudonym (BundID: bPK2): OpenKasse keeps it, the trust level of each log-in (audit trail) and
the name it needs to address the citizen — nothing else (data minimisation).

Providers are configuration as data, per municipality (:class:`IdentityProvider`); which level a
service needs is data too (:class:`ServiceTrustLevel`, defaults in :data:`DEFAULT_LEVELS`).

Linking is never by e-mail: an external identity joins an existing account only through
:func:`link`, which the web layer calls after the user proved both (password session, then the
provider's round trip).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, false, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.identity.models import Role, UserAccount
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime, enum_column
from core.kernel.errors import AccessDenied, ValidationError


class TrustLevel(enum.StrEnum):
    """eIDAS levels as BundID names them (STORK-QAA-Level-1 / 3 / 4)."""

    BASIS = "basis"  # Basisregistrierung: user name + password
    SUBSTANZIELL = "substanziell"  # ELSTER certificate, some EU eIDs
    HOCH = "hoch"  # Online-Ausweis, eAT, Unionsbürgerkarte

    @property
    def rank(self) -> int:
        return _RANKS[self]

    @property
    def label(self) -> str:
        return _LABELS[self]


_RANKS = {TrustLevel.BASIS: 1, TrustLevel.SUBSTANZIELL: 2, TrustLevel.HOCH: 3}
_LABELS = {
    TrustLevel.BASIS: "Basisregistrierung",
    TrustLevel.SUBSTANZIELL: "substanziell",
    TrustLevel.HOCH: "hoch",
}


def meets(level: TrustLevel | None, required: TrustLevel | None) -> bool:
    """Does a log-in at ``level`` (None: e-mail and password) satisfy ``required``?"""
    if required is None:
        return True
    return level is not None and level.rank >= required.rank


class ProviderKind(enum.StrEnum):
    OIDC = "oidc"
    SAML = "saml"  # BundID's own protocol (portal/identity/saml.py, core/identity/saml.py)


class IdentityProvider(Base):
    """One provider as one municipality's portal uses it (its own client registration)."""

    __tablename__ = "identity_provider"
    __table_args__ = (UniqueConstraint("municipality_id", "slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="RESTRICT"))
    slug: Mapped[str] = mapped_column(String(40))  # in the URL: /<muni>/anmelden/<slug>
    label: Mapped[str] = mapped_column(String(80))  # "BundID" → "Mit BundID anmelden"
    kind: Mapped[ProviderKind] = mapped_column(enum_column(ProviderKind, "provider_kind", 10))
    issuer: Mapped[str] = mapped_column(String(400))  # the ID token's "iss" / the IdP's entity id
    # OIDC: the discovery document; SAML: the IdP's metadata
    discovery_url: Mapped[str] = mapped_column(String(400))
    client_id: Mapped[str] = mapped_column(String(200))  # SAML: our entity id (empty: metadata URL)
    # The registration's secret; a deployment may keep it empty here and give it in the
    # app's configuration instead (OIDC_CLIENT_SECRETS = {slug: secret}, portal/identity/oidc.py).
    client_secret: Mapped[str] = mapped_column(String(400), default="")
    scopes: Mapped[str] = mapped_column(String(200), default="openid")
    level_claim: Mapped[str] = mapped_column(String(120), default="acr")
    # claim value → TrustLevel value: exactly the levels this provider can assert
    level_values: Mapped[dict[str, str]] = mapped_column(JSON)
    is_active: Mapped[bool] = mapped_column(default=True)
    # Mein Unternehmenskonto (MUK): its log-ins speak for an organisation, named by the claim
    # ``org_claim`` (core/representation/company_account.py, README "Unternehmenskonto").
    company_account: Mapped[bool] = mapped_column(default=False, server_default=false())
    org_claim: Mapped[str] = mapped_column(String(120), default="", server_default="")

    def assertable_levels(self) -> list[TrustLevel]:
        return sorted({TrustLevel(v) for v in self.level_values.values()}, key=lambda t: t.rank)

    def claim_value_for(self, level: TrustLevel) -> str | None:
        """The value to ask for (``acr_values``) to get at least ``level``: the lowest
        assertable level that meets it."""
        for value, name in sorted(self.level_values.items(), key=lambda i: TrustLevel(i[1]).rank):
            if meets(TrustLevel(name), level):
                return value
        return None

    def level_of(self, claims: dict[str, Any]) -> TrustLevel:
        """The trust level a log-in's claims assert; an unknown value is refused."""
        value = claims.get(self.level_claim)
        if isinstance(value, str) and value in self.level_values:
            return TrustLevel(self.level_values[value])
        raise ValidationError(
            f"Die Anmeldung bei {self.label} nannte kein bekanntes Vertrauensniveau. "
            "Bitte versuchen Sie es erneut oder wenden Sie sich an die Verwaltung."
        )


class ExternalIdentity(Base):
    """(issuer, subject) of one provider, belonging to one account."""

    __tablename__ = "external_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    kind: Mapped[ProviderKind] = mapped_column(enum_column(ProviderKind, "provider_kind", 10))
    issuer: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(255))  # a pseudonym (BundID: bPK2)
    trust_level: Mapped[TrustLevel] = mapped_column(enum_column(TrustLevel, "trust_level", 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LoginPurpose(enum.StrEnum):
    LOGIN = "login"
    REGISTER = "register"  # first log-in: a new account
    LINK = "link"
    STEP_UP = "step_up"


class ExternalLogin(Base):
    """Audit trail: one row per successful provider log-in. No tokens, no personal data."""

    __tablename__ = "external_login"

    id: Mapped[int] = mapped_column(primary_key=True)
    identity_id: Mapped[int] = mapped_column(ForeignKey("external_identity.id", ondelete="CASCADE"))
    provider_id: Mapped[int] = mapped_column(ForeignKey("identity_provider.id"))
    issuer: Mapped[str] = mapped_column(String(400))
    subject: Mapped[str] = mapped_column(String(255))
    trust_level: Mapped[TrustLevel] = mapped_column(enum_column(TrustLevel, "trust_level", 20))
    purpose: Mapped[LoginPurpose] = mapped_column(enum_column(LoginPurpose, "login_purpose", 20))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


class Service(enum.StrEnum):
    """Online services whose trust level is configurable."""

    SEPA_MANDATE = "sepa_mandate"
    BANK_ACCOUNT_CHANGE = "bank_account_change"
    METER_READING = "meter_reading"


# Without a row of the municipality's own: a mandate or a new bank account moves money.
DEFAULT_LEVELS: dict[Service, TrustLevel | None] = {
    Service.SEPA_MANDATE: TrustLevel.SUBSTANZIELL,
    Service.BANK_ACCOUNT_CHANGE: TrustLevel.SUBSTANZIELL,
    Service.METER_READING: None,
}


class ServiceTrustLevel(Base):
    """The trust level one municipality asks for one service (None: any log-in)."""

    __tablename__ = "service_trust_level"
    __table_args__ = (UniqueConstraint("municipality_id", "service"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    municipality_id: Mapped[int] = mapped_column(ForeignKey("municipality.id", ondelete="CASCADE"))
    service: Mapped[Service] = mapped_column(enum_column(Service, "trust_service", 40))
    min_level: Mapped[TrustLevel | None] = mapped_column(enum_column(TrustLevel, "trust_level", 20))


def required_level(session: Session, municipality_id: int, service: Service) -> TrustLevel | None:
    """What ``service`` needs in this municipality; nothing is asked where no provider is set
    up (an e-mail log-in is all the portal can offer there)."""
    if not providers_of(session, municipality_id):
        return None
    row = session.scalars(
        select(ServiceTrustLevel).where(
            ServiceTrustLevel.municipality_id == municipality_id,
            ServiceTrustLevel.service == service,
        )
    ).first()
    return row.min_level if row is not None else DEFAULT_LEVELS[service]


def providers_of(session: Session, municipality_id: int) -> list[IdentityProvider]:
    return list(
        session.scalars(
            select(IdentityProvider)
            .where(
                IdentityProvider.municipality_id == municipality_id,
                IdentityProvider.is_active.is_(True),
            )
            .order_by(IdentityProvider.id)
        )
    )


def provider_by_slug(session: Session, municipality_id: int, slug: str) -> IdentityProvider | None:
    return next((p for p in providers_of(session, municipality_id) if p.slug == slug), None)


def find_identity(session: Session, issuer: str, subject: str) -> ExternalIdentity | None:
    return session.scalars(
        select(ExternalIdentity).where(
            ExternalIdentity.issuer == issuer, ExternalIdentity.subject == subject
        )
    ).first()


def identities_of(session: Session, account_id: int) -> list[ExternalIdentity]:
    return list(
        session.scalars(
            select(ExternalIdentity)
            .where(ExternalIdentity.account_id == account_id)
            .order_by(ExternalIdentity.id)
        )
    )


@dataclass(frozen=True)
class Verified:
    """What a provider vouched for in one log-in (its ID token checked by the adapter)."""

    provider: IdentityProvider
    subject: str
    level: TrustLevel
    given_name: str = ""
    family_name: str = ""
    organisation: str = ""  # a company account's organisation identifier (its org claim)

    @property
    def display_name(self) -> str:
        name = f"{self.given_name} {self.family_name}".strip()
        return name[:120] or f"{self.provider.label}-Konto"


@dataclass(frozen=True)
class SignIn:
    account: UserAccount
    identity: ExternalIdentity
    created: bool
    taken_over: dict[str, str]  # what a first log-in stored, to show the citizen


NOT_ACTIVE = "Dieses Konto ist gesperrt. Bitte wenden Sie sich an die Verwaltung."


def sign_in(session: Session, verified: Verified) -> SignIn:
    """The account of (issuer, subject); a first log-in creates one with only the name."""
    identity = find_identity(session, verified.provider.issuer, verified.subject)
    taken_over: dict[str, str] = {}
    if identity is None:
        account = UserAccount(
            email=None,
            password_hash=None,
            display_name=verified.display_name,
            role=Role.CITIZEN,
            municipality_id=None,
        )
        session.add(account)
        session.flush()
        identity = _new_identity(session, account, verified)
        taken_over = {
            "Name": account.display_name,
            "Pseudonym": verified.subject,
            "Vertrauensniveau": verified.level.label,
        }
        purpose = LoginPurpose.REGISTER
    else:
        found = session.get(UserAccount, identity.account_id)
        if found is None or not found.is_active:
            raise AccessDenied(NOT_ACTIVE)
        account = found
        purpose = LoginPurpose.LOGIN
    if account.role is not Role.CITIZEN:
        raise AccessDenied("Mitarbeitende melden sich in der Sachbearbeitung an.")
    _record(session, identity, verified, purpose)
    account.last_login_at = clock.now()
    return SignIn(
        account, identity, created=purpose is LoginPurpose.REGISTER, taken_over=taken_over
    )


def link(session: Session, account: UserAccount, verified: Verified) -> ExternalIdentity:
    """Link ``verified`` to ``account``: the caller proved both (password session + round trip).
    An identity that already belongs to another account is never moved."""
    identity = find_identity(session, verified.provider.issuer, verified.subject)
    if identity is not None and identity.account_id != account.id:
        raise AccessDenied(
            f"Dieses {verified.provider.label}-Konto ist bereits mit einem anderen "
            "Kundenkonto verbunden. Bitte melden Sie sich damit an oder wenden Sie sich an "
            "die Verwaltung."
        )
    if identity is None:
        identity = _new_identity(session, account, verified)
    _record(session, identity, verified, LoginPurpose.LINK)
    return identity


def step_up(session: Session, account_id: int, verified: Verified) -> ExternalIdentity:
    """A log-in again at a higher level: it must be the identity of the logged-in account."""
    identity = find_identity(session, verified.provider.issuer, verified.subject)
    if identity is None or identity.account_id != account_id:
        raise AccessDenied(
            f"Sie haben sich bei {verified.provider.label} mit einem anderen Konto angemeldet "
            "als dem, das mit Ihrem Kundenkonto verbunden ist."
        )
    _record(session, identity, verified, LoginPurpose.STEP_UP)
    return identity


def _new_identity(session: Session, account: UserAccount, verified: Verified) -> ExternalIdentity:
    identity = ExternalIdentity(
        account_id=account.id,
        kind=verified.provider.kind,
        issuer=verified.provider.issuer,
        subject=verified.subject,
        trust_level=verified.level,
    )
    session.add(identity)
    session.flush()
    return identity


def _record(
    session: Session, identity: ExternalIdentity, verified: Verified, purpose: LoginPurpose
) -> None:
    identity.trust_level = verified.level
    identity.last_login_at = clock.now()
    session.add(
        ExternalLogin(
            identity_id=identity.id,
            provider_id=verified.provider.id,
            issuer=identity.issuer,
            subject=identity.subject,
            trust_level=verified.level,
            purpose=purpose,
        )
    )
    session.flush()
