"""The demo's and the tests' SAML identity provider on loopback: pysaml2's own IdP
(``saml2.server.Server``) behind a small Flask app, standing in for BundID itself. Not for
production: it vouches for whichever demo identity is picked on its log-in page.

* ``GET /metadata`` — its metadata (entity id, SSO endpoint, signing certificate);
* ``GET /sso/redirect`` — an AuthnRequest by HTTP-Redirect; shows its log-in page: the demo
  identities of core/demo/bundid_saml.py and the way of logging in (BundID's levels: user name
  and password = STORK-QAA-Level-1, ELSTER certificate = -3, Online-Ausweis = -4), preselected
  at the minimum the request asks for (RequestedAuthnContext);
* ``POST /sso/login`` — signs a Response with one assertion (both signed; the assertion
  encrypted for the SP when its metadata has an encryption certificate, as BundID does) carrying
  BundID's attributes (bPK2, trust level, names, e-mail) and answers with a form that posts it
  to the service provider's AssertionConsumerService (HTTP-POST);
* ``POST /_sp-metadata`` — registers an SP's metadata (otherwise fetched from its entity id).

For the tests' refusals the log-in form takes a few more fields, as a forged or broken answer
would look: ``sign`` (``none``, ``other`` = a key the SP does not know), ``audience``,
``lifetime`` (minutes, negative = already expired), ``in_response_to``.

Its key pair is made on first start in ``instance/demo_saml_idp/`` (never committed).
Usage: demo_saml_idp.py [PORT]   (default 8422; ``openkasse demo --bundid-saml URL`` points there)
"""

from __future__ import annotations

import html
import secrets
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flask
import requests
import werkzeug.serving

warnings.filterwarnings("ignore", message="CFB has been moved")  # pysaml2 7.5, unused mode
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT, saml  # noqa: E402
from saml2.assertion import Policy  # noqa: E402
from saml2.config import IdPConfig  # noqa: E402
from saml2.metadata import create_metadata_string  # noqa: E402
from saml2.server import Server  # noqa: E402
from saml2.time_util import in_a_while  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.demo.bundid_saml import IDENTITIES  # noqa: E402
from core.identity import saml as bundid  # noqa: E402
from core.identity.saml_keys import self_signed  # noqa: E402

WAYS = {
    "STORK-QAA-Level-1": "Benutzername und Passwort (Basisregistrierung)",
    "STORK-QAA-Level-3": "ELSTER-Zertifikat (substanziell)",
    "STORK-QAA-Level-4": "Online-Ausweis (hoch)",
}
LOCK = threading.Lock()


def _server(base_url: str, key: Path, cert: Path) -> Server:
    config = IdPConfig()
    config.load(
        {
            "entityid": f"{base_url}/metadata",
            "key_file": str(key),
            "cert_file": str(cert),
            "service": {
                "idp": {
                    "name": "Demo-BundID (SAML)",
                    "endpoints": {
                        "single_sign_on_service": [
                            (f"{base_url}/sso/redirect", BINDING_HTTP_REDIRECT)
                        ]
                    },
                    "name_id_format": [saml.NAMEID_FORMAT_TRANSIENT],
                    "want_authn_requests_signed": False,  # it does not know the SP's metadata
                },
            },
            "metadata": {},
        }
    )
    return Server(config=config)


def idp_app(base_url: str, directory: Path) -> flask.Flask:
    """The IdP at ``base_url``; its keys (and a second, foreign pair) in ``directory``."""
    app = flask.Flask(__name__)
    key, cert = self_signed(directory, "idp", "Demo-BundID")
    server = _server(base_url, key, cert)
    forger = _server(base_url, *self_signed(directory, "other", "Demo-BundID"))
    identities = {i["sub"]: i for i in IDENTITIES}

    @app.get("/metadata")
    def metadata() -> flask.Response:
        xml = create_metadata_string(None, server.config, 4, str(cert), str(key), sign=False)
        return flask.Response(xml, mimetype="application/samlmetadata+xml")

    @app.post("/_sp-metadata")
    def register_sp() -> tuple[str, int]:
        """Register a service provider's metadata (a test's SP that no URL serves)."""
        xml = flask.request.get_data(as_text=True)
        for known in (server, forger):
            known.metadata.load("inline", xml)
        return "", 204

    @app.get("/sso/redirect")
    def sso() -> str:
        request = _parse(server, flask.request.args.get("SAMLRequest", ""))
        wanted = _wanted(request)
        hidden = "".join(
            f'<input type="hidden" name="{n}" value="{html.escape(flask.request.args.get(n, ""))}">'
            for n in ("SAMLRequest", "RelayState")
        )
        ways = "".join(
            f'<p><label><input type="radio" name="level" value="{v}"'
            f"{' checked' if v == wanted else ''}> {html.escape(label)}</label></p>"
            for v, label in WAYS.items()
        )
        people = "".join(
            f'<p><button type="submit" name="sub" value="{html.escape(sub)}">'
            f"{html.escape(i['given_name'])} {html.escape(i['family_name'])}</button></p>"
            for sub, i in identities.items()
        )
        return (
            '<!doctype html><html lang="de"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width">'
            "<title>Demo-BundID – Anmelden</title></head><body><main>"
            "<h1>Demo-BundID: Anmelden</h1>"
            f"<p>Anmeldung für {html.escape(str(request.issuer.text))}</p>"
            f'<form method="post" action="{base_url}/sso/login">{hidden}'
            f"<fieldset><legend>Wie melden Sie sich an?</legend>{ways}</fieldset>"
            f"<h2>Demo-Identität wählen</h2>{people}</form></main></body></html>"
        )

    @app.post("/sso/login")
    def login() -> str:
        form = flask.request.form
        request = _parse(server, form.get("SAMLRequest", ""))
        person = identities.get(form.get("sub", ""))
        if person is None:
            flask.abort(400)
        level = form.get("level") or _wanted(request)
        sign = form.get("sign", "")
        signer = forger if sign == "other" else server
        minutes = int(form.get("lifetime") or 5)
        audience = form.get("audience") or request.issuer.text
        _know(signer, audience, request.assertion_consumer_service_url)
        with LOCK:  # the validity is the server's policy (its config): one answer at a time
            signer.config._idp_policy = Policy(
                {
                    "default": {
                        "lifetime": {"minutes": minutes},
                        "attribute_restrictions": None,
                        "name_form": "urn:oasis:names:tc:SAML:2.0:attrname-format:uri",
                    }
                },
                mds=signer.metadata,
            )
            response = signer.create_authn_response(
                identity={
                    bundid.BPK2: [person["sub"]],
                    bundid.TRUST_LEVEL: [level],
                    bundid.GIVEN_NAME: [person["given_name"]],
                    bundid.FAMILY_NAME: [person["family_name"]],
                    bundid.EMAIL: [person["email"]],
                },
                in_response_to=form.get("in_response_to") or request.id,
                destination=request.assertion_consumer_service_url,
                sp_entity_id=audience,
                name_id=saml.NameID(
                    format=saml.NAMEID_FORMAT_TRANSIENT, text=secrets.token_urlsafe(16)
                ),
                authn={"class_ref": level, "authn_auth": f"{base_url}/metadata"},
                sign_response=sign != "none",
                sign_assertion=sign != "none",
                # where the SP's metadata names an encryption certificate (only then: pysaml2
                # would otherwise leave an unencrypted assertion unsigned)
                encrypt_assertion=bool(signer.has_encrypt_cert_in_metadata(audience)),
            )
        return _post_form(request.assertion_consumer_service_url, str(response), form)

    return app


