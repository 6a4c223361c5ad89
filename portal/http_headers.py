"""Response headers that keep personal data out of caches and the server anonymous.

- ``Cache-Control: no-store`` on every response except static assets (CSS, scripts, images,
  fonts and the municipality's theme): pages of logged-in users, token pages (payment link,
  reading card), PDFs (notices, receipts, mandates, reading cards), pain.008/XML downloads and
  error pages all carry personal data or secrets, and a shared computer or proxy must not keep
  them. An allow-list of what may be cached is the safe default: a new download is covered.
- No ``Server``/``X-Powered-By`` banner naming software and versions (the Werkzeug request
  handler of ``openkasse run`` is covered in :mod:`portal.serving`).
- In production (``OPENKASSE_ENV=production``, served over HTTPS only) HSTS: browsers refuse
  plain HTTP for ``HSTS_MAX_AGE`` seconds, so a network attacker cannot strip TLS.
"""

from __future__ import annotations

from flask import Flask, Response, request

CACHEABLE_ENDPOINTS = frozenset({"static", "portal.theme"})
BANNER_HEADERS = ("Server", "X-Powered-By")


def install(app: Flask) -> None:
    hsts = None
    if app.config["OPENKASSE_ENV"] == "production":
        hsts = f"max-age={int(app.config['HSTS_MAX_AGE'])}; includeSubDomains"

    @app.after_request
    def _privacy_headers(response: Response) -> Response:
        if request.endpoint not in CACHEABLE_ENDPOINTS or response.status_code >= 400:
            response.headers["Cache-Control"] = "no-store"
            response.headers.pop("Expires", None)
        for header in BANNER_HEADERS:
            response.headers.pop(header, None)
        if hsts:
            response.headers["Strict-Transport-Security"] = hsts
        return response
