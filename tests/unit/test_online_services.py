"""The registry of online services: every service the portal offers, each code once, and a
service's default criteria are its own."""

import pytest

from core import services
from core.workflow.criteria import CriterionSpec
from core.workflow.pipeline import CarriedOut, OnlineService, Registry


def _nothing(*_args: object) -> CarriedOut:
    return CarriedOut()


def test_the_portal_offers_these_services() -> None:
    assert services.SERVICE_LABELS == {
        "dog_registration": "Hundeanmeldung",
        "dog_deregistration": "Hundeabmeldung",
        "dog_tag_lost": "Verlust der Hundemarke",
        "dog_tag_replacement": "Ersatzmarke",
        "bin_registration": "Anmeldung eines Abfallbehälters",
        "bin_change": "Änderung eines Abfallbehälters",
        "bin_swap": "Tausch eines beschädigten Abfallbehälters",
        "bin_deregistration": "Abmeldung eines Abfallbehälters",
        "address_change": "Änderung der Anschrift",
        "instalment_plan": "Stundung oder Ratenzahlung",
        # the office's own four-eyes step on the same review queue (no portal form)
        "trade_tax_assessment": "Gewerbesteuerbescheid (Freigabe)",
    }


def test_a_service_code_is_registered_once() -> None:
    service = OnlineService("dog_registration", "Hundeanmeldung", _nothing)
    with pytest.raises(ValueError, match="registered twice"):
        Registry(service, OnlineService("dog_registration", "Doppelt", _nothing))


def test_a_service_declares_only_its_own_criteria() -> None:
    with pytest.raises(ValueError, match="another service"):
        OnlineService(
            "bin_swap",
            "Tausch",
            _nothing,
            criteria=(CriterionSpec("bin_change", "backdated", "Änderung", 3),),
        )
