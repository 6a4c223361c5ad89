"""EPC QR code ("GiroCode", EPC069-12) for SEPA credit transfers printed on notices.

The payload is a fixed sequence of lines separated by LF (DOMAIN.md "EPC QR code"):

1. service tag ``BCD``            2. version ``002`` (or ``001``)   3. character set ``1`` (UTF-8)
4. identification ``SCT``         5. BIC (may be empty in 002)      6. beneficiary name (≤ 70)
7. IBAN                           8. ``EUR`` + amount (0.01–999999999.99)
9. purpose code (empty here)      10. structured RF reference (≤ 35) **or** 11. text (≤ 140)
12. information for the payer (≤ 70)

Trailing empty elements are left out ("nothing after the last element given"), the whole
payload is at most 331 bytes in UTF-8, and the QR code uses error correction level M.
"""

from __future__ import annotations

import base64
import io

import qrcode
import qrcode.constants
from qrcode.image.pil import PilImage
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from core.kernel.errors import ValidationError
from core.kernel.money import to_decimal
from core.kernel.references import is_valid_rf

MAX_PAYLOAD_BYTES = 331
MAX_NAME = 70
MAX_RF = 35
MAX_TEXT = 140
MAX_INFO = 70
MIN_AMOUNT_CENTS = 1
MAX_AMOUNT_CENTS = 99_999_999_999  # 999,999,999.99 €


def _clean(value: str, field: str, limit: int, *, required: bool = False) -> str:
    text = value.strip()
    if "\n" in text or "\r" in text:
        raise ValidationError(f"{field} darf keinen Zeilenumbruch enthalten.")
    if required and not text:
        raise ValidationError(f"{field} fehlt.")
    if len(text) > limit:
        raise ValidationError(f"{field} ist zu lang (höchstens {limit} Zeichen).")
    return text


def epc_payload(
    *,
    name: str,
    iban: str,
    amount_cents: int,
    bic: str = "",
    rf_reference: str | None = None,
    text: str | None = None,
    info: str | None = None,
    version: str = "002",
) -> str:
    """Build the text of an EPC QR code for a credit transfer in euro.

    Raises :class:`~core.kernel.errors.ValidationError` (German message) on any input the standard
    does not allow: unknown version, missing BIC in version 001, invalid BIC or IBAN, a name
    over 70 characters, an amount outside 0.01–999,999,999.99 €, an invalid RF reference, both
    a reference and a text, or a payload over 331 bytes.
    """
    if version not in ("001", "002"):
        raise ValidationError("Die GiroCode-Version muss 001 oder 002 sein.")

    bic_text = _bic_text(bic, version)
    name_text = _clean(name, "Der Name des Zahlungsempfängers", MAX_NAME, required=True)

    try:
        iban_text = IBAN(iban).compact
    except SchwiftyException as exc:
        raise ValidationError(f"Die IBAN {iban!r} ist ungültig.") from exc
    amount_text = _amount_text(amount_cents)
    rf_text = _rf_text(rf_reference)
    free_text = _clean(text or "", "Der Verwendungszweck", MAX_TEXT)
    if rf_text and free_text:
        raise ValidationError(
            "Ein GiroCode enthält entweder eine RF-Referenz oder einen Verwendungszweck, "
            "nicht beides."
        )
    info_text = _clean(info or "", "Der Hinweis an den Zahler", MAX_INFO)

    lines = [
        "BCD",
        version,
        "1",
        "SCT",
        bic_text,
        name_text,
        iban_text,
        amount_text,
        "",  # purpose code (e.g. "GOVT"): not used
        rf_text,
        free_text,
        info_text,
    ]
    while lines and lines[-1] == "":
        lines.pop()
    payload = "\n".join(lines)
    if len(payload.encode("utf-8")) > MAX_PAYLOAD_BYTES:
        raise ValidationError(
            f"Der GiroCode ist zu lang (höchstens {MAX_PAYLOAD_BYTES} Byte): Texte kürzen."
        )
    return payload


def _bic_text(bic: str, version: str) -> str:
    bic_text = bic.replace(" ", "").upper()
    if bic_text:
        try:
            BIC(bic_text)
        except SchwiftyException as exc:
            raise ValidationError(f"Die BIC {bic!r} ist ungültig.") from exc
    elif version == "001":
        raise ValidationError("Für GiroCode-Version 001 ist die BIC anzugeben.")
    return bic_text


def _amount_text(amount_cents: int) -> str:
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise ValidationError("Der Betrag muss in ganzen Cent angegeben werden.")
    if not MIN_AMOUNT_CENTS <= amount_cents <= MAX_AMOUNT_CENTS:
        raise ValidationError("Der Betrag muss zwischen 0,01 € und 999.999.999,99 € liegen.")
    return f"EUR{to_decimal(amount_cents)}"


def _rf_text(rf_reference: str | None) -> str:
    if rf_reference is None or not rf_reference.strip():
        return ""
    rf_text = rf_reference.replace(" ", "").upper()
    if len(rf_text) > MAX_RF or not is_valid_rf(rf_text):
        raise ValidationError(f"Die RF-Referenz {rf_reference!r} ist ungültig.")
    return rf_text


def qr_png(payload: str, *, box_size: int = 6) -> bytes:
    """The QR code of ``payload`` (UTF-8 bytes, error correction M, 4-module quiet zone) as PNG."""
    code = qrcode.QRCode(
        error_correction=qrcode.constants.ERROR_CORRECT_M,
        box_size=box_size,
        border=4,
        image_factory=PilImage,
    )
    # Bytes with optimize=0: one byte-mode segment, as banking apps expect for EPC codes.
    code.add_data(payload.encode("utf-8"), optimize=0)
    code.make(fit=True)
    image = code.make_image()
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def png_data_uri(png: bytes) -> str:
    """``data:image/png;base64,…`` for embedding a PNG in HTML (and so in the PDF)."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
