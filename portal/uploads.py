"""Uploaded files (proofs, meter photos): checked by their content, archived with a hash."""

from __future__ import annotations

from typing import Any

from flask import g

from core.kernel import archive
from portal.database import db

SIGNATURES = {b"%PDF": "application/pdf", b"\x89PNG": "image/png", b"\xff\xd8\xff": "image/jpeg"}
NOT_A_FILE = "Die Datei ist keine gültige PDF-, JPG- oder PNG-Datei."


def store_upload(
    field: Any,
    *,
    person_id: int,
    kind: str,
    filename: str,
    actor: str,
    allowed: tuple[str, ...] = tuple(SIGNATURES.values()),
) -> int | bool | None:
    """Archive the file of a FileField; None without upload, False (and a German error on the
    field) when the content is not one of the ``allowed`` types, whatever its name says."""
    upload = field.data
    if not upload or not getattr(upload, "filename", ""):
        return None
    content = upload.read()
    media_type = next((t for sig, t in SIGNATURES.items() if content.startswith(sig)), None)
    if media_type not in allowed:
        field.errors = [*field.errors, NOT_A_FILE]
        return False
    document = archive.store(
        db(),
        municipality_id=g.municipality.id,
        person_id=person_id,
        kind=kind,
        filename=filename,
        content=content,
        media_type=media_type,
        actor=actor,
    )
    return document.id
