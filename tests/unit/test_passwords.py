"""The password rules (NIST SP 800-63B rev. 4): length, blocklists, context words, no
composition rules; every refusal says in German what to do."""

from __future__ import annotations

import pytest

from core.identity import passwords
from core.kernel.errors import ValidationError

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
        ("Sonnenblume-42", passwords.TOO_SHORT),  # 14: a good password, one character short
        ("x" * 129, passwords.TOO_LONG),
        ("aaaaaaaaaaaaaaa", passwords.REPETITIVE),
        ("AAAAAAAAAAAAAAAA", passwords.REPETITIVE),
        ("abcabcabcabcabc", passwords.REPETITIVE),
        ("121212121212121", passwords.REPETITIVE),
        ("123456789012345", passwords.SEQUENTIAL),
        ("098765432109876", passwords.SEQUENTIAL),
        ("abcdefghijklmnop", passwords.SEQUENTIAL),
        ("qwertzuiopasdfgh", passwords.SEQUENTIAL),
        ("qwertz123456789", passwords.SEQUENTIAL),
        ("password1234567", passwords.COMMON),
        ("1q2w3e4r5t6z7u8i", passwords.SEQUENTIAL),
        ("P@ssw0rd2026!2027", passwords.COMMON),
        ("Passwort20262027", passwords.COMMON),
        ("ichliebedich2026", passwords.COMMON),
        ("manchester123456", passwords.COMMON),
        ("erika.neu@test.example", passwords.CONTEXT),
        ("ERIKA.NEU@TEST.EXAMPLE", passwords.CONTEXT),
        ("erika.neu2026-2027", passwords.CONTEXT),
        ("ErikaNeu!!!!!!!!", passwords.CONTEXT),
        ("Musterstadt2026!!", passwords.CONTEXT),
        ("Openkasse-2026-12", passwords.CONTEXT),
        ("Lindenallee4a-12345", passwords.CONTEXT),
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
        "Sonnenblume42 Juni",
        "Regenschirm Juni",  # 16 characters
        "Erikas Garten am großen See",  # a context word inside a longer passphrase is fine
        "ein-langes-Passwort",
        "Gänseblümchen-Wiese",
        "日本語のパスワードはとても長いです",  # any Unicode
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


def test_minimum_length_is_nists_15_for_a_password_as_the_only_factor() -> None:
    """SP 800-63B rev. 4, § 3.1.1.2: at least 15 characters where the password is the only
    factor, as it is in the portal and the back office."""
    assert passwords.MIN_LENGTH == 15
    assert passwords.problem("Sonnenblume-42") == passwords.TOO_SHORT  # 14
    assert passwords.problem("Sonnenblume-421") is None  # 15
    assert "mindestens 15 Zeichen" in passwords.TOO_SHORT


def test_length_counts_code_points_after_nfkc_normalisation() -> None:
    decomposed = "Gänseblümchen-Wiese".replace("ä", "a\u0308").replace("ü", "u\u0308")
    assert len(decomposed) == 21
    assert passwords.normalize(decomposed) == "Gänseblümchen-Wiese"
    assert passwords.check(decomposed) == "Gänseblümchen-Wiese"
    short = "Gänseblümchen!".replace("ä", "a\u0308").replace("ü", "u\u0308")
    assert len(short) == 16  # 14 once normalised: too short
    assert passwords.problem(short) == passwords.TOO_SHORT
    assert passwords.problem("ä" * 15) == passwords.REPETITIVE  # 15 code points, not bytes


def test_the_shipped_breach_list_is_large() -> None:
    blocklist = passwords._blocklist()
    assert len(blocklist) >= 10_000
    assert {"123456", "qwerty", "passwort", "hallo123"} <= blocklist


def test_what_is_left_without_the_context_words_must_be_long_enough() -> None:
    """Guessable parts add little: the rest alone must reach the minimum length."""
    assert problem("Erikas Garten am See") == passwords.CONTEXT  # "sgartenamsee": 12 left
    assert problem("Erikas Garten am großen See") is None


def test_context_words_without_context_are_not_refused() -> None:
    assert passwords.problem("Musterstadt2026") is None  # only the municipality makes it weak
    assert passwords.problem("Musterstadt2026", context=["Stadt Musterstadt"]) == (
        passwords.CONTEXT
    )
