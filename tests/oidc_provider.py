"""A real OpenID provider on loopback for the tests and the demo: oidc-provider-mock (Authlib's
server: discovery, JWKS, authorization code + PKCE, one-time codes, signed ID tokens).

Its users' claims go into the ID token as given (``PUT /users/<sub>``), over the standard ones:
that is how a test makes the provider sign a token with another issuer, audience, expiry or nonce.
``POST /_rotate-key`` (added here) replaces its signing key, as a provider's key rotation does.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import flask
import oidc_provider_mock
import requests
import werkzeug.serving
from authlib import jose  # the provider's own key type


def provider_app(users: list[dict[str, Any]] = ()) -> flask.Flask:  # type: ignore[assignment]
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=u["sub"], claims=u["claims"]) for u in users],
    )

    @app.post("/_rotate-key")
    def rotate_key() -> tuple[str, int]:
        flask.g.oidc_provider_mock_storage.jwk = jose.RSAKey.generate_key(is_private=True)
        return "", 204

    return app


@dataclass
class Provider:
    url: str

    def set_user(self, sub: str, **claims: Any) -> None:
        requests.put(f"{self.url}/users/{sub}", json=claims, timeout=10).raise_for_status()

    def rotate_key(self) -> None:
        requests.post(f"{self.url}/_rotate-key", timeout=10).raise_for_status()

    def log_in(self, authorize_url: str, sub: str) -> str:
        """The provider's log-in form, submitted for ``sub``: returns where it redirects to."""
        form = requests.get(authorize_url, timeout=10)  # the provider's own log-in page
        form.raise_for_status()
        answer = requests.post(authorize_url, data={"sub": sub}, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:500]
        return str(answer.headers["Location"])


@contextmanager
def running_provider(port: int = 0, users: list[dict[str, Any]] = ()) -> Iterator[Provider]:  # type: ignore[assignment]
    server = werkzeug.serving.make_server("127.0.0.1", port, provider_app(users), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join()
        server.server_close()
