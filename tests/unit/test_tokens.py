"""Signed tokens for links on notices: purpose-bound, subject-bound, tamper-proof, expiring."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.kernel.errors import DomainError, ExpiredToken, InvalidToken
from core.kernel.tokens import make_token, read_token

SECRET = "a-test-secret-of-at-least-32-characters"
ISSUED = datetime(2026, 1, 15, 8, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def read(token: str, *, purpose: str = "claim", secret: str = SECRET, **kw: object) -> int:
    now = kw.pop("now", ISSUED + DAY)
    max_age = kw.pop("max_age", timedelta(days=30))
    return read_token(secret, purpose, token, now=now, max_age=max_age)  # type: ignore[arg-type]


def test_round_trip_and_url_safe() -> None:
    token = make_token(SECRET, "claim", 4711, issued_at=ISSUED)
    assert re.fullmatch(r"[A-Za-z0-9_\-.]+", token)
    assert read(token) == 4711


def test_same_input_same_token_and_different_subjects_differ() -> None:
    assert make_token(SECRET, "claim", 1, issued_at=ISSUED) == make_token(
        SECRET, "claim", 1, issued_at=ISSUED
    )
    assert make_token(SECRET, "claim", 1, issued_at=ISSUED) != make_token(
        SECRET, "claim", 2, issued_at=ISSUED
    )


def test_wrong_purpose_is_invalid() -> None:
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED)
    with pytest.raises(InvalidToken):
        read(token, purpose="meter")


def test_wrong_secret_is_invalid() -> None:
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED)
    with pytest.raises(InvalidToken):
        read(token, secret=SECRET + "x")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: ("X" if t[0] != "X" else "Y") + t[1:],  # payload changed
        lambda t: t.split(".")[0],  # signature removed
        lambda t: t + "A",
        lambda t: "",
        lambda t: "not a token",
        lambda t: t.replace(".", ".."),
    ],
)
def test_tampered_token_is_invalid(mangle: object) -> None:
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED)
    with pytest.raises(InvalidToken) as info:
        read(mangle(token))  # type: ignore[operator]
    assert info.value.message == "Der Link ist ungültig."


def test_forged_payload_for_another_subject_is_invalid() -> None:
    """Swapping in the (unsigned-looking) payload of another subject keeps the old signature."""
    one = make_token(SECRET, "claim", 1, issued_at=ISSUED)
    two = make_token(SECRET, "claim", 2, issued_at=ISSUED)
    forged = two.split(".")[0] + "." + one.split(".")[1]
    with pytest.raises(InvalidToken):
        read(forged)


def test_expiry_boundary() -> None:
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED)
    assert read(token, now=ISSUED + timedelta(days=30), max_age=timedelta(days=30)) == 7
    with pytest.raises(ExpiredToken) as info:
        read(token, now=ISSUED + timedelta(days=30, seconds=1), max_age=timedelta(days=30))
    assert isinstance(info.value, DomainError) and "abgelaufen" in info.value.message


def test_token_from_the_future_is_invalid_beyond_clock_skew() -> None:
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED)
    assert read(token, now=ISSUED - timedelta(seconds=30)) == 7
    with pytest.raises(InvalidToken):
        read(token, now=ISSUED - timedelta(hours=1))


def test_time_zones_are_respected() -> None:
    berlin = timezone(timedelta(hours=1))
    token = make_token(SECRET, "claim", 7, issued_at=ISSUED.astimezone(berlin))
    assert read(token, now=ISSUED + timedelta(hours=2), max_age=timedelta(hours=2)) == 7
    with pytest.raises(ExpiredToken):
        read(token, now=ISSUED + timedelta(hours=3), max_age=timedelta(hours=2))


@pytest.mark.parametrize(
    "call",
    [
        lambda: make_token(SECRET, "claim", 0, issued_at=ISSUED),
        lambda: make_token(SECRET, "claim", True, issued_at=ISSUED),
        lambda: make_token(SECRET, "claim", 1, issued_at=datetime(2026, 1, 1)),
        lambda: make_token("", "claim", 1, issued_at=ISSUED),
        lambda: make_token(SECRET, "", 1, issued_at=ISSUED),
        lambda: read_token(SECRET, "claim", "x.y", now=datetime(2026, 1, 1), max_age=DAY),
    ],
)
def test_programming_errors_raise_value_error(call: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        call()  # type: ignore[operator]


@given(
    subject=st.integers(min_value=1, max_value=2**63 - 1),
    other=st.integers(min_value=1, max_value=2**63 - 1),
    purpose=st.sampled_from(["claim", "meter", "notice", "mandate"]),
)
def test_subject_binding_for_random_ids(subject: int, other: int, purpose: str) -> None:
    token = make_token(SECRET, purpose, subject, issued_at=ISSUED)
    assert read(token, purpose=purpose) == subject
    if other != subject:
        assert token != make_token(SECRET, purpose, other, issued_at=ISSUED)
    for wrong in {"claim", "meter", "notice", "mandate"} - {purpose}:
        with pytest.raises(InvalidToken):
            read(token, purpose=wrong)
