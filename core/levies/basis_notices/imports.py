"""Importing a file of basis notices, all or nothing.

The file is read (any ``BasisNoticeReader``), then every record is checked before anything is
written: its municipality, duplicates inside the file, conflicts with notices imported before,
and its person — by the tax office's reference on an existing tax object, else by the person
number the file names, else the record waits for a clerk (``queue``). Any problem refuses the
whole file with every problem listed (``FileRejected``); otherwise every record is written in one
go. The same file twice (SHA-256) changes nothing; a record already imported by another file (its
key and content) is skipped."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.kernel import audit
from core.kernel.errors import ValidationError
from core.levies.basis_notices.applying import Item, apply_records
from core.levies.basis_notices.models import (
    TAX_LABELS,
    BasisNotice,
    BasisNoticeImport,
    PendingNotice,
    TaxKind,
    TaxObject,
)
from core.levies.basis_notices.reader import (
    BasisNoticeReader,
    FileRejected,
    NoticeRecord,
    read_file,
)
from core.levies.basis_notices.xml_reader import XmlNoticeReader
from core.persons.models import Person
from core.tenancy.municipalities import Municipality

READERS: tuple[BasisNoticeReader, ...] = (XmlNoticeReader(),)
CHUNK = 500  # values per IN (…) query
QUEUED = 0  # the person a record waits for: none yet (a clerk assigns one)


@dataclass
class ImportReport:
    filename: str
    already_imported: bool = False
    import_id: int | None = None
    records: int = 0
    applied: int = 0
    queued: int = 0
    known: int = 0

    def summary(self) -> str:
        if self.already_imported:
            return f"„{self.filename}“ wurde bereits eingelesen; es wurde nichts geändert."
        return (
            f"„{self.filename}“: {self.records} Bescheide, {self.applied} übernommen, "
            f"{self.queued} zur Klärung, {self.known} schon bekannt."
        )


@dataclass
class _Plan:
    """What the import will do with each record: (record, person id or QUEUED)."""

    apply: list[tuple[NoticeRecord, int]] = field(default_factory=list)
    known: int = 0
    problems: list[str] = field(default_factory=list)
    owners: dict[tuple[TaxKind, str], int] = field(default_factory=dict)


def municipality_keys(records: list[NoticeRecord]) -> set[str]:
    return {r.municipality_key for r in records}


def read(data: bytes) -> tuple[str, list[NoticeRecord]]:
    """The records of a file (``FileRejected`` if it cannot be read or fails its schema)."""
    return read_file(data, READERS)


def import_file(
    session: Session,
    municipality: Municipality,
    data: bytes,
    *,
    filename: str,
    actor: str,
) -> ImportReport:
    """Import every record of ``data`` for ``municipality``, or refuse the file whole."""
    report = ImportReport(filename=filename[:200])
    sha = hashlib.sha256(data).hexdigest()
    if _earlier_import(session, municipality.id, sha):
        report.already_imported = True
        return report
    reader_name, records = read(data)
    plan = _plan(session, municipality, records)
    if plan.problems:
        raise FileRejected(plan.problems)
    report.records, report.known = len(records), plan.known
    if not plan.apply:
        return report
    try:
        _write(session, municipality.id, plan, report, sha, reader_name, actor)
    except IntegrityError as exc:  # the same records arrived at the same moment (PostgreSQL)
        raise ValidationError(
            "Diese Bescheide werden gerade von einer anderen Sitzung eingelesen; es wurde nichts "
            "übernommen. Bitte laden Sie die Seite neu, um den Stand zu sehen."
        ) from exc
    return report


def _write(
    session: Session,
    municipality_id: int,
    plan: _Plan,
    report: ImportReport,
    sha: str,
    reader_name: str,
    actor: str,
) -> None:
    record = BasisNoticeImport(
        municipality_id=municipality_id,
        filename=report.filename,
        sha256=sha,
        reader=reader_name,
        records=report.records,
        applied=sum(1 for _r, p in plan.apply if p != QUEUED),
        queued=sum(1 for _r, p in plan.apply if p == QUEUED),
        known=plan.known,
        imported_by=actor,
    )
    session.add(record)
    session.flush()
    report.import_id, report.applied, report.queued = record.id, record.applied, record.queued
    session.add_all(
        [_pending(municipality_id, record.id, item) for item, p in plan.apply if p == QUEUED]
    )
    apply_records(
        session,
        municipality_id=municipality_id,
        items=[Item(item, p, record.id) for item, p in plan.apply if p != QUEUED],
        actor=actor,
    )
    audit.record(
        session,
        actor=actor,
        action="basis_notice_import.imported",
        municipality_id=municipality_id,
        obj=record,
        after={"filename": report.filename, "applied": report.applied, "queued": report.queued},
    )
    session.flush()


def _earlier_import(session: Session, municipality_id: int, sha: str) -> bool:
    return (
        session.scalar(
            select(BasisNoticeImport.id).where(
                BasisNoticeImport.municipality_id == municipality_id,
                BasisNoticeImport.sha256 == sha,
            )
        )
        is not None
    )


def _pending(municipality_id: int, import_id: int, record: NoticeRecord) -> PendingNotice:
    return PendingNotice(
        municipality_id=municipality_id,
        import_id=import_id,
        tax=record.tax,
        reference=record.reference,
        line=record.line,
        record=record.as_data(),
        record_key=record.key,
        digest=record.digest,
    )


def _plan(session: Session, municipality: Municipality, records: list[NoticeRecord]) -> _Plan:
    plan = _Plan()
    known = _known_digests(session, municipality.id, [r.key for r in records])
    owners = _owners(session, municipality.id, records)
    numbers = _person_ids(session, municipality.id, records)
    first_line: dict[str, int] = {}
    for record in records:
        where = f"Zeile {record.line}"
        if record.municipality_key != municipality.official_key:
            plan.problems.append(
                f"{where}: der Bescheid ist für die Gemeinde {record.municipality_key}, nicht für "
                f"{municipality.name} ({municipality.official_key})."
            )
            continue
        if record.key in first_line:
            plan.problems.append(
                f"{where}: derselbe Bescheid ({_label(record)}) steht schon in Zeile "
                f"{first_line[record.key]}."
            )
            continue
        first_line[record.key] = record.line
        if record.key in known:
            if known[record.key] != record.digest:
                plan.problems.append(
                    f"{where}: ein Bescheid {_label(record)} wurde schon mit anderem Inhalt "
                    "eingelesen; eine Korrektur kommt als Änderungsbescheid."
                )
            else:
                plan.known += 1
            continue
        person_id = _person_for(municipality, record, plan, where, owners, numbers)
        if person_id is not None:
            plan.apply.append((record, person_id))
    return plan


def _label(record: NoticeRecord) -> str:
    return (
        f"{TAX_LABELS[record.tax]}, Aktenzeichen {record.reference}, ab {record.year_from}, "
        f"vom {date.fromisoformat(record.notice_date):%d.%m.%Y}"
    )


def _chunks(values: list[Any]) -> Iterator[list[Any]]:
    unique = sorted(set(values), key=str)
    for i in range(0, len(unique), CHUNK):
        yield unique[i : i + CHUNK]


def _known_digests(session: Session, municipality_id: int, keys: list[str]) -> dict[str, str]:
    """The content of each of ``keys`` imported before (applied or waiting)."""
    found: dict[str, str] = {}
    for model in (BasisNotice, PendingNotice):
        for chunk in _chunks(keys):
            rows = session.execute(
                select(model.record_key, model.digest).where(
                    model.municipality_id == municipality_id, model.record_key.in_(chunk)
                )
            )
            found.update({key: digest for key, digest in rows})
    return found


def _owners(
    session: Session, municipality_id: int, records: list[NoticeRecord]
) -> dict[tuple[TaxKind, str], int]:
    """The person of each tax object on record that the file names (by tax and reference)."""
    owners: dict[tuple[TaxKind, str], int] = {}
    for chunk in _chunks([r.reference for r in records]):
        rows = session.execute(
            select(TaxObject.tax, TaxObject.reference, TaxObject.person_id).where(
                TaxObject.municipality_id == municipality_id, TaxObject.reference.in_(chunk)
            )
        )
        owners.update({(tax, reference): person for tax, reference, person in rows})
    return owners


def _person_ids(
    session: Session, municipality_id: int, records: list[NoticeRecord]
) -> dict[int, int]:
    """Person number → id for every person number the file names that exists."""
    found: dict[int, int] = {}
    wanted = [r.person_number for r in records if r.person_number is not None]
    for chunk in _chunks(wanted):
        rows = session.execute(
            select(Person.number, Person.id).where(
                Person.municipality_id == municipality_id, Person.number.in_(chunk)
            )
        )
        found.update({number: person_id for number, person_id in rows})
    return found


def _person_for(
    municipality: Municipality,
    record: NoticeRecord,
    plan: _Plan,
    where: str,
    owners: dict[tuple[TaxKind, str], int],
    numbers: dict[int, int],
) -> int | None:
    """The person the record is for, QUEUED for the clerk, or None (a problem was noted)."""
    ref = (record.tax, record.reference)
    owner = plan.owners.get(ref, owners.get(ref))
    named = None
    if record.person_number is not None:
        named = numbers.get(record.person_number)
        if named is None:
            plan.problems.append(
                f"{where}: ein Personenkonto {record.person_number} gibt es in "
                f"{municipality.name} nicht."
            )
            return None
    if owner not in (None, QUEUED) and named is not None and named != owner:
        plan.problems.append(
            f"{where}: die Person ist nicht eindeutig: Aktenzeichen {record.reference} gehört "
            f"einem anderen Personenkonto als dem genannten ({record.person_number})."
        )
        return None
    person_id = owner if owner not in (None, QUEUED) else named
    if person_id is None:
        person_id = QUEUED
    plan.owners[ref] = person_id
    return person_id
