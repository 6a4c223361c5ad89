"""Handing out an archived document (notice, mandate confirmation, proof): the download is
recorded first (proof of download, § 122a AO) and committed, then the file is sent."""

from __future__ import annotations

from flask import abort
from flask_login import current_user
from werkzeug.wrappers import Response

from core.kernel import archive
from portal.database import db

ERASED = (
    "Dieses Dokument wurde nach Ablauf seiner Aufbewahrungsfrist gelöscht. Die Kasse kann "
    "Ihnen bestätigen, was es enthielt (Prüfsumme)."
)


def send_recorded(document: archive.Document) -> Response:
    """Record that the logged-in user downloads ``document``, commit, and send it as a file."""
    if document.size_bytes and not document.content:  # erased by a retention run
        abort(404, description=ERASED)
    session = db()
    archive.record_download(session, document, user_id=current_user.id, actor=current_user.actor)
    session.commit()
    response = Response(document.content, mimetype=document.media_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{document.filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
