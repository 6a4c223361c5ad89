"""One XSD check for the SEPA files the town writes (pain.008 of a direct-debit run, pain.001
of a payout run): libxml2 (lxml) validates while it parses (``iterparse`` with the schema),
without the GIL, so a thread may do it beside other work; each transaction element is dropped
from the tree once parsed, so memory stays flat (the whole tree of a 100,000-item file took
600 MiB). A file the schema refuses raises a German :class:`ValidationError`."""

from __future__ import annotations

import io
import threading
from pathlib import Path

from lxml import etree

from core.kernel.errors import ValidationError


class StreamingSchema:
    """An XSD (parsed once per thread: lxml schemas are not shared between threads) and the
    tag of the repeated transaction element of the files it checks."""

    def __init__(self, xsd: Path, transaction_tag: str, refusal: str) -> None:
        self.xsd = xsd
        self.transaction_tag = transaction_tag
        self.refusal = refusal  # "Die … entspricht nicht dem Schema …", the file named
        self._local = threading.local()

    def schema(self) -> etree.XMLSchema:
        schema = getattr(self._local, "schema", None)
        if schema is None:
            schema = self._local.schema = etree.XMLSchema(etree.parse(str(self.xsd)))
        return schema

    def validate(self, xml: bytes) -> None:
        """Refuse ``xml`` unless the XSD accepts it (parsed and checked in one pass)."""
        try:
            for _event, element in etree.iterparse(
                io.BytesIO(xml),
                events=("end",),
                tag=self.transaction_tag,
                schema=self.schema(),
                # not resolve_entities=False: with a schema, iterparse then passes a cut-off
                # file (tests/unit/test_pain008_validation.py); the files are our own, no DTD
                no_network=True,
                huge_tree=True,
            ):
                element.clear()
                parent = element.getparent()
                while element.getprevious() is not None:
                    del parent[0]
        except etree.XMLSyntaxError as error:
            raise ValidationError(
                f"{self.refusal} (vermutlich ein unzulässiger Wert): {error}"
            ) from error
