"""core.identity.saml without a web framework: what a checked assertion's attributes give (only
bPK2, level and name), the replay cache of assertion IDs, and the demo's provider rows."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.demo import bundid_saml
from core.identity import saml
from core.identity.external import TrustLevel
from core.identity.saml import SamlAssertionSeen
from core.identity.saml_keys import self_signed
from core.kernel import clock
from core.kernel.errors import ValidationError

ATTRIBUTES = {
    saml.BPK2: ["bpk2-abc"],
    saml.TRUST_LEVEL: ["STORK-QAA-Level-4"],
    saml.GIVEN_NAME: ["Max"],
    saml.FAMILY_NAME: ["Beispiel"],
    saml.EMAIL: ["max@example.org"],
    "urn:oid:1.2.40.0.10.2.1.1.55": ["1970-01-01"],  # birth date: sent, not taken over
}


@pytest.fixture
def provider(db: Session, make: Any) -> Any:
    row = bundid_saml.provider_row(make.municipality().id, "http://127.0.0.1:9")
    db.add(row)
    db.flush()
    return row


def test_verified_takes_subject_level_and_name_only(provider: Any) -> None:
    verified = saml.verified(provider, ATTRIBUTES)
    assert (verified.subject, verified.level) == ("bpk2-abc", TrustLevel.HOCH)
    assert verified.display_name == "Max Beispiel"
    assert not hasattr(verified, "email")


def test_without_bpk2_or_with_an_unknown_level_nothing_is_verified(provider: Any) -> None:
    with pytest.raises(ValidationError, match="kein Pseudonym"):
        saml.verified(provider, {**ATTRIBUTES, saml.BPK2: []})
    with pytest.raises(ValidationError, match="kein bekanntes Vertrauensniveau"):
        saml.verified(provider, {**ATTRIBUTES, saml.TRUST_LEVEL: ["STORK-QAA-Level-2"]})
    with pytest.raises(ValidationError, match="kein bekanntes Vertrauensniveau"):
        saml.verified(provider, {k: v for k, v in ATTRIBUTES.items() if k != saml.TRUST_LEVEL})


def test_an_assertion_id_is_accepted_once(db: Session) -> None:
    ends = clock.now() + timedelta(minutes=5)
    saml.remember(db, "https://idp.example", "_a1", ends)
    saml.remember(db, "https://other-idp.example", "_a1", ends)  # IDs are per issuer
    with pytest.raises(ValidationError, match="schon einmal verwendet"):
        saml.remember(db, "https://idp.example", "_a1", ends)
    with pytest.raises(ValidationError, match="schon einmal verwendet"):
        saml.remember(db, "https://idp.example", "", ends)  # no ID: cannot be told apart
    assert db.scalar(select(func.count(SamlAssertionSeen.id))) == 2


def test_expired_ids_are_dropped_on_the_way(db: Session) -> None:
    saml.remember(db, "https://idp.example", "_old", clock.now() + timedelta(minutes=5))
    with time_machine.travel(clock.now() + timedelta(hours=2), tick=False):
        saml.remember(db, "https://idp.example", "_new", None)
        kept = db.scalars(select(SamlAssertionSeen.assertion_id)).all()
    assert kept == ["_new"]


def test_demo_rows_once_per_municipality(db: Session, make: Any) -> None:
    make.municipality()
    added = bundid_saml.ensure_providers(db, "http://127.0.0.1:8422")
    assert added >= 1
    assert bundid_saml.ensure_providers(db, "http://127.0.0.1:8422") == 0


def test_self_signed_pair_is_made_once_and_private(tmp_path: Path) -> None:
    key, cert = self_signed(tmp_path, "sp", "Test")
    assert key.stat().st_mode & 0o777 == 0o600
    assert b"BEGIN CERTIFICATE" in cert.read_bytes()
    before = key.read_bytes()
    assert self_signed(tmp_path, "sp", "Test") == (key, cert)
    assert key.read_bytes() == before
