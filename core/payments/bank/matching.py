"""How a bank line is recognised: Kassenzeichen and RF references in the remittance text, a
dunning letter's own reference (core.payments.bank.designations), our direct-debit items by
EndToEndId, runs by batch id, mandate references, and suggestions for the
clerk by amount and name."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel.references import (
    is_valid_kassenzeichen,
    is_valid_letter_reference,
    is_valid_rf,
    normalize_kassenzeichen,
)
from core.ledger.balances import claim_totals
from core.ledger.models import Claim, TaxAccount
from core.payments.bank.designations import Designation, designations
from core.payments.bank.models import BankLine
from core.payments.sepa.models import DirectDebitItem, DirectDebitRun, ItemStatus, Mandate
from core.persons.models import Person

# 13 digits, possibly printed in groups ("101 00000042 87"), not part of a longer number.
_KZ = re.compile(r"(?<!\d)(\d{3}[ .]?\d{8}[ .]?\d{2})(?!\d)")
_RF = re.compile(r"RF\d{2}[A-Z0-9]{1,21}", re.IGNORECASE)


class MatchIndex:
    """What the matching needs, read once per import: Kassenzeichen → persons, our direct-debit
    items by EndToEndId, runs by batch id, and open claims by amount (for suggestions)."""

    def __init__(self, session: Session, municipality_id: int) -> None:
        self.session, self.municipality_id = session, municipality_id
        self.kz_persons: dict[str, set[int]] = defaultdict(set)
        for kz, person_id in session.execute(
            select(TaxAccount.kassenzeichen, TaxAccount.person_id).where(
                TaxAccount.municipality_id == municipality_id
            )
        ):
            self.kz_persons[kz].add(person_id)
        for kz, person_id in session.execute(
            select(Claim.kassenzeichen, Claim.person_id)
            .where(Claim.municipality_id == municipality_id)
            .distinct()
        ):
            self.kz_persons[kz].add(person_id)
        self._open_by_amount: dict[int, list[tuple[int, int]]] | None = None
        self._designations: dict[str, Designation] | None = None

    def designation(self, reference: str) -> Designation | None:
        """What a letter reference designates (all of them read once, on first need)."""
        if self._designations is None:
            self._designations = designations(self.session, self.municipality_id)
        return self._designations.get(reference)

    def item_by_e2e(self, end_to_end_id: str) -> DirectDebitItem | None:
        return self.session.scalars(
            select(DirectDebitItem).where(
                DirectDebitItem.municipality_id == self.municipality_id,
                DirectDebitItem.end_to_end_id == end_to_end_id,
            )
        ).first()

    def run_by_batch(
        self, payment_info_id: str | None, message_id: str | None
    ) -> DirectDebitRun | None:
        for column, value in (
            (DirectDebitRun.payment_info_id, payment_info_id),
            (DirectDebitRun.message_id, message_id),
        ):
            if value:
                run = self.session.scalars(
                    select(DirectDebitRun).where(
                        DirectDebitRun.municipality_id == self.municipality_id, column == value
                    )
                ).first()
                if run is not None:
                    return run
        return None

    @property
    def open_by_amount_loaded(self) -> bool:
        return self._open_by_amount is not None

    def open_by_amount(self) -> dict[int, list[tuple[int, int]]]:
        """Open amount → [(claim id, person id)] in claim order, for suggestions: read once, on
        first need, in one statement (what later lines of the import book does not move it)."""
        if self._open_by_amount is None:
            mine = (
                Claim.municipality_id == self.municipality_id,
                Claim.cancelled_by_entry_id.is_(None),
            )
            totals = claim_totals(select(Claim.id).where(*mine))
            rows = self.session.execute(
                select(Claim.id, Claim.person_id, totals.c.open)
                .join(totals, totals.c.claim_id == Claim.id)
                .where(*mine, totals.c.open > 0)
                .order_by(Claim.id)
            )
            result: dict[int, list[tuple[int, int]]] = defaultdict(list)
            for claim_id, person_id, open_cents in rows:
                result[int(open_cents)].append((claim_id, person_id))
            self._open_by_amount = result
        return self._open_by_amount


def references_in(text: str) -> list[str]:
    """Kassenzeichen named in a remittance text: 13-digit numbers with valid check digits, and
    the Kassenzeichen inside valid RF references (ISO 11649)."""
    found: list[str] = []
    for match in _RF.finditer(text or ""):
        rf = match.group(0).upper()
        if is_valid_rf(rf) and is_valid_kassenzeichen(rf[4:]):
            found.append(rf[4:])
    for match in _KZ.finditer(text or ""):
        kz = normalize_kassenzeichen(match.group(1))
        if is_valid_kassenzeichen(kz) and kz not in found:
            found.append(kz)
    return found


def letter_references_in(text: str) -> list[str]:
    """Letter references (core.kernel.references) inside valid RF references of the text."""
    found: list[str] = []
    for match in _RF.finditer(text or ""):
        rf = match.group(0).upper()
        if rf[4:5] != "M" or rf[4:] in found:
            continue  # a Kassenzeichen's RF (references_in) or one seen already
        if is_valid_rf(rf) and is_valid_letter_reference(rf[4:]):
            found.append(rf[4:])
    return found


@dataclass(frozen=True)
class Payee:
    """Whom a transfer is for, by its texts: the one person its references name (else None),
    the Kassenzeichen named, and the claims a letter reference designates (empty if none)."""

    person_id: int | None
    references: tuple[str, ...]  # the Kassenzeichen named
    kassenzeichen: str | None  # the person's Kassenzeichen among them (None for a letter)
    claim_ids: frozenset[int]
    several: bool  # more than one person named
    unknown_letter: bool  # a letter reference named that is not one of ours

    @property
    def reason(self) -> str:
        """Why the line goes to a clerk (when there is no one person)."""
        if self.several:
            return "Mehrere Personen passen zu den genannten Kassenzeichen."
        if self.unknown_letter:
            return "Unbekannte Referenz eines Mahnschreibens, kein gültiges Kassenzeichen."
        return "Kein gültiges Kassenzeichen im Verwendungszweck."


def payee_of(index: MatchIndex, text: str) -> Payee:
    """The one function both import paths ask (booking and bulk_import): a letter reference of
    this municipality designates its letter's claims and person; else the Kassenzeichen named
    decide, as before. A dictionary lookup per reference, no query per line."""
    letters = letter_references_in(text) if "RF" in text.upper() else []
    for reference in letters:
        found = index.designation(reference)
        if found is not None:
            return Payee(found.person_id, (), None, found.claim_ids, False, False)
    references = tuple(references_in(text))
    persons = {p for kz in references for p in index.kz_persons.get(kz, set())}
    if len(persons) == 1:
        person_id = next(iter(persons))
        kz = next(k for k in references if person_id in index.kz_persons.get(k, set()))
        return Payee(person_id, references, kz, frozenset(), False, False)
    return Payee(None, references, None, frozenset(), bool(persons), bool(letters))


_RF_PREFIX = re.compile(r"RF\d\d")


def names_rf(text: str, kassenzeichen: str) -> bool:
    """Whether ``text`` (upper case) names the Kassenzeichen as an RF reference (``RF``, two
    digits, the Kassenzeichen), without a pattern made per Kassenzeichen."""
    return any(text.startswith(kassenzeichen, m.end()) for m in _RF_PREFIX.finditer(text))


def name_tokens(text: str | None) -> set[str]:
    return {t for t in re.split(r"[^a-zäöüß]+", (text or "").lower()) if len(t) >= 3}


def item_by_mandate(
    session: Session, municipality_id: int, reference: str, amount_cents: int
) -> DirectDebitItem | None:
    """The one debit in collection under this mandate with this amount (when the bank gives
    the mandate reference but no EndToEndId); None when there is none or more than one."""
    items = session.scalars(
        select(DirectDebitItem)
        .join(Mandate, Mandate.id == DirectDebitItem.mandate_id)
        .where(
            DirectDebitItem.municipality_id == municipality_id,
            DirectDebitItem.status == ItemStatus.IN_COLLECTION,
            DirectDebitItem.amount_cents == amount_cents,
            Mandate.reference_key == reference.strip().upper(),
        )
    ).all()
    return items[0] if len(items) == 1 else None


def suggest(
    session: Session, index: MatchIndex, line: BankLine, limit: int = 3
) -> list[dict[str, Any]]:
    """Open items of exactly this amount, best first: those whose debtor's name appears in the
    payer's name."""
    return suggest_many(session, index, [(line.amount_cents, line.counterparty_name)], limit)[0]


