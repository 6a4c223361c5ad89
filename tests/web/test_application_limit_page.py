"""The citizen sees the daily application limit as a German message on the form, input kept."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask.testing import FlaskClient

from core.kernel import clock
from tests.integration.test_application_limits import _limit
from tests.web.test_address_change import citizen, move  # noqa: F401 - the fixture


def test_the_application_beyond_the_limit_is_refused_on_the_form(
    client: FlaskClient,
    db: Any,
    citizen: Any,  # noqa: F811
) -> None:
    m, _person = citizen
    _limit(db, m, 1)
    assert move(client, m).status_code == 302
    later = (clock.today() - timedelta(days=1)).isoformat()  # after the first move
    response = move(client, m, street="Zweite Straße", valid_from=later)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Sie haben heute bereits 1 Antrag gestellt" in page
    assert 'value="Zweite Straße"' in page
