"""Payment references and identifiers with check digits (pure functions, no database).

* Kassenzeichen: ``PPP`` municipality prefix + ``SSSSSSSS`` serial + 2 check digits after
  ISO 7064 MOD 97-10 (the IBAN/RF scheme: catches every single-digit error and every swap of
  neighbouring digits, which Luhn does not). 13 digits, printed as ``PPP SSSSSSSS CC``.
* Letter reference of a dunning letter: ``M`` + municipality prefix + the letter's number + 2
  check digits (MOD 97-10 over the letters-as-digits, as the RF scheme). It starts with a
  letter, so it can never be a Kassenzeichen (13 digits); printed inside an RF reference.
* RF creditor reference, ISO 11649 (DOMAIN.md "Ledger").
* SEPA creditor identifier (Gläubiger-ID), EPC262-08 / Deutsche Bundesbank (DOMAIN.md "SEPA").
"""

from __future__ import annotations

import re

_ALNUM = re.compile(r"^[0-9A-Z]+$")


def _to_digits(text: str) -> str:
    """Letters A=10 … Z=35, digits stay (ISO 7064 / ISO 13616 conversion)."""
    return "".join(str(int(ch, 36)) for ch in text)


def mod97_check_digits(payload: str) -> str:
    """Two check digits: 98 − (payload·100 mod 97)."""
    return f"{98 - int(_to_digits(payload) + '00') % 97:02d}"


def make_kassenzeichen(prefix: str, serial: int) -> str:
    if not (len(prefix) == 3 and prefix.isdigit()):
        raise ValueError("Kassenzeichen prefix must be three digits")
    if not 0 < serial < 10**8:
        raise ValueError("Kassenzeichen serial out of range")
    base = f"{prefix}{serial:08d}"
    return base + mod97_check_digits(base)


def normalize_kassenzeichen(text: str) -> str:
    return re.sub(r"[\s.\-/]", "", text or "")


def is_valid_kassenzeichen(text: str) -> bool:
    kz = normalize_kassenzeichen(text)
    return len(kz) == 13 and kz.isdigit() and int(kz) % 97 == 1


def format_kassenzeichen(kz: str) -> str:
    return f"{kz[:3]} {kz[3:11]} {kz[11:]}" if len(kz) == 13 else kz


LETTER_MARK = "M"
_LETTER = re.compile(r"^M(\d{3})(\d{1,14})(\d{2})$")


def make_letter_reference(prefix: str, letter_id: int) -> str:
    """``M`` + prefix + letter number + check digits: at most 20 characters (fits an RF)."""
    if not (len(prefix) == 3 and prefix.isdigit()):
        raise ValueError("Kassenzeichen prefix must be three digits")
    if not 0 < letter_id < 10**14:
        raise ValueError("letter number out of range")
    base = f"{LETTER_MARK}{prefix}{letter_id}"
    return base + mod97_check_digits(base)


def is_valid_letter_reference(text: str) -> bool:
    ref = (text or "").replace(" ", "").upper()
    found = _LETTER.match(ref)
    return (
        found is not None and not found.group(2).startswith("0") and int(_to_digits(ref)) % 97 == 1
    )


def make_rf(reference: str) -> str:
    """ISO 11649: ``RF`` + check digits + reference (alphanumeric, up to 21 characters)."""
    ref = reference.replace(" ", "").upper()
    if not (1 <= len(ref) <= 21 and _ALNUM.match(ref)):
        raise ValueError("RF reference must be 1–21 letters or digits")
    check = 98 - int(_to_digits(ref + "RF00")) % 97
    return f"RF{check:02d}{ref}"


def is_valid_rf(text: str) -> bool:
    rf = (text or "").replace(" ", "").upper()
    if not (5 <= len(rf) <= 25 and rf.startswith("RF") and _ALNUM.match(rf)):
        return False
    return int(_to_digits(rf[4:] + rf[:4])) % 97 == 1


def format_rf(rf: str) -> str:
    """Printed in groups of four (ISO 11649)."""
    return " ".join(rf[i : i + 4] for i in range(0, len(rf), 4))


def is_valid_creditor_id(text: str) -> bool:
    """Gläubiger-ID ``CCkkBBBn…``: positions 5–7 (business code) are ignored by the check."""
    cid = (text or "").replace(" ", "").upper()
    if not (8 <= len(cid) <= 35 and _ALNUM.match(cid) and cid[2:4].isdigit()):
        return False
    if cid.startswith("DE") and len(cid) != 18:
        return False
    expected = 98 - int(_to_digits(cid[7:] + cid[:2] + "00")) % 97
    return int(cid[2:4]) == expected
