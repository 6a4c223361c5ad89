"""The clerk's person search folds umlauts, ß and diacritics on both sides (point 18a), on
SQLite and PostgreSQL, through the stored ``person.search_name`` core keeps up to date."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from alembic import command
from sqlalchemy import text

from core.kernel.db import make_engine
from core.kernel.name_folding import search_name
from core.persons.models import PersonKind, search_persons
from core.persons.search import find_persons
from portal.cli.db import alembic_config

MUELLERS = ["Müller", "Mueller", "Muller", "MÜLLER", "Mu\u0308ller"]  # the last: decomposed ü


def _names(persons: list[Any]) -> set[str]:
    return {p.display_name for p in persons}


def test_every_spelling_of_mueller_finds_all_of_them(db: Any, make: Any) -> None:
    m = make.municipality()
    for family in MUELLERS:
        make.person(m, family_name=family, given_name="Anna")
    make.person(m, family_name="Miller", given_name="Anna")
    for query in ["mueller", "MUELLER"]:
        found = [p.family_name for p in find_persons(db, m.id, query)]
        assert sorted(found) == sorted(f for f in MUELLERS if f != "Muller"), query
    for query in ["Müller", "müller", "Mu\u0308ller"]:  # either spelling of the umlaut
        assert sorted(p.family_name for p in find_persons(db, m.id, query)) == sorted(MUELLERS)
    # plain "muller" (dots dropped) finds every Müller and the Muller, not the Mueller
    assert sorted(p.family_name for p in find_persons(db, m.id, "muller")) == sorted(
        ["Müller", "Muller", "MÜLLER", "Mu\u0308ller"]
    )
    assert len(find_persons(db, m.id, "anna mueller")) == 4  # every word must match
    assert find_persons(db, m.id, "berta mueller") == []


@pytest.mark.parametrize(
    ("stored", "query"),
    [
        ("Yılmaz", "Yilmaz"),
        ("Yilmaz", "Yılmaz"),
        ("Łukasz Żółć", "lukasz zolc"),
        ("Sørensen", "sorensen"),
        ("Strauß", "strauss"),
        ("Strauss", "Strauß"),
        ("Ærøskøbing", "aeroskobing"),
        ("Nguyễn", "nguyen"),
        ("Čapek", "capek"),
        ("Đorđević", "dordevic"),
        ("İnönü", "inonu"),
        ("Bäcker", "baecker"),
    ],
)
def test_diacritics_and_special_letters_fold_on_both_sides(
    db: Any, make: Any, stored: str, query: str
) -> None:
    m = make.municipality()
    person = make.person(m, family_name=stored)
    make.person(m, family_name="Schmidt")
    assert find_persons(db, m.id, query) == [person]
    assert find_persons(db, m.id, stored) == [person]


def test_company_names_and_renamed_persons_are_found(db: Any, make: Any) -> None:
    m = make.municipality()
    shop = make.person(m, kind=PersonKind.BUSINESS, company_name="Bäckerei Grün GmbH")
    assert search_persons(db, m.id, "baeckerei gruen") == [shop]
    person = make.person(m, family_name="Schulz")
    person.family_name = "Schölzel"
    db.flush()  # core keeps the folded name in step with every change
    assert search_persons(db, m.id, "schoelzel") == [person]
    assert search_persons(db, m.id, "schulz") == []


def test_odd_queries_find_nothing_instead_of_failing(db: Any, make: Any) -> None:
    m = make.municipality()
    make.person(m, family_name="Muster")
    for query in ["%", "_", "!!!", "9" * 30, "²", "'; DROP TABLE person; --"]:
        assert find_persons(db, m.id, query) == [], query


def test_search_uses_the_stored_folded_name(db: Any, make: Any) -> None:
    m = make.municipality()
    person = make.person(m, family_name="Yılmaz", given_name="Zoë")
    stored = db.execute(
        text("SELECT search_name FROM person WHERE id = :id"), {"id": person.id}
    ).scalar()
    assert stored == search_name("Zoë", "Yılmaz") == "zoe yilmaz"


def test_the_migration_folds_the_names_already_stored(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fold.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "f612e87a5a99")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO municipality (id, slug, name, official_key, state, creditor_id, iban,"
                " bic, bank_name, cash_office_name, street, postal_code, city, email, phone,"
                " kassenzeichen_prefix, primary_color, created_at) VALUES (1, 'k', 'K',"
                " '00000001', 'NW', 'DE98ZZZ09999999999', 'DE89370400440532013000', 'COBADEFFXXX',"
                " 'B', 'K', 'M 1', '12345', 'K', 'k@x.example', '1', '001', '#0b4f8a',"
                " '2026-01-01 00:00:00')"
            )
        )
        conn.execute(
            text(
                "INSERT INTO person (municipality_id, number, kind, given_name, family_name,"
                " created_at) VALUES (1, 1, 'natural', 'Jürgen', 'Müller', '2026-01-01 00:00:00')"
            )
        )
    command.upgrade(config, "head")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT search_name FROM person")).scalar() == (
            "juergen mueller jurgen muller"
        )
    engine.dispose()
