"""localstripe (PyPI) on loopback: the Stripe server of the tests (shared/TOOLING.md)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.pg import free_port


@contextmanager
def running_localstripe() -> Iterator[str]:
    binary = shutil.which("localstripe") or str(Path(sys.executable).with_name("localstripe"))
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--from-scratch"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{base}/js.stripe.com/v3/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("localstripe did not start") from None
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def card_token(base: str, number: str = "4242424242424242") -> str:
    """What Stripe.js createToken does in the browser."""
    body = urllib.parse.urlencode(
        {
            "card[number]": number,
            "card[exp_month]": "12",
            "card[exp_year]": "2030",
            "card[cvc]": "123",
            "key": "pk_test_openkasse",
        }
    ).encode()
    with urllib.request.urlopen(urllib.request.Request(f"{base}/v1/tokens", data=body)) as r:
        return str(json.loads(r.read())["id"])


def authenticate(base: str, intent_ref: str, client_secret: str, success: bool = True) -> str:
    """What Stripe.js confirmCardPayment does for 3-D Secure (localstripe's stand-in)."""
    request = urllib.request.Request(
        f"{base}/v1/payment_intents/{intent_ref}/_authenticate?success={str(success).lower()}",
        data=json.dumps({"key": "pk_test_openkasse", "client_secret": client_secret}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request) as r:
        return str(json.loads(r.read())["status"])
