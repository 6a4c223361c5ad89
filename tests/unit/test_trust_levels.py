"""Trust levels without a database: order, what a provider's claims assert, what to ask for."""

from __future__ import annotations

import pytest

from core.identity.external import IdentityProvider, TrustLevel, meets
from core.kernel.errors import ValidationError

BUNDID = IdentityProvider(
    label="BundID",
    level_claim="acr",
    level_values={"STORK-QAA-Level-1": "basis", "STORK-QAA-Level-3": "substanziell"},
)


def test_levels_are_ordered_and_a_password_log_in_has_none() -> None:
    assert meets(TrustLevel.HOCH, TrustLevel.SUBSTANZIELL)
    assert meets(TrustLevel.SUBSTANZIELL, TrustLevel.SUBSTANZIELL)
    assert not meets(TrustLevel.BASIS, TrustLevel.SUBSTANZIELL)
    assert not meets(None, TrustLevel.BASIS)
    assert meets(None, None)


def test_the_level_comes_from_the_configured_claim_and_values() -> None:
    assert BUNDID.level_of({"acr": "STORK-QAA-Level-3"}) is TrustLevel.SUBSTANZIELL
    for claims in ({"acr": "STORK-QAA-Level-4"}, {"loa": "STORK-QAA-Level-3"}, {"acr": 3}, {}):
        with pytest.raises(ValidationError, match="kein bekanntes Vertrauensniveau"):
            BUNDID.level_of(claims)


def test_ask_for_the_lowest_value_that_is_enough() -> None:
    assert BUNDID.claim_value_for(TrustLevel.BASIS) == "STORK-QAA-Level-1"
    assert BUNDID.claim_value_for(TrustLevel.SUBSTANZIELL) == "STORK-QAA-Level-3"
    assert BUNDID.claim_value_for(TrustLevel.HOCH) is None  # this provider cannot assert it
    assert BUNDID.assertable_levels() == [TrustLevel.BASIS, TrustLevel.SUBSTANZIELL]
