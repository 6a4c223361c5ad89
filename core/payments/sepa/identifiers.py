"""SEPA identifiers checked and made: mandate references (EPC rulebook / DK "Mandatsreferenz"),
IBAN and BIC of the debtor's account."""

from __future__ import annotations

import re
from dataclasses import dataclass

from schwifty import IBAN
from schwifty.exceptions import (
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    SchwiftyException,
)

from core.kernel.errors import FieldErrors
from core.tenancy.municipalities import Municipality

_REFERENCE = re.compile(r"^[A-Za-z0-9+?/\-:().,']{1,35}$")


def is_valid_mandate_reference(text: str) -> bool:
    """Allowed characters and length (EPC rulebook / DK "Mandatsreferenz"); like every SEPA
    identifier it may neither start nor end with ``/`` nor contain ``//``."""
    return (
        bool(_REFERENCE.match(text or ""))
        and not text.startswith("/")
        and not text.endswith("/")
        and "//" not in text
    )


def make_mandate_reference(municipality: Municipality, serial: int) -> str:
    """``PPP-SEPA-NNNNNNN``: the municipality's Kassenzeichen prefix and a serial."""
    return f"{municipality.kassenzeichen_prefix}-SEPA-{serial:07d}"


# --------------------------------------------------------------------------- IBAN


@dataclass(frozen=True)
class BankAccount:
    iban: str  # compact, upper case
    bic: str | None  # derived from the IBAN where the bank registry knows it
    bank_name: str | None


def check_iban(text: str, bic: str | None = None) -> BankAccount:
    """Validate an IBAN (schwifty: country, length, structure, check digits) for SEPA.

    Raises FieldErrors keyed ``iban`` / ``bic`` with German messages.
    """
    compact = re.sub(r"\s", "", text or "").upper()
    if not compact:
        raise FieldErrors({"iban": "Bitte geben Sie Ihre IBAN an."})
    try:
        iban = IBAN(compact)
    except InvalidChecksumDigits:
        raise FieldErrors(
            {"iban": "Die Prüfziffer der IBAN stimmt nicht. Bitte vergleichen Sie jede Stelle."}
        ) from None
    except InvalidLength:
        raise FieldErrors(
            {"iban": "Die IBAN hat nicht die richtige Länge (in Deutschland 22 Stellen)."}
        ) from None
    except InvalidCountryCode:
        raise FieldErrors(
            {"iban": "Die IBAN muss mit einem gültigen Ländercode beginnen, z. B. DE."}
        ) from None
    except SchwiftyException:
        raise FieldErrors({"iban": "Das ist keine gültige IBAN."}) from None
    if not iban.in_sepa_zone:
        raise FieldErrors({"iban": "Lastschriften sind nur von Konten im SEPA-Raum möglich."})
    derived = iban.bic
    given = re.sub(r"\s", "", bic or "").upper() or None
    if given is not None and not re.match(r"^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$", given):
        raise FieldErrors({"bic": "Die BIC hat 8 oder 11 Zeichen, z. B. COBADEFFXXX."})
    return BankAccount(
        iban=iban.compact,
        bic=given or (str(derived) if derived else None),
        bank_name=iban.bank_name if derived else None,
    )


def masked_iban(iban: str) -> str:
    """For letters and screens: country, check digits and the last four digits only."""
    return f"{iban[:4]} **** **** {iban[-4:]}" if len(iban) > 8 else iban
