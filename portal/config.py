"""Configuration from environment variables with safe defaults."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from core.kernel.db import DEFAULT_BUSY_TIMEOUT_MS
from core.payments.reservations import DEFAULT_HOLD

DEV_SECRET_KEY = "dev-only-insecure-secret-change-me"  # noqa: S105 - refused in production

# Variables read from the environment (all optional in development).
ENV_KEYS = (
    "SECRET_KEY",
    "DATABASE_URL",
    "OPENKASSE_ENV",
    "PUBLIC_BASE_URL",
    "ACCOUNT_VERIFY_MAX_AGE_HOURS",  # e-mail confirmation links (default 24)
    "PASSWORD_RESET_MAX_AGE_MINUTES",  # "Passwort vergessen" links (default 60)
    "PAYMENT_PROVIDER",  # which adapter takes card payments (portal/payments/provider.py)
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "STRIPE_API_BASE",
    "STRIPE_JS_URL",
    "SAML_SP_KEY_FILE",  # our SAML service provider's key pair (PEM files; default: a
    "SAML_SP_CERT_FILE",  # self-signed pair made in instance/saml_sp/)
    "SMTP_HOST",  # e-mail (outbox) — without it, queued mails stay queued
    "SMTP_PORT",
    "SMTP_SENDER",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_STARTTLS",
    "PRINT_SERVICE_DIR",  # the print service's pick-up folder (postal fallback batches)
    "PAYMENT_RESERVATION_MINUTES",  # how long a card payment attempt holds its items
    # Log-in sessions (identity/sessions.py) and throttling (identity/throttle.py); numbers.
    "PORTAL_IDLE_MINUTES",
    "PORTAL_SESSION_HOURS",
    "BACKOFFICE_IDLE_MINUTES",
    "BACKOFFICE_SESSION_HOURS",
    "TRUSTED_PROXY_COUNT",  # reverse proxies in front of the app that set X-Forwarded-For
    "LOGIN_LIMIT_PER_ACCOUNT",  # e.g. "10 per 15 minutes" (failed log-ins, sliding window)
    "LOGIN_LIMIT_PER_ADDRESS",
    "ACCOUNT_MAIL_LIMIT_PER_RECIPIENT",  # e.g. "3 per hour" (account e-mails to one address)
    "ACCOUNT_MAIL_LIMIT_PER_ADDRESS",  # e.g. "20 per hour" (such requests from one client)
    "DATABASE_BUSY_TIMEOUT_MS",  # how long a request waits for SQLite's write lock
    # "in-process" (SQLite default), "procrastinate" (PostgreSQL default: openkasse jobs worker)
    # or "external" (plain polling workers: openkasse jobs work --forever)
    "JOBS_WORKER",
)
INTEGER_KEYS = (
    "PORTAL_IDLE_MINUTES",
    "PORTAL_SESSION_HOURS",
    "BACKOFFICE_IDLE_MINUTES",
    "BACKOFFICE_SESSION_HOURS",
    "TRUSTED_PROXY_COUNT",
    "DATABASE_BUSY_TIMEOUT_MS",
)

JOBS_WORKERS = ("in-process", "procrastinate", "external")

# The demo and the tests talk to localstripe on loopback (make run starts it); production sets
# real keys and leaves STRIPE_API_BASE empty (Stripe's own API and Stripe.js from js.stripe.com).
LOCALSTRIPE = "http://127.0.0.1:8420"
DEFAULT_HOLD_MINUTES = int(DEFAULT_HOLD.total_seconds() // 60)


def _defaults(instance_path: str) -> dict[str, Any]:
    return {
        "OPENKASSE_ENV": "development",
        "SECRET_KEY": DEV_SECRET_KEY,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'openkasse.sqlite3'}",
        "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
        "PRINT_SERVICE_DIR": str(Path(instance_path) / "druckdienst"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": 3600,
        "MAX_CONTENT_LENGTH": 10 * 1024 * 1024,
        # Session ends (identity/sessions.py): OWASP ASVS 4.0.3 V3.3.2 — at most 12 h, and idle
        # time; clerks a working day and 30 minutes idle.
        "PORTAL_IDLE_MINUTES": 60,
        "PORTAL_SESSION_HOURS": 12,
        "BACKOFFICE_IDLE_MINUTES": 30,
        "BACKOFFICE_SESSION_HOURS": 8,
        # 0: the client address is the TCP peer; X-Forwarded-For is ignored (anyone can send it).
        "TRUSTED_PROXY_COUNT": 0,
        # Failed log-ins (identity/throttle.py), moving windows: per account from anywhere, and
        # per client address across accounts (a password-spraying guard).
        "LOGIN_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
        "LOGIN_LIMIT_PER_ADDRESS": "30 per 15 minutes",
        # Registration, "Passwort vergessen", "Link noch einmal senden" (identity/mail_throttle.py):
        # e-mails to one address (beyond it nothing is sent, the answer stays the same) and
        # such requests from one client address (beyond it a German 429).
        "ACCOUNT_MAIL_LIMIT_PER_RECIPIENT": "3 per hour",
        "ACCOUNT_MAIL_LIMIT_PER_ADDRESS": "20 per hour",
        "DATABASE_BUSY_TIMEOUT_MS": DEFAULT_BUSY_TIMEOUT_MS,
        # Seconds a browser may remember to use HTTPS only (production; one year, the value
        # hstspreload.org asks for).
        "HSTS_MAX_AGE": 31536000,
    }


def load(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The defaults, then the environment (ENV_KEYS), then ``overrides``; checked."""
    config = _defaults(instance_path)
    config.update({k: os.environ[k] for k in ENV_KEYS if os.environ.get(k)})
    config.update(overrides or {})
    for key in INTEGER_KEYS:
        try:
            config[key] = int(config[key])
        except (TypeError, ValueError):
            raise RuntimeError(f"{key} must be a whole number, not {config[key]!r}.") from None
    # The signed cookie itself expires with the longest session; the checks are server-side.
    config.setdefault(
        "PERMANENT_SESSION_LIFETIME",
        3600 * max(config["PORTAL_SESSION_HOURS"], config["BACKOFFICE_SESSION_HOURS"]),
    )
    if config["OPENKASSE_ENV"] != "production":
        config.setdefault("STRIPE_SECRET_KEY", "sk_test_openkasse_demo")
        config.setdefault("STRIPE_PUBLISHABLE_KEY", "pk_test_openkasse_demo")
        config.setdefault("STRIPE_WEBHOOK_SECRET", "whsec_openkasse_demo")
        config.setdefault("STRIPE_API_BASE", LOCALSTRIPE)
    hold = str(config.get("PAYMENT_RESERVATION_MINUTES") or DEFAULT_HOLD_MINUTES)
    if not hold.isdigit() or not 5 <= int(hold) <= 24 * 60:
        raise RuntimeError("PAYMENT_RESERVATION_MINUTES must be a whole number from 5 to 1440.")
    config["PAYMENT_RESERVATION_MINUTES"] = int(hold)
    api_base = config.get("STRIPE_API_BASE") or ""
    config.setdefault(
        "STRIPE_JS_URL",
        f"{api_base}/js.stripe.com/v3/" if api_base else "https://js.stripe.com/v3/",
    )
    # Jobs (core.jobs): the embedded SQLite default does them in a thread of the web process,
    # so `make run` needs nothing else; on PostgreSQL job workers run beside the web workers,
    # woken by procrastinate (core.jobs.queue), or polling the chunk table ("external").
    in_process = str(config["DATABASE_URL"]).startswith("sqlite")
    config.setdefault("JOBS_WORKER", "in-process" if in_process else "procrastinate")
    if config["JOBS_WORKER"] not in JOBS_WORKERS:
        raise RuntimeError('JOBS_WORKER must be "in-process", "procrastinate" or "external".')
    if config["JOBS_WORKER"] == "procrastinate" and in_process:
        raise RuntimeError('JOBS_WORKER "procrastinate" needs PostgreSQL (DATABASE_URL).')
    if config["OPENKASSE_ENV"] == "production":
        if config["SECRET_KEY"] in (DEV_SECRET_KEY, "") or len(config["SECRET_KEY"]) < 32:
            raise RuntimeError(
                "Production mode needs SECRET_KEY: a random value of at least 32 characters."
            )
        config.setdefault("SESSION_COOKIE_SECURE", True)
        config.setdefault("REMEMBER_COOKIE_SECURE", True)
    return config
