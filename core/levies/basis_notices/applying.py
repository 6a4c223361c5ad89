"""Writing basis notices: the tax object of each notice's person (created, or brought up to date
with what the notice says about it) and the notice itself, a new row every time (append-only).
Many notices at once: the objects are looked up in chunks and written with one flush, then the
notices with one more (a delivery of a Hauptveranlagung holds every plot of the town)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.levies.basis_notices.models import BasisNotice, NoticeKind, TaxKind, TaxObject
from core.levies.basis_notices.reader import NoticeRecord

CHUNK = 500  # values per IN (…) query
_OBJECT_FIELDS = (
    "name",
    "street",
    "house_number",
    "postal_code",
    "city",
    "property_class",
    "land_use",
)
ObjectKey = tuple[TaxKind, str]


@dataclass(frozen=True)
class Item:
    """One record to apply: for which person, from which import."""

    record: NoticeRecord
    person_id: int
    import_id: int


def find_object(
    session: Session, municipality_id: int, tax: TaxKind, reference: str
) -> TaxObject | None:
    return session.scalars(
        select(TaxObject).where(
            TaxObject.municipality_id == municipality_id,
            TaxObject.tax == tax,
            TaxObject.reference == reference,
        )
    ).first()


def objects_by_key(
    session: Session, municipality_id: int, references: Sequence[str]
) -> dict[ObjectKey, TaxObject]:
    unique = sorted(set(references))
    found: dict[ObjectKey, TaxObject] = {}
    for i in range(0, len(unique), CHUNK):
        rows = session.scalars(
            select(TaxObject).where(
                TaxObject.municipality_id == municipality_id,
                TaxObject.reference.in_(unique[i : i + CHUNK]),
            )
        )
        found.update({(o.tax, o.reference): o for o in rows})
    return found


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def _bring_up_to_date(
    session: Session, obj: TaxObject, record: NoticeRecord, actor: str, new: bool
) -> None:
    given = {f: getattr(record, f) for f in _OBJECT_FIELDS if getattr(record, f) is not None}
    changed = {f: v for f, v in given.items() if getattr(obj, f) != v}
    if not changed:
        return
    before = {f: _plain(getattr(obj, f)) for f in changed}
    for f, v in changed.items():
        setattr(obj, f, v)
    if not new:  # a new object's creation is its record
        audit.record(
            session,
            actor=actor,
            action="tax_object.changed",
            municipality_id=obj.municipality_id,
            obj=obj,
            before=before,
            after={f: _plain(v) for f, v in changed.items()},
        )


def _objects(
    session: Session, municipality_id: int, items: Sequence[Item], actor: str
) -> dict[ObjectKey, TaxObject]:
    """Every item's tax object, created where new (one flush for all)."""
    objects = objects_by_key(session, municipality_id, [i.record.reference for i in items])
    created: list[TaxObject] = []
    new_keys: set[ObjectKey] = set()
    for item in items:
        record = item.record
        key = (record.tax, record.reference)
        obj = objects.get(key)
        if obj is None:
            obj = TaxObject(
                municipality_id=municipality_id,
                person_id=item.person_id,
                tax=record.tax,
                reference=record.reference,
            )
            objects[key] = obj
            created.append(obj)
            new_keys.add(key)
            session.add(obj)
        _bring_up_to_date(session, obj, record, actor, new=key in new_keys)
    session.flush()
    for obj in created:
        audit.record(
            session,
            actor=actor,
            action="tax_object.created",
            municipality_id=municipality_id,
            obj=obj,
            after={"tax": obj.tax.value, "reference": obj.reference, "person_id": obj.person_id},
        )
    return objects


def _year_to(record: NoticeRecord) -> int | None:
    if (
        record.year_to is None
        and record.tax is TaxKind.TRADE_TAX
        and record.kind in (NoticeKind.NEW, NoticeKind.CHANGE)
    ):
        return record.year_from  # a Gewerbesteuermessbescheid is for one Erhebungszeitraum
    return record.year_to


def apply_records(
    session: Session, *, municipality_id: int, items: Sequence[Item], actor: str
) -> list[BasisNotice]:
    """The notices of ``items``, in their order, each on its person's tax object."""
    objects = _objects(session, municipality_id, items, actor)
    notices = [
        BasisNotice(
            municipality_id=municipality_id,
            tax_object_id=objects[(i.record.tax, i.record.reference)].id,
            import_id=i.import_id,
            kind=i.record.kind,
            document=i.record.document,
            year_from=i.record.year_from,
            year_to=_year_to(i.record),
            messbetrag_cents=i.record.messbetrag_cents,
            share_numerator=i.record.share_numerator,
            share_denominator=i.record.share_denominator,
            share_cents=i.record.share_cents,
            notice_date=date.fromisoformat(i.record.notice_date),
            record_key=i.record.key,
            digest=i.record.digest,
        )
        for i in items
    ]
    session.add_all(notices)
    session.flush()
    for notice in notices:
        audit.record(
            session,
            actor=actor,
            action="basis_notice.imported",
            municipality_id=municipality_id,
            obj=notice,
            after={
                "tax_object_id": notice.tax_object_id,
                "kind": notice.kind.value,
                "year_from": notice.year_from,
                "messbetrag_cents": notice.messbetrag_cents,
            },
        )
    session.flush()
    return notices
