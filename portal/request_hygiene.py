"""Input hygiene at the edge and the last-resort answers for input the database refuses.

- ``<int:…>`` in every route accepts only what fits the database's id columns (``INTEGER``:
  32 bits on PostgreSQL, 64 on SQLite); anything larger is simply not found (404) instead of
  overflowing the database driver.
- NUL and other control characters are refused in the path, the query string, form fields,
  file names and JSON bodies (tab, CR and LF are allowed in form fields and JSON: multi-line
  text). They are never meant as input, PostgreSQL cannot store NUL at all, and they would end up
  in names, letters and logs.
- A ``DataError``/``OverflowError`` that still reaches the top (a value the database cannot take)
  becomes a German 400 page; a busy database (SQLite's write lock, PostgreSQL's serialization
  failures and lock timeouts) a German 503 with ``Retry-After``. Both roll the transaction back
  first. Every other error stays a logged 500: genuine bugs must remain visible.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, Response, abort, current_app, g, render_template, request
from sqlalchemy.exc import DataError, OperationalError, StatementError
from werkzeug.routing import IntegerConverter, Map

from core.kernel.db import is_busy_error
from portal import database

# Ids and numbers in URLs are INTEGER columns: signed 32-bit on PostgreSQL (the narrower of the
# two backends), so no row can have a larger id.
DATABASE_INT_MAX = 2**31 - 1
RETRY_AFTER_SECONDS = 5

# C0 controls, DEL and C1 controls. In one-line places (path, query string) all of them are
# refused; in form fields and JSON strings tab, LF and CR are allowed (text areas).
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTROL_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")

CONTROL_CHARACTERS_TEXT = (
    "Ihre Eingabe enthält unzulässige Steuerzeichen (zum Beispiel aus einem kopierten Text). "
    "Bitte gehen Sie zurück, geben Sie den Text noch einmal von Hand ein und senden Sie das "
    "Formular erneut."
)
BAD_VALUE_TEXT = (
    "Ein eingegebener Wert ist zu groß oder hat ein ungültiges Format. Bitte gehen Sie zurück "
    "und prüfen Sie Ihre Eingaben."
)
BUSY_TEXT = (
    "Die Datenbank ist gerade beschäftigt – bitte versuchen Sie es in einem Moment erneut. "
    "Es wurde nichts gespeichert."
)


class DatabaseIntConverter(IntegerConverter):
    """Werkzeug's ``int`` converter limited to what an ``INTEGER`` column holds (0 … 2³¹−1), so
    that the database never sees a number it cannot compare with an id (``OverflowError`` on
    SQLite from 2⁶³, ``DataError`` on PostgreSQL from 2³¹). A larger one does not match: 404."""

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = None,
        signed: bool = False,
    ) -> None:
        if max is None or max > DATABASE_INT_MAX:
            max = DATABASE_INT_MAX
        if signed and (min is None or min < -DATABASE_INT_MAX - 1):
            min = -DATABASE_INT_MAX - 1
        super().__init__(map, fixed_digits, min, max, signed)


def install(app: Flask) -> None:
    """Install the converter (before any route is registered) and the hooks and handlers."""
    app.url_map.converters["int"] = DatabaseIntConverter
    # A url_value_preprocessor of the app runs before every blueprint's preprocessors (the
    # municipal one looks the slug up in the database) and before the before_request hooks.
    app.url_value_preprocessor(_refuse_control_characters)
    app.register_error_handler(DataError, _bad_value)
    app.register_error_handler(OverflowError, _bad_value)
    app.register_error_handler(StatementError, _statement_error)


def contains_control_characters(value: str, *, multi_line: bool) -> bool:
    pattern = _CONTROL_MULTI_LINE if multi_line else _CONTROL_ONE_LINE
    return pattern.search(value) is not None


def _refuse_control_characters(_endpoint: str | None, _values: dict[str, Any] | None) -> None:
    one_line = [request.path, *(text for pair in request.args.items(multi=True) for text in pair)]
    if any(contains_control_characters(v, multi_line=False) for v in one_line):
        abort(400, description=CONTROL_CHARACTERS_TEXT)
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    texts = [text for pair in request.form.items(multi=True) for text in pair]
    texts += [f.filename or "" for _name, f in request.files.items(multi=True)]
    if request.is_json:
        texts += list(_json_strings(request.get_json(silent=True)))
    if any(contains_control_characters(v, multi_line=True) for v in texts):
        abort(400, description=CONTROL_CHARACTERS_TEXT)


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)


def error_page(title: str, text: str, code: int) -> tuple[str, int]:
    return render_template("error.html", title=title, text=text, code=code), code


def _bad_value(error: Exception) -> tuple[str, int]:
    database.rollback()
    # The class only: the message of a DataError carries the statement's parameters.
    current_app.logger.warning(
        "Refused a value the database cannot store (%s) at %s",
        type(getattr(error, "orig", None) or error).__name__,
        request.endpoint,
    )
    return error_page("Eingabe ungültig", BAD_VALUE_TEXT, 400)


def _statement_error(error: StatementError) -> Response | tuple[str, int]:
    """DataError and OperationalError are StatementErrors too; Flask picks the most specific
    handler, so this one sees the others: busy database, or a bind value that overflowed."""
    if isinstance(error, OperationalError) and is_busy_error(error):
        database.rollback()
        # The rollback expired the loaded municipality; reloading it would wait for the same
        # lock again. The page does without its name and colours.
        g.pop("municipality", None)
        current_app.logger.warning("Database busy at %s; asked to retry", request.endpoint)
        body, code = error_page("Bitte erneut versuchen", BUSY_TEXT, 503)
        return Response(body, code, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(error.orig, OverflowError | DataError):
        return _bad_value(error)
    raise error  # a genuine bug: Flask logs it and answers 500
