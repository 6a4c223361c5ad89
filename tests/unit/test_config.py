import pytest

from portal.app import create_app
from portal.config import DEV_SECRET_KEY


def test_production_refuses_default_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"OPENKASSE_ENV": "production", "DATABASE_URL": "sqlite://"})
    with pytest.raises(RuntimeError):
        create_app(
            {"OPENKASSE_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "sqlite://"}
        )


def test_production_with_real_secret_sets_secure_cookies() -> None:
    app = create_app(
        {"OPENKASSE_ENV": "production", "SECRET_KEY": "x" * 40, "DATABASE_URL": "sqlite://"}
    )
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///tmp-env-test.sqlite3")
    app = create_app()
    assert app.config["DATABASE_URL"] == "sqlite:///tmp-env-test.sqlite3"
    assert app.config["SECRET_KEY"] == DEV_SECRET_KEY


def test_card_payment_hold_is_configurable_and_checked() -> None:
    base = {"DATABASE_URL": "sqlite://"}
    assert create_app(base).config["PAYMENT_RESERVATION_MINUTES"] == 30
    assert (
        create_app({**base, "PAYMENT_RESERVATION_MINUTES": "45"}).config[
            "PAYMENT_RESERVATION_MINUTES"
        ]
        == 45
    )
    for bad in ("abc", "0", "-5", "99999"):
        with pytest.raises(RuntimeError, match="PAYMENT_RESERVATION_MINUTES"):
            create_app({**base, "PAYMENT_RESERVATION_MINUTES": bad})


def test_session_and_proxy_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BACKOFFICE_IDLE_MINUTES", "15")
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "1")
    monkeypatch.setenv("LOGIN_LIMIT_PER_ACCOUNT", "5 per 30 minutes")
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["BACKOFFICE_IDLE_MINUTES"] == 15
    assert app.config["TRUSTED_PROXY_COUNT"] == 1
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per 30 minutes"
    monkeypatch.setenv("TRUSTED_PROXY_COUNT", "zwei")
    with pytest.raises(RuntimeError, match="TRUSTED_PROXY_COUNT"):
        create_app({"DATABASE_URL": "sqlite://"})


def test_no_proxy_is_trusted_by_default() -> None:
    app = create_app({"DATABASE_URL": "sqlite://"})
    assert app.config["TRUSTED_PROXY_COUNT"] == 0
    assert app.config["BACKOFFICE_IDLE_MINUTES"] == 30
    assert app.config["BACKOFFICE_SESSION_HOURS"] == 8


def test_payment_provider_is_wired_in_the_factory_from_config_or_given() -> None:
    from core.payments.card.stripe import StripeProvider
    from portal.payments.provider import payment_provider

    base = {"DATABASE_URL": "sqlite://"}
    built = create_app(base)
    with built.app_context():
        assert isinstance(payment_provider(), StripeProvider)
    given = object()
    app = create_app(base, payment_provider=given)  # type: ignore[arg-type]
    with app.app_context():
        assert payment_provider() is given
    with pytest.raises(RuntimeError, match="PAYMENT_PROVIDER"):
        create_app({**base, "PAYMENT_PROVIDER": "epaybl"})
