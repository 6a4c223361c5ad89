"""The password rules (NIST SP 800-63B rev. 4): length, blocklists, context words, no
composition rules; every refusal says in German what to do."""

from __future__ import annotations

import pytest

from core import passwords
from core.errors import ValidationError

CONTEXT = [
    "erika.neu@test.example",
    "Erika",
    "Neu",
    "Lindenallee",
    "Teststadt",
    "Stadt Musterstadt",
    "musterstadt",
]


def problem(password: str) -> str | None:
    return passwords.problem(password, context=CONTEXT)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("kurz", passwords.TOO_SHORT),
        ("neun-zchn", passwords.TOO_SHORT),
        ("x" * 129, passwords.TOO_LONG),
        ("aaaaaaaaaa", passwords.REPETITIVE),
        ("AAAAAAAAAAAA", passwords.REPETITIVE),
        ("abcabcabcabc", passwords.REPETITIVE),
        ("1212121212", passwords.REPETITIVE),
        ("1234567890", passwords.SEQUENTIAL),
        ("0987654321", passwords.SEQUENTIAL),
        ("abcdefghijk", passwords.SEQUENTIAL),
        ("qwertzuiop", passwords.SEQUENTIAL),
        ("qwertz12345", passwords.SEQUENTIAL),
        ("password123", passwords.COMMON),
        ("1q2w3e4r5t", passwords.SEQUENTIAL),
        ("P@ssw0rd2026!", passwords.COMMON),
        ("Passwort2026", passwords.COMMON),
        ("ichliebedich", passwords.COMMON),
        ("manchester", passwords.COMMON),
        ("erika.neu@test.example", passwords.CONTEXT),
        ("ERIKA.NEU@TEST.EXAMPLE", passwords.CONTEXT),
        ("erika.neu2026", passwords.CONTEXT),
        ("ErikaNeu!!!!", passwords.CONTEXT),
        ("Musterstadt2026", passwords.CONTEXT),
        ("Openkasse-2026", passwords.CONTEXT),
        ("Lindenallee4a", passwords.CONTEXT),
        ("Erika1234567890", passwords.CONTEXT),
    ],
)
def test_weak_passwords_are_refused_with_their_reason(password: str, message: str) -> None:
    assert problem(password) == message
    with pytest.raises(ValidationError) as refused:
        passwords.check(password, context=CONTEXT)
    assert refused.value.message == message


@pytest.mark.parametrize(
    "password",
    [
        "Regenschirm tanzt im Juni",
        "korrekt pferd batterie heftklammer",  # no capitals, digits or symbols needed
        "Sonnenblume42",
        "Erikas Garten am See",  # a context word inside a longer passphrase is fine
        "ein-langes-Passwort",
        "Gänseblümchen-Wiese",
        "日本語のパスワードです",  # any Unicode
        "🙂🐕 Bello bellt laut",
        "Am Montag fährt der grüne Bus zum Hafen, wo drei Möwen auf Brot warten",  # > 64
    ],
)
def test_good_passwords_are_accepted(password: str) -> None:
    assert problem(password) is None
    assert passwords.check(password, context=CONTEXT) == passwords.normalize(password)


def test_no_composition_rules_and_every_message_says_what_to_do() -> None:
    for message in (passwords.REPETITIVE, passwords.SEQUENTIAL, passwords.COMMON):
        assert "Bitte wählen Sie" in message
    assert "Tipp:" in passwords.TOO_SHORT and str(passwords.MIN_LENGTH) in passwords.TOO_SHORT
    assert passwords.MAX_LENGTH >= 64


def test_length_counts_code_points_after_nfkc_normalisation() -> None:
    decomposed = "Gänseblümchen".replace("ä", "a\u0308").replace("ü", "u\u0308")
    assert len(decomposed) == 15
    assert passwords.normalize(decomposed) == "Gänseblümchen"
    assert passwords.check(decomposed) == "Gänseblümchen"
    assert passwords.problem("ääääääääää") == passwords.REPETITIVE  # 10 code points, not bytes


def test_the_shipped_breach_list_is_large() -> None:
    blocklist = passwords._blocklist()
    assert len(blocklist) >= 10_000
    assert {"123456", "qwerty", "passwort", "hallo123"} <= blocklist


def test_context_words_without_context_are_not_refused() -> None:
    assert passwords.problem("Musterstadt2026") is None  # only the municipality makes it weak
    assert passwords.problem("Musterstadt2026", context=["Stadt Musterstadt"]) == (
        passwords.CONTEXT
    )
