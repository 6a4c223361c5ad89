"""The letters of objection decisions read back from the PDF, on SQLite and PostgreSQL, for an
ordinary municipality and one with long names: the text (decision, amounts to the cent, reasons,
the Rechtsbehelfsbelehrung with the court from the statute where the objection is not fully
granted), a clean layout (no overlapping text, the recipient in the address window) and the
PDF/A-3b markers (XMP pdfaid:part=3, conformance B, the sRGB output intent, tagged)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy.orm import Session

from core.identity.models import Role
from core.kernel.archive import Document
from core.kernel.money import format_euro
from core.ledger.models import PaymentChannel
from core.ledger.receipts import record_payment
from core.objections import decisions, service
from core.objections.models import DecisionKind
from core.tenancy.municipalities import Municipality
from tests.delivery_helpers import issue_notice
from tests.integration.test_document_layout import LONG, checked
from tests.pdfa import read_pdfa

DAY = date(2026, 4, 20)
COURT = "dem Verwaltungsgericht Musterstadt, Gerichtsplatz 1, 12345 Musterstadt"


@pytest.fixture(params=["kurz", "lang"])
def lodged(request: pytest.FixtureRequest, db: Session, make: Any) -> Any:
    long = request.param == "lang"
    m = make.municipality(state="BY", **(LONG if long else {}))
    make.dog_tax_statute(m, objection=True, administrative_court=COURT)
    person = make.person(
        m,
        given_name="Anna-Katharina Maximiliane" if long else "Erika",
        family_name="von Hohenzollern-Sigmaringen-Wittelsbach" if long else "Mustermann",
        email=None,
    )
    notice = issue_notice(db, m, person)
    objection = service.lodge(
        db, municipality=m, person=person, notice=notice, reasons="Zu hoch.",
        suspension=True, actor="citizen", now=datetime(2026, 4, 1, 10, tzinfo=UTC),
    )  # fmt: skip
    return person, notice, objection


def _letter(db: Session, decision: Any, recipient: str) -> tuple[str, bytes]:
    document = db.get(Document, decision.document_id)
    assert document is not None
    pages = checked(document.content, recipient=recipient)
    return re.sub(r"\s+", " ", " ".join(pages)), document.content


def _assert_pdfa(pdf: bytes) -> None:
    found = read_pdfa(pdf)
    assert (found.part, found.conformance) == ("3", "B")
    [intent] = found.output_intents
    assert intent["S"].name == "GTS_PDFA1" and "DestOutputProfile" in intent
    assert found.tagged and found.lang == "de"


def test_partial_abhilfe_letter(db: Session, lodged: Any) -> None:
    person, notice, objection = lodged
    before = decisions.standing_cents(db, notice)
    decision = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_PARTIAL, after_cents=before - 1234,
        reasons="Der Hund wurde erst im März angeschafft.", day=DAY, actor="user:1",
    )  # fmt: skip
    text, pdf = _letter(db, decision, person.display_name)
    assert "Abhilfebescheid" in text and "teilweise abgeholfen" in text
    assert f"Bisher festgesetzt {format_euro(before)}" in text
    assert f"Minderung {format_euro(1234)}" in text
    assert f"Neu festgesetzt {format_euro(before - 1234)}" in text
    assert "Der Hund wurde erst im März angeschafft." in text
    assert "Rechtsbehelfsbelehrung" in text and "innerhalb eines Monats" in text
    assert "Klage bei dem Verwaltungsgericht Musterstadt" in text
    assert f"Widerspruch-Nr. {objection.id}" in text and "20.04.2026" in text
    _assert_pdfa(pdf)


def test_rejection_letter(db: Session, lodged: Any) -> None:
    person, notice, objection = lodged
    decision = decisions.decide(
        db, objection, kind=DecisionKind.REJECTED,
        reasons="Die Satzung sieht für Labradore keine Ermäßigung vor.", day=DAY, actor="user:1",
    )  # fmt: skip
    text, pdf = _letter(db, decision, person.display_name)
    assert "Widerspruchsbescheid" in text and "Der Widerspruch wird zurückgewiesen." in text
    assert f"bleibt mit {format_euro(notice.total_cents)} bestehen" in text
    assert "keine Ermäßigung vor." in text and "§ 74 Abs. 1 VwGO" in text
    _assert_pdfa(pdf)


@pytest.mark.parametrize("kind", [DecisionKind.GRANTED_FULL, DecisionKind.WITHDRAWN])
def test_full_abhilfe_and_withdrawal_carry_no_remedy(
    db: Session, lodged: Any, kind: DecisionKind
) -> None:
    person, _, objection = lodged
    decision = decisions.decide(
        db, objection, kind=kind, after_cents=0 if kind is DecisionKind.GRANTED_FULL else None,
        reasons="Die Steuerpflicht besteht nicht.", day=DAY, actor="user:1",
    )  # fmt: skip
    text, pdf = _letter(db, decision, person.display_name)
    assert "Rechtsbehelfsbelehrung" not in text
    expected = "in vollem Umfang abgeholfen" if decision.granted else "zurückgenommen"
    assert expected in text
    _assert_pdfa(pdf)


def test_abhilfe_with_a_refund_says_so(db: Session, make: Any, lodged: Any) -> None:
    person, notice, objection = lodged
    before = decisions.standing_cents(db, notice)
    record_payment(
        db, person=person, amount_cents=before, received_on=DAY,
        channel=PaymentChannel.BANK_TRANSFER, as_of=DAY, actor="bank",
        kassenzeichen=notice.kassenzeichen,
    )  # fmt: skip
    approver = make.user(
        role=Role.APPROVER, municipality=db.get(Municipality, notice.municipality_id)
    )
    decision = decisions.decide(
        db, objection, kind=DecisionKind.GRANTED_PARTIAL, after_cents=before - 2500,
        reasons="Ermäßigung für Rettungshunde.", day=DAY, actor="user:clerk",
    )  # fmt: skip
    decisions.approve(db, decision, day=DAY, actor=f"user:{approver.id}")
    text, pdf = _letter(db, decision, person.display_name)
    assert f"Sie haben {format_euro(2500)} mehr gezahlt" in text
    _assert_pdfa(pdf)
