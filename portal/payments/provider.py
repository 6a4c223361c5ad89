"""The app's payment provider: chosen by ``PAYMENT_PROVIDER`` (default ``stripe``) and built once
in the app factory from the configuration, or handed to ``create_app`` (tests). Views and the
back office only call :func:`payment_provider` and see the port
(:class:`~core.payments.card.provider.PaymentProvider`): an ePayBL/XBezahldienste adapter is one
more entry in :data:`ADAPTERS` (with its configuration), no view changes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Flask, current_app

from core.payments.card.provider import PaymentProvider
from core.payments.card.stripe import StripeProvider

EXTENSION = "openkasse.payment_provider"


def stripe_from_config(config: Mapping[str, Any], *, testing: bool) -> PaymentProvider:
    return StripeProvider(
        secret_key=config.get("STRIPE_SECRET_KEY", ""),
        publishable_key=config.get("STRIPE_PUBLISHABLE_KEY", ""),
        webhook_secret=config.get("STRIPE_WEBHOOK_SECRET", ""),
        js_url=config["STRIPE_JS_URL"],
        api_base=config.get("STRIPE_API_BASE") or None,
        max_network_retries=0 if testing else 2,
    )


# Provider name (config PAYMENT_PROVIDER) → how to build it from the app's configuration.
ADAPTERS: dict[str, Callable[..., PaymentProvider]] = {"stripe": stripe_from_config}


def install(app: Flask, provider: PaymentProvider | None = None) -> None:
    """Wire the provider into the app: the given one, else the configured adapter."""
    if provider is None:
        name = app.config.get("PAYMENT_PROVIDER") or "stripe"
        if name not in ADAPTERS:
            raise RuntimeError(f"PAYMENT_PROVIDER must be one of {sorted(ADAPTERS)}, not {name!r}.")
        provider = ADAPTERS[name](app.config, testing=app.testing)
    app.extensions[EXTENSION] = provider


def payment_provider() -> PaymentProvider:
    """The provider wired into the running app."""
    found: PaymentProvider = current_app.extensions[EXTENSION]
    return found
