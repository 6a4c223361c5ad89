"""The demo's identity providers on loopback (``make run``): oidc-provider-mock, a small OpenID
provider built on Authlib, with the demo identities of core/demo/bundid.py (or, with ``muk``, the
company-account identities of core/demo/company_account.py) one click away on its own log-in
page. Not for production: it signs whatever identity is chosen.

Usage: demo_idp.py [PORT] [bundid|muk]   (default 8421 bundid; make run: 8423 muk)
"""

from __future__ import annotations

import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # the provider still uses Authlib's old API

import oidc_provider_mock  # noqa: E402
import werkzeug.serving  # noqa: E402

from core.demo import bundid, company_account  # noqa: E402

KINDS = {
    "bundid": ("BundID", bundid.IDENTITIES),
    "muk": ("Mein Unternehmenskonto", company_account.IDENTITIES),
}


def main(port: int, kind: str = "bundid") -> None:
    label, identities = KINDS[kind]
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=i["sub"], claims=i["claims"]) for i in identities],
    )
    print(f"Demo-Identitätsdienst („{label}“): http://127.0.0.1:{port}/", flush=True)
    werkzeug.serving.run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 8421,
        sys.argv[2] if len(sys.argv) > 2 else "bundid",
    )
