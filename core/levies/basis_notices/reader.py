"""What an import reads from a file, independent of its format: one ``NoticeRecord`` per basis
notice, with the line it starts on; and the interface every format's reader implements
(``BasisNoticeReader``). OpenKasse's own XML format (``xml_reader``) is the first; the official
ELSTER-Transfer formats can be added as further readers without touching the import."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from functools import cached_property
from typing import Any, Protocol

from core.kernel.errors import ValidationError
from core.levies.basis_notices.models import (
    LandUse,
    NoticeDocument,
    NoticeKind,
    PropertyClass,
    TaxKind,
)

NOTHING_APPLIED = "Die Datei wurde nicht eingelesen, es wurde nichts übernommen."


class FileRejected(ValidationError):
    """The whole file is refused; ``problems`` lists every rejected line or record in German."""

    def __init__(self, problems: list[str]) -> None:
        count = len(problems)
        super().__init__(f"{NOTHING_APPLIED} {count} Fehler: " + " ".join(problems[:20]))
        self.problems = problems


@dataclass(frozen=True)
class NoticeRecord:
    """One basis notice as the tax office sent it (amounts in cents, years as integers)."""

    line: int
    municipality_key: str  # amtlicher Gemeindeschlüssel (8 digits)
    tax: TaxKind
    kind: NoticeKind
    document: NoticeDocument
    reference: str  # Aktenzeichen (property tax) or Steuernummer (trade tax)
    year_from: int
    year_to: int | None
    messbetrag_cents: int | None
    notice_date: str  # ISO date
    share_numerator: int | None = None
    share_denominator: int | None = None
    share_cents: int | None = None
    person_number: int | None = None
    name: str | None = None
    street: str | None = None
    house_number: str | None = None
    postal_code: str | None = None
    city: str | None = None
    property_class: PropertyClass | None = None
    land_use: LandUse | None = None

    def as_data(self) -> dict[str, Any]:
        return {k: (v.value if hasattr(v, "value") else v) for k, v in asdict(self).items()}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> NoticeRecord:
        enums = {
            "tax": TaxKind,
            "kind": NoticeKind,
            "document": NoticeDocument,
            "property_class": PropertyClass,
            "land_use": LandUse,
        }
        values: dict[str, Any] = {f.name: data.get(f.name) for f in fields(cls)}
        for name, enum_cls in enums.items():
            if values[name] is not None:
                values[name] = enum_cls(values[name])
        return cls(**values)

    @cached_property
    def key(self) -> str:
        """What makes the record one notice: the same key twice is the same notice."""
        parts = (
            self.tax.value,
            self.reference,
            self.document.value,
            self.kind.value,
            str(self.year_from),
            self.notice_date,
        )
        return hashlib.sha256("|".join(parts).encode()).hexdigest()

    @cached_property
    def digest(self) -> str:
        """The content, without where in the file it stood."""
        data = self.as_data()
        data.pop("line")
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


class BasisNoticeReader(Protocol):
    """A file format of basis notices."""

    name: str  # stored with each import

    def accepts(self, data: bytes) -> bool:
        """Whether ``data`` looks like this format (cheap; no validation)."""
        ...

    def read(self, data: bytes) -> list[NoticeRecord]:
        """Every record of the file, or ``FileRejected`` listing every problem with its line."""
        ...


def read_file(
    data: bytes, readers: tuple[BasisNoticeReader, ...]
) -> tuple[str, list[NoticeRecord]]:
    """The records of ``data`` read by the first reader that accepts it, and that reader's name."""
    for reader in readers:
        if reader.accepts(data):
            return reader.name, reader.read(data)
    raise FileRejected(
        [
            "Die Datei ist keine Lieferung von Messbescheiden in einem bekannten Format "
            "(erwartet: XML nach docs/MESSBESCHEIDE.md, Namensraum "
            "„urn:openkasse:messbescheide:1“)."
        ]
    )
