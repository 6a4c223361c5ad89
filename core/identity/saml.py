"""BundID's SAML 2.0 log-in, the parts without a web framework: the attributes BundID sends, the
trust level a log-in asks for (RequestedAuthnContext) and the replay cache of assertion IDs.

BundID names its attributes by OID (BundID "Schnittstellenbeschreibung", attribute list): the
bPK2 pseudonym is the subject, the trust level comes as STORK-QAA-Level-1/3/4. Of everything it
can send (address, birth date, e-mail, postbox handle) OpenKasse takes only the name it needs to
address the citizen — the same data minimisation as the OIDC path (core.identity.external).

A signed assertion can be posted again by whoever copied it; pysaml2 checks signature, audience,
validity and ``InResponseTo``, and :func:`remember` refuses an assertion ID seen before (kept in
the database until the assertion has expired, so every worker shares it).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import String, UniqueConstraint, delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from core.identity.external import IdentityProvider, ProviderKind, Verified
from core.kernel import clock
from core.kernel.db import Base, UTCDateTime
from core.kernel.errors import ValidationError

BPK2 = "urn:oid:1.3.6.1.4.1.25484.494450.3"
TRUST_LEVEL = "urn:oid:1.2.40.0.10.2.1.1.261.94"
GIVEN_NAME = "urn:oid:2.5.4.42"
FAMILY_NAME = "urn:oid:2.5.4.4"
EMAIL = "urn:oid:0.9.2342.19200300.100.1.3"  # sent by BundID, never taken over
LEVEL_VALUES = {
    "STORK-QAA-Level-1": "basis",
    "STORK-QAA-Level-3": "substanziell",
    "STORK-QAA-Level-4": "hoch",
}
# How long an assertion ID is kept when the assertion names no end of validity.
KEEP_WITHOUT_END = timedelta(hours=1)

NO_SUBJECT = (
    "Die Anmeldung bei {label} nannte kein Pseudonym (bPK2). Bitte versuchen Sie es erneut "
    "oder wenden Sie sich an die Verwaltung."
)
REPLAYED = "Diese Anmeldebestätigung wurde schon einmal verwendet. Bitte melden Sie sich erneut an."


def verified(provider: IdentityProvider, attributes: dict[str, list[str]]) -> Verified:
    """What a checked assertion vouches for: the bPK2, the trust level, the name — no more."""
    if provider.kind is not ProviderKind.SAML:
        raise ValueError("not a SAML provider")
    subject = _first(attributes, BPK2)
    if not subject:
        raise ValidationError(NO_SUBJECT.format(label=provider.label))
    level = provider.level_of({provider.level_claim: _first(attributes, provider.level_claim)})
    return Verified(
        provider=provider,
        subject=subject[:255],
        level=level,
        given_name=_first(attributes, GIVEN_NAME)[:60],
        family_name=_first(attributes, FAMILY_NAME)[:60],
    )


def _first(attributes: dict[str, list[str]], name: str) -> str:
    values = attributes.get(name) or []
    return str(values[0]).strip() if values and values[0] is not None else ""


class SamlAssertionSeen(Base):
    """An assertion ID that was accepted once: posting it again is a replay."""

    __tablename__ = "saml_assertion_seen"
    __table_args__ = (UniqueConstraint("issuer", "assertion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issuer: Mapped[str] = mapped_column(String(400))
    assertion_id: Mapped[str] = mapped_column(String(200))
    # kept until then: an expired assertion is refused by its validity anyway
    keep_until: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=clock.now)


def remember(
    session: Session, issuer: str, assertion_id: str, not_on_or_after: datetime | None
) -> None:
    """Record ``assertion_id`` of ``issuer`` as used; a second use raises ValidationError.

    The row is written in a savepoint, so a concurrent first use (another worker) fails on the
    unique constraint and is refused the same way. Expired rows are deleted on the way."""
    now = clock.now()
    session.execute(delete(SamlAssertionSeen).where(SamlAssertionSeen.keep_until < now))
    if not assertion_id:
        raise ValidationError(REPLAYED)  # an assertion without ID cannot be told apart
    keep_until = max(not_on_or_after or now + KEEP_WITHOUT_END, now + timedelta(minutes=5))
    try:
        with session.begin_nested():
            session.add(
                SamlAssertionSeen(
                    issuer=issuer[:400], assertion_id=assertion_id[:200], keep_until=keep_until
                )
            )
            session.flush()
    except IntegrityError as exc:
        raise ValidationError(REPLAYED) from exc
