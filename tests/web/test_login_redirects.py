"""After log-in the browser goes to a path on this site — never to another host, never a 500."""

from typing import Any
from urllib.parse import quote, urlsplit

import pytest
from flask.testing import FlaskClient

from core.identity.models import Role
from portal.identity.redirects import is_same_site_path
from tests.conftest import csrf_token
from tests.factories import PASSWORD

# Raw values of ``next`` as they arrive after URL-decoding.
NASTY = [
    "//evil.example/",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/x",
    "/\r\nSet-Cookie: a=b",
    "\t//evil.example",
    " /konto",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "https://evil.example/",
    "https:evil.example",
    "javascript:alert(1)",
    "//evil.example@good/",
    "///evil.example",
    "evil.example",
    "/%2F/evil.example",
    "/%5Cevil.example",
    "/\x00/x",
    "/\x7f/x",
    "/\uff0f/evil.example",  # fullwidth solidus
    "/\u2215evil.example",
    "/" + "a" * 5000,
    "",
]


@pytest.mark.parametrize("target", NASTY)
def test_nasty_targets_are_refused(target: str) -> None:
    assert not is_same_site_path(target)


@pytest.mark.parametrize(
    "target", ["/", "/kommune1/konto", "/kommune1/hunde?x=1&y=%2F", "/backoffice/personen?q=a#b"]
)
def test_same_site_paths_are_kept(target: str) -> None:
    assert is_same_site_path(target)


def _post_login(client: FlaskClient, url: str, email: str) -> Any:
    return client.post(
        url,
        # the form's own page without the query: a next with control characters is refused
        # at the edge already when the page is fetched
        data={
            "csrf_token": csrf_token(client, url.split("?")[0]),
            "email": email,
            "password": PASSWORD,
        },
    )


def _assert_refused_or_same_site(response: Any, default: str) -> None:
    """A ``next`` with control characters is refused at the edge (German 400, no redirect at
    all: request hygiene); any other bad target logs in and falls back to the default page."""
    if response.status_code == 400:
        assert "Location" not in response.headers
        assert "Steuerzeichen" in response.get_data(as_text=True) or "ungültig" in (
            response.get_data(as_text=True)
        )
        return
    assert response.status_code == 302
    _assert_same_site(response.headers["Location"], default)


def _assert_same_site(location: str, default: str) -> None:
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert location.endswith(default), location


@pytest.mark.parametrize("target", [t for t in NASTY if t])
def test_portal_login_falls_back_to_the_account(
    client: FlaskClient, make: Any, target: str
) -> None:
    m = make.municipality()
    u = make.user()
    url = f"/{m.slug}/anmelden?next={quote(target, safe='')}"
    _assert_refused_or_same_site(_post_login(client, url, u.email), f"/{m.slug}/konto")


@pytest.mark.parametrize("target", [t for t in NASTY if t])
def test_backoffice_login_falls_back_to_the_start(
    client: FlaskClient, make: Any, target: str
) -> None:
    m = make.municipality()
    clerk = make.user(role=Role.CLERK, municipality=m)
    url = f"/backoffice/anmelden?next={quote(target, safe='')}"
    _assert_refused_or_same_site(_post_login(client, url, clerk.email), "/backoffice/")


def test_a_same_site_next_is_followed(client: FlaskClient, make: Any) -> None:
    m = make.municipality()
    u = make.user()
    url = f"/{m.slug}/anmelden?next={quote(f'/{m.slug}/hunde?a=1', safe='')}"
    assert _post_login(client, url, u.email).headers["Location"] == f"/{m.slug}/hunde?a=1"