class _Validity(Policy):
    """The assertions' validity: ``minutes`` from now; a negative one is a window that ended
    that long ago (an assertion issued earlier, posted late), not a window ending before it
    starts."""

    def __init__(self, minutes: int, restrictions: dict[str, Any], mds: Any) -> None:
        super().__init__(restrictions, mds)
        self.minutes = minutes

    def conditions(self, sp_entity_id: str) -> Any:
        conditions = super().conditions(sp_entity_id)
        if self.minutes < 0:
            conditions.not_before = in_a_while(minutes=self.minutes - 5)
        return conditions


def _know(server: Server, entity_id: str, acs: str) -> None:
    """The demo IdP serves any service provider: one it has not seen has its metadata fetched
    from its entity id (ours is the metadata URL) — with its encryption certificate, so the
    assertion is encrypted for it —, or, where that URL answers nothing, is known from its
    request alone (entity id and AssertionConsumerService; the assertion then goes unencrypted)."""
    try:
        server.metadata[entity_id]
        return
    except KeyError:
        pass
    if entity_id.startswith(("http://", "https://")):
        try:
            fetched = requests.get(entity_id, timeout=5)
            if fetched.ok and "EntityDescriptor" in fetched.text:
                server.metadata.load("inline", fetched.text)
                return
        except requests.RequestException:
            pass
    server.metadata.load(
        "inline",
        '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'entityID="{html.escape(entity_id)}"><md:SPSSODescriptor '
        'protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">'
        f'<md:AssertionConsumerService Binding="{BINDING_HTTP_POST}" '
        f'Location="{html.escape(acs)}" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>',
    )


def _parse(server: Server, saml_request: str) -> Any:
    try:
        return server.parse_authn_request(saml_request, BINDING_HTTP_REDIRECT).message
    except Exception:  # any broken request is the caller's fault
        flask.abort(400)


def _wanted(request: Any) -> str:
    context = request.requested_authn_context
    refs = [r.text for r in context.authn_context_class_ref] if context is not None else []
    return next((r for r in refs if r in WAYS), "STORK-QAA-Level-1")


def _post_form(action: str, response_xml: str, form: Any) -> str:
    import base64

    encoded = base64.b64encode(response_xml.encode()).decode()
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        "<title>Demo-BundID – Weiterleitung</title></head>"
        '<body onload="document.forms[0].submit()"><main>'
        f'<form method="post" action="{html.escape(action)}">'
        f'<input type="hidden" name="SAMLResponse" value="{encoded}">'
        f'<input type="hidden" name="RelayState" value="{html.escape(form.get("RelayState", ""))}">'
        '<button type="submit">Weiter zum Portal</button></form></main></body></html>'
    )


class _Late:
    """The WSGI app of a server whose port is known only once it listens."""

    app: Any = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        return self.app(environ, start_response)


@dataclass
class RunningIdp:
    url: str

    @property
    def metadata_url(self) -> str:
        return f"{self.url}/metadata"


@contextmanager
def running_idp(directory: Path, port: int = 0) -> Iterator[RunningIdp]:
    """The IdP on a loopback port in a thread of this process (the tests' fixture)."""
    late = _Late()
    server = werkzeug.serving.make_server("127.0.0.1", port, late, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    late.app = idp_app(url, directory)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield RunningIdp(url)
    finally:
        server.shutdown()
        thread.join()
        server.server_close()


def main(port: int) -> None:
    url = f"http://127.0.0.1:{port}"
    app = idp_app(url, ROOT / "instance" / "demo_saml_idp")
    print(f"Demo-Identitätsdienst („BundID“, SAML): {url}/metadata", flush=True)
    werkzeug.serving.run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8422)
