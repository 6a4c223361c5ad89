"""Writing one basis notice: the tax object of its person (created, or brought up to date with
what the notice says about it) and the notice itself, a new row every time (append-only)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.kernel import audit
from core.levies.basis_notices.models import BasisNotice, NoticeKind, TaxKind, TaxObject
from core.levies.basis_notices.reader import NoticeRecord

_OBJECT_FIELDS = (
    "name",
    "street",
    "house_number",
    "postal_code",
    "city",
    "property_class",
    "land_use",
)


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


def _object_for(
    session: Session, municipality_id: int, record: NoticeRecord, person_id: int, actor: str
) -> TaxObject:
    obj = find_object(session, municipality_id, record.tax, record.reference)
    given = {f: getattr(record, f) for f in _OBJECT_FIELDS if getattr(record, f) is not None}
    if obj is None:
        obj = TaxObject(
            municipality_id=municipality_id,
            person_id=person_id,
            tax=record.tax,
            reference=record.reference,
            **given,
        )
        session.add(obj)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="tax_object.created",
            municipality_id=municipality_id,
            obj=obj,
            after={"tax": record.tax.value, "reference": record.reference, "person_id": person_id},
        )
        return obj
    changed = {f: v for f, v in given.items() if getattr(obj, f) != v}
    if changed:
        before = {f: _plain(getattr(obj, f)) for f in changed}
        for f, v in changed.items():
            setattr(obj, f, v)
        audit.record(
            session,
            actor=actor,
            action="tax_object.changed",
            municipality_id=municipality_id,
            obj=obj,
            before=before,
            after={f: _plain(v) for f, v in changed.items()},
        )
    return obj


def _plain(value: object) -> object:
    return getattr(value, "value", value)


def apply_record(
    session: Session,
    *,
    municipality_id: int,
    record: NoticeRecord,
    person_id: int,
    import_id: int,
    actor: str,
) -> BasisNotice:
    """The notice of ``record`` for ``person_id``'s tax object (created when new)."""
    obj = _object_for(session, municipality_id, record, person_id, actor)
    year_to = record.year_to
    if (
        year_to is None
        and record.tax is TaxKind.TRADE_TAX
        and record.kind in (NoticeKind.NEW, NoticeKind.CHANGE)
    ):
        year_to = record.year_from  # a Gewerbesteuermessbescheid is for one Erhebungszeitraum
    notice = BasisNotice(
        municipality_id=municipality_id,
        tax_object_id=obj.id,
        import_id=import_id,
        kind=record.kind,
        document=record.document,
        year_from=record.year_from,
        year_to=year_to,
        messbetrag_cents=record.messbetrag_cents,
        share_numerator=record.share_numerator,
        share_denominator=record.share_denominator,
        share_cents=record.share_cents,
        notice_date=date.fromisoformat(record.notice_date),
        record_key=record.key,
        digest=record.digest,
    )
    session.add(notice)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="basis_notice.imported",
        municipality_id=municipality_id,
        obj=notice,
        after={
            "tax_object_id": obj.id,
            "kind": record.kind.value,
            "year_from": record.year_from,
            "messbetrag_cents": record.messbetrag_cents,
        },
    )
    return notice