_CANDIDATES = 200  # looked at per line


def suggest_many(
    session: Session, index: MatchIndex, lines: list[tuple[int, str | None]], limit: int = 3
) -> list[list[dict[str, Any]]]:
    """:func:`suggest` for many lines (amount, payer's name) at once: the candidates' names
    read in one statement per 5,000 persons."""
    by_amount = index.open_by_amount() if lines else {}
    wanted = sorted(
        {pid for amount, _ in lines for _, pid in by_amount.get(amount, [])[:_CANDIDATES]}
    )
    names: dict[int, tuple[int, str, set[str]]] = {}
    for first in range(0, len(wanted), 5000):
        for pid, number, kind, given, family, company in session.connection().execute(
            select(
                Person.id,
                Person.number,
                Person.kind,
                Person.given_name,
                Person.family_name,
                Person.company_name,
            ).where(Person.id.in_(wanted[first : first + 5000]))
        ):
            shown = _display_name(
                SimpleNamespace(
                    kind=kind, given_name=given, family_name=family, company_name=company
                )
            )
            names[pid] = (number, shown, name_tokens(shown))
    result = []
    for amount, payer_name in lines:
        payer = name_tokens(payer_name)
        scored = sorted(
            (-len(payer & names[pid][2]), claim_id, pid)
            for claim_id, pid in by_amount.get(amount, [])[:_CANDIDATES]
        )
        result.append(
            [
                {
                    "person_id": pid,
                    "person_number": names[pid][0],
                    "name": names[pid][1],
                    "claim_id": claim_id,
                    "reason": "Betrag und Name" if score else "Betrag",
                }
                for score, claim_id, pid in scored[:limit]
            ]
        )
    return result


# The person's name as Person.display_name shows it, taken from the row's columns alone.
_display_name = cast(Callable[[Any], str], cast(property, vars(Person)["display_name"]).fget)
