"""The demo's identity provider on loopback (``make run``): oidc-provider-mock, a small OpenID
provider built on Authlib, with the demo identities of core/demo/bundid.py one click away on its
own log-in page. Not for production: it signs whatever identity is chosen.

Usage: demo_idp.py [PORT]   (default 8421; the portal's demo provider rows point there)
"""

from __future__ import annotations

import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # the provider still uses Authlib's old API

import oidc_provider_mock  # noqa: E402
import werkzeug.serving  # noqa: E402

from core.demo.bundid import IDENTITIES  # noqa: E402


def main(port: int) -> None:
    app = oidc_provider_mock.app(
        require_nonce=True,
        user_claims=[oidc_provider_mock.User(sub=i["sub"], claims=i["claims"]) for i in IDENTITIES],
    )
    print(f"Demo-Identitätsdienst („BundID“): http://127.0.0.1:{port}/", flush=True)
    werkzeug.serving.run_simple("127.0.0.1", port, app, threaded=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8421)
