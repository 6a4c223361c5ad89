"""Configuration from environment variables with safe defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.db import DEFAULT_BUSY_TIMEOUT_MS

DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused in production

# Variables read from the environment (all optional in development).
ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "OPENKASSE_ENV",
    "PUBLIC_BASE_URL",
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_JS_URL",
    "SMTP_HOST",  # e-mail (outbox) — without it, queued mails stay queued
    "SMTP_PORT",
    "SMTP_SENDER",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "DATABASE_BUSY_TIMEOUT_MS",  # how long a request waits for SQLite's write lock
)

# The demo and the tests talk to localstripe on loopback (make run starts it); production sets
# real keys and leaves STRIPE_API_BASE empty (Stripe's own API and Stripe.js from js.stripe.com).
LOCALSTRIPE = "http://127.0.0.1:8420"


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    config: dict[str, Any] = {
        "OPENKASSE_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'openkasse.sqlite3'}",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        "DATABASE_BUSY_TIMEOUT_MS": DEFAULT_BUSY_TIMEOUT_MS,
        # Seconds a browser may remember to use HTTPS only (production; one year, the value
        # hstspreload.org asks for).
        "HSTS_MAX_AGE": 31536000,
    }
    config.update({k: os.environ[k] for k in ENV_KEYS if os.environ.get(k)})
    config.update(overrides or {})
    if config["OPENKASSE_ENV"] != "production":
        config.setdefault("STRIPE_SECRET_KEY", "sk_test_openkasse_demo")
        config.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_openkasse_demo")
        config.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_openkasse_demo")
        config.setdefault("STRIPE_API_BASE", LOCALSTRIPE)
    api_base = config.get("STRIPE_API_BASE") or ""
    config.setdefault(
        "STRIPE_JS_URL",
        f"{api_base}/js.stripe.com/v3/" if api_base else "https://js.stripe.com/v3/",
    )
    if config["OPENKASSE_ENV"] == "production":
        if config["SECRET_KEY"] in (DEV_SECRET_KEY, "") or len(config["SECRET_KEY"]) < 32:
            raise RuntimeError(
                "Production mode needs SECRET_KEY: a random value of at least 32 characters."
            )
        config.setdefault("SESSION_COOKIE_SECURE", True)
        config.setdefault("REMEMBER_COOKIE_SECURE", True)
    return config
