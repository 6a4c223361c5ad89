"""Every page's <title> is plain text: base.html puts only the text of a page's title block in
(HTML shows markup inside <title> literally, as the reading thank-you page did with its
``<script …>``), and every page names itself."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import nodes

from core.identity.models import Role
from tests.conftest import csrf_token, login, staff_login

TITLE = re.compile(r"<title>(.*?)</title>", re.S)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def title_of(response: Any) -> str:
    found = TITLE.findall(response.get_data(as_text=True))
    assert len(found) == 1, found
    return found[0]


EXTENDS = re.compile(r'\{%-?\s*extends\s+"([^"]+)"')


def page_templates() -> list[Path]:
    """Every page template (one that extends a layout and is not itself a layout)."""
    extending = {
        p: EXTENDS.search(p.read_text("utf-8"))
        for p in TEMPLATES.rglob("*.html")
        if "documents" not in p.parts
    }
    layouts = {m.group(1) for m in extending.values() if m}
    return sorted(
        p for p, m in extending.items() if m and str(p.relative_to(TEMPLATES)) not in layouts
    )


@pytest.mark.parametrize("path", page_templates(), ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_every_page_has_a_title_block_of_text_only(app: Flask, path: Path) -> None:
    tree = app.jinja_env.parse(path.read_text("utf-8"))
    blocks = [b for b in tree.find_all(nodes.Block) if b.name == "title"]
    assert blocks, "no title block: the page would be named after the site alone"
    markup = [d.data for b in blocks for d in b.find_all(nodes.TemplateData) if "<" in d.data]
    assert not markup, markup


def test_markup_in_a_title_block_never_reaches_the_title(app: Flask) -> None:
    page = app.jinja_env.from_string(
        '{% extends "base.html" %}{% block title %}Erhalten<script src="x.js"></script>'
        " {{ name }}{% endblock %}"
    )
    with app.test_request_context("/"):
        rendered = page.render(name="<b>Müller & Söhne</b>")
    [title] = TITLE.findall(rendered)
    assert "<" not in title and "script" not in title
    assert html.unescape(title).startswith("Erhalten <b>Müller & Söhne</b> – ")


def test_the_reading_thank_you_page(client: FlaskClient, setup_meter: Any) -> None:
    url = setup_meter
    done = client.post(url, data={"csrf_token": csrf_token(client, url), "value": "290"})
    assert done.status_code == 200
    title = title_of(done)
    assert "<" not in title and title.startswith("Zählerstand erhalten – ")
    body = done.get_data(as_text=True)
    assert body.count("js/reading_done.js") == 1  # the script still runs, from the body


@pytest.fixture
def setup_meter(db: Any, make: Any, app: Flask) -> str:
    """The reading form's URL for a meter with last year's reading (as the card's QR code)."""
    from core.kernel import clock
    from core.levies.water import links as water_links
    from core.levies.water import models as water
    from core.levies.water import readings as water_readings
    from core.tenancy.statutes import Statute
    from tests.integration.test_water_flow import WATER, meter

    m = make.municipality()
    db.add(
        Statute(
            municipality_id=m.id,
            levy="water_fee",
            valid_from=date(2020, 1, 1),
            source="Wassergebührensatzung (Test)",
            data=WATER,
        )
    )
    w = meter(db, m, make.person(m))
    year = clock.today().year
    water_readings.submit_reading(
        db,
        meter=w,
        period=year - 1,
        value=195,
        read_on=date(year - 1, 12, 20),
        as_of=date(year - 1, 12, 31),
        source=water.ReadingSource.CARD,
        band_percent=50,
        confirmed=False,
        actor="test",
    )
    db.commit()
    token = water_links.reading_token(app.config["SECRET_KEY"], w, year, issued_at=clock.now())
    return f"/{m.slug}/zaehlerstand/{year}/{token}"


def test_no_page_without_arguments_has_markup_in_its_title(
    client: FlaskClient, app: Flask, make: Any
) -> None:
    m = make.municipality()
    make.sepa_statute(m)
    user = make.user()
    make.person(m, user=user)
    clerk = make.user(role=Role.CLERK, municipality=m)
    staff = app.test_client()
    staff_login(staff, clerk.email)
    login(client, m.slug, user.email)
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or set(rule.arguments) - {"muni"}:
            continue
        if rule.endpoint == "static" or rule.rule.endswith((".css", ".js", ".pdf", ".xml")):
            continue
        url = rule.build({"muni": m.slug} if "muni" in rule.arguments else {})[1]
        who = staff if url.startswith("/backoffice") else client
        response = who.get(url)
        if response.status_code != 200 or response.mimetype != "text/html":
            continue
        assert "<" not in title_of(response), url
        seen += 1
    assert seen >= 10
