"""A GET view that may write starts its transaction as a writer (SQLite ``BEGIN IMMEDIATE``).

The race behind "Bitte erneut versuchen" on the payment result: a page view's reading
transaction (``BEGIN DEFERRED``) read first; meanwhile the provider's webhook (or the job worker)
committed; the view's own write then could not upgrade its snapshot and failed as busy at once.
Here the concurrent writer commits deterministically between the view's read and its write.
"""

from __future__ import annotations

import ast
import sqlite3
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.kernel.db import make_engine
from core.tenancy.municipalities import Municipality
from portal.app import create_app
from portal.database import WRITES, writes
from portal.database import db as request_db
from tests.conftest import STRIPE_TEST_CONFIG, migrated_database
from tests.factories import municipality

WRITING_GET_VIEWS = (
    "portal.pay_result",
    "portal.pay_attempt",
    "portal.verify_email",
    "backoffice.direct_debit_xml",
)


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> str:
    return migrated_database("sqlite", "writing", tmp_path_factory.mktemp("writing"), request)


@pytest.fixture
def file_app(sqlite_file: str) -> Flask:
    """The app's real engine on a file (WAL), not the tests' shared connection."""
    config = {"TESTING": True, "SECRET_KEY": "test-secret", "DATABASE_URL": sqlite_file}
    return create_app({**config, "DATABASE_BUSY_TIMEOUT_MS": 200, **STRIPE_TEST_CONFIG})


@pytest.fixture
def slug(sqlite_file: str) -> str:
    engine = make_engine(sqlite_file)
    with engine.begin() as conn, Session(bind=conn) as session:
        slug = municipality(session).slug
    engine.dispose()
    return slug


def _other_writer(url: str, slug: str, phone: str) -> bool:
    """Someone else's write (the webhook), not waiting at all: True if it committed."""
    other = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None, timeout=0)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("UPDATE municipality SET phone = ? WHERE slug = ?", (phone, slug))
        other.execute("COMMIT")
        return True
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    finally:
        other.close()


def _reads_then_writes(app: Flask, slug: str, outcome: dict[str, bool]) -> str:
    session = request_db()
    found = session.scalars(select(Municipality).where(Municipality.slug == slug)).one()
    outcome["other_committed"] = _other_writer(app.config["DATABASE_URL"], slug, "+49 30 1")
    session.execute(update(Municipality).where(Municipality.id == found.id).values(bic="NEU"))
    session.commit()
    return "gebucht"


def test_a_reading_get_view_that_writes_loses_the_race(file_app: Flask, slug: str) -> None:
    """The cause of the flaky test, reproduced: read, another writer commits, write → 503."""
    outcome: dict[str, bool] = {}
    view = lambda: _reads_then_writes(file_app, slug, outcome)  # noqa: E731
    file_app.add_url_rule("/_probe/read-then-write", "read_then_write", view)
    response = file_app.test_client().get("/_probe/read-then-write")
    assert outcome == {"other_committed": True}
    assert response.status_code == 503
    assert "Bitte erneut versuchen" in response.get_data(as_text=True)


def test_a_get_view_marked_writes_holds_the_write_lock_and_succeeds(
    file_app: Flask, slug: str
) -> None:
    outcome: dict[str, bool] = {}
    view = writes(lambda: _reads_then_writes(file_app, slug, outcome))
    file_app.add_url_rule("/_probe/writer", "writer", view)
    response = file_app.test_client().get("/_probe/writer")
    assert response.status_code == 200 and response.get_data(as_text=True) == "gebucht"
    assert outcome == {"other_committed": False}  # it would have waited its turn (busy timeout)
    assert _other_writer(file_app.config["DATABASE_URL"], slug, "+49 30 2")  # and then goes ahead
    engine = make_engine(file_app.config["DATABASE_URL"])
    with Session(engine) as session:
        stored = session.scalars(select(Municipality).where(Municipality.slug == slug)).one()
        assert (stored.bic, stored.phone) == ("NEU", "+49 30 2")
    engine.dispose()


@pytest.mark.parametrize("endpoint", WRITING_GET_VIEWS)
def test_the_real_writing_get_views_start_as_writers(
    file_app: Flask, slug: str, endpoint: str
) -> None:
    """The payment result, resuming an attempt, the e-mail link and the recorded download."""
    assert getattr(file_app.view_functions[endpoint], WRITES, False)
    path = {
        "portal.pay_result": f"/{slug}/zahlvorgang/t/ergebnis",
        "portal.pay_attempt": f"/{slug}/zahlvorgang/t",
        "portal.verify_email": f"/{slug}/konto/bestaetigen/t",
        "backoffice.direct_debit_xml": "/backoffice/lastschrift/1/datei.xml",
    }[endpoint]
    with file_app.test_request_context(path, method="GET"):
        request_db().execute(select(Municipality.id)).all()
        assert not _other_writer(file_app.config["DATABASE_URL"], slug, "+49 30 3")


def test_an_ordinary_page_view_still_reads_past_a_writer(file_app: Flask, slug: str) -> None:
    with file_app.test_request_context(f"/{slug}/zahlvorgang/t/quittung.pdf", method="GET"):
        request_db().execute(select(Municipality.id)).all()
        assert _other_writer(file_app.config["DATABASE_URL"], slug, "+49 30 4")


def _calls(
    function: ast.FunctionDef, local: dict[str, ast.FunctionDef], seen: set[str]
) -> set[str]:
    """Names called in ``function`` and (transitively) in the module's own functions it calls."""
    names: set[str] = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Call):
            continue
        called = node.func
        name = called.attr if isinstance(called, ast.Attribute) else getattr(called, "id", "")
        names.add(name)
        if isinstance(called, ast.Name) and name in local and name not in seen:
            seen.add(name)
            names |= _calls(local[name], local, seen)
    return names


def test_every_get_only_view_that_commits_is_marked_writes() -> None:
    """A new GET view that commits (itself or through carry_out) must be marked ``writes``."""
    root = Path(__file__).resolve().parents[2]
    unmarked = []
    for path in [*(root / "portal").rglob("*.py"), *(root / "backoffice").rglob("*.py")]:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        local = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
        for function in local.values():
            decorators = [ast.unparse(d) for d in function.decorator_list]
            if not any(d.startswith("bp.get(") for d in decorators) or "writes" in decorators:
                continue
            if _calls(function, local, {function.name}) & {"commit", "carry_out"}:
                unmarked.append(f"{path.relative_to(root)}:{function.lineno} {function.name}")
    assert unmarked == []
