"""Register the portal's webhook with localstripe (demo only): localstripe then signs and
delivers payment events to the portal like Stripe would. Usage: localstripe_webhook.py URL"""

from __future__ import annotations

import sys
import time
import urllib.parse
import urllib.request

LOCALSTRIPE = "http://127.0.0.1:8420"
DEMO_SECRET = "whsec_openkasse_demo"  # noqa: S105 - the demo's documented webhook secret


def main(url: str) -> None:
    body = urllib.parse.urlencode({"url": url, "secret": DEMO_SECRET}).encode()
    for _ in range(50):  # localstripe needs about a second to start
        try:
            urllib.request.urlopen(  # noqa: S310 - our own loopback URL
                f"{LOCALSTRIPE}/_config/webhooks/openkasse",
                data=body,
                timeout=2,
            ).close()
            print(f"localstripe: webhook → {url}")
            return
        except OSError:
            time.sleep(0.2)
    print("localstripe is not reachable: card payments in the demo are off.", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1])
