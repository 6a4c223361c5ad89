"""The password rules for every password a person chooses (registration, reset, staff accounts).

Follows NIST SP 800-63B rev. 4, section 3.1.1.2 ("Password Verifiers"):

- a minimum length (:data:`MIN_LENGTH`), counted in Unicode code points after NFKC
  normalisation; at least 64 characters allowed (:data:`MAX_LENGTH`), every Unicode character
  allowed, nothing truncated;
- no composition rules (no "one capital, one digit, one symbol");
- refused when on a blocklist: commonly used or breached passwords (the 30,000 most frequent
  passwords of the breach corpus that ``zxcvbn`` ships, plus a few German ones), repetitive or
  sequential strings (``aaaaaaaaaa``, ``1234567890``, ``qwertzuiop``) and context-specific words
  (the e-mail address and its parts, the person's name and address, the municipality's and the
  service's names), each with a German message that says what to do instead.

:data:`MIN_LENGTH` is 15. Source: NIST SP 800-63B rev. 4 (August 2025), § 3.1.1.2: "Verifiers
and CSPs SHALL require passwords that are used as a single-factor authentication mechanism to be
a minimum of 15 characters in length. Verifiers and CSPs MAY allow passwords that are only used
as part of multi-factor authentication processes to be shorter but SHALL require them to be a
minimum of eight characters in length." (https://pages.nist.gov/800-63-4/sp800-63b.html).
OpenKasse's portal and back office log in with the password alone, so 15 applies; every message
and form hint is built from :data:`MIN_LENGTH`. What is left of a password once the context
words are taken out must reach the same length: guessable parts add next to nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import cache

from core.kernel.errors import ValidationError

MIN_LENGTH = 15
MAX_LENGTH = 128  # NIST: allow at least 64; the cap only keeps hashing cheap

SERVICE_WORDS = ("openkasse", "bürgerkonto", "buergerkonto", "bürgerportal", "buergerportal")

# Passwords German users pick often that the English-centred breach list lacks
# (HPI Identity Leak Checker's yearly "Top-Passwörter der Deutschen", and their usual suffixes;
# a password that is one of these plus digits or punctuation is caught by _variants).
GERMAN_COMMON = frozenset(
    {
        "passwort",
        "kennwort",
        "ichliebedich",
        "hallo",
        "schatz",
        "schalke",
        "fussball",
        "fußball",
        "geheim",
        "sommer",
        "sonne",
        "blume",
        "hallihallo",
        "hallowelt",
        "qwertz",
        "qwertzuiop",
        "asdfghjkl",
        "willkommen",
        "deutschland",
        "mausi",
        "schnucki",
        "lieblingsmensch",
    }
)

# Rows of German and English keyboards and the alphabet/digit sequences, both directions.
_SEQUENCES = (
    "abcdefghijklmnopqrstuvwxyz",
    "01234567890",
    "qwertzuiopü",
    "asdfghjklöä",
    "yxcvbnm",
    "qwertyuiop",
    "zxcvbnm",
    "1qaz2wsx3edc4rfv5tgb6zhn7ujm8ik9ol0p",
    "1q2w3e4r5t6z7u8i9o0p",
    "1q2w3e4r5t6y7u8i9o0p",
)
_ALL_SEQUENCES = _SEQUENCES + tuple(s[::-1] for s in _SEQUENCES)
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "!": "i", "0": "o", "$": "s"})
_LEET_L = str.maketrans({"1": "l", "5": "s", "7": "t", "@": "a", "0": "o", "3": "e"})
_DECORATION = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEPARATORS = re.compile(r"[\s._\-+@]+")

TOO_SHORT = (
    f"Das Passwort muss mindestens {MIN_LENGTH} Zeichen lang sein. Tipp: Verbinden Sie "
    "mehrere Wörter, die Sie sich gut merken können, z. B. „Regenschirm Tanzt Im Juni“."
)
TOO_LONG = f"Das Passwort darf höchstens {MAX_LENGTH} Zeichen lang sein."
REPETITIVE = (
    "Das Passwort besteht nur aus sich wiederholenden Zeichen (wie „aaaaaaaaaa“ oder "
    "„abcabcabca“). Bitte wählen Sie ein Passwort aus mehreren verschiedenen Wörtern."
)
SEQUENTIAL = (
    "Das Passwort ist eine Zeichenfolge wie „1234567890“, „abcdefghij“ oder „qwertzuiop“, "
    "die bei Angriffen zuerst ausprobiert wird. Bitte wählen Sie ein Passwort aus mehreren "
    "verschiedenen Wörtern."
)
COMMON = (
    "Dieses Passwort gehört zu den häufigsten Passwörtern oder ist aus Datenlecks bekannt und "
    "wird bei Angriffen zuerst ausprobiert. Bitte wählen Sie ein anderes, z. B. aus mehreren "
    "Wörtern, die nicht zusammengehören."
)
CONTEXT = (
    "Das Passwort besteht zu großen Teilen aus Ihrer E-Mail-Adresse, Ihrem Namen, Ihrer "
    "Anschrift oder dem Namen der Kommune bzw. des Dienstes. Diese Angaben sind leicht zu "
    "erraten: Bitte wählen Sie ein Passwort, das nichts davon enthält."
)


def normalize(password: str) -> str:
    """NFKC, as NIST advises before hashing: the same password typed on another device (é as
    one or two code points) stays the same password."""
    return unicodedata.normalize("NFKC", password)


def problem(password: str, *, context: Iterable[str | None] = ()) -> str | None:
    """The German message for the first rule ``password`` breaks, or None when it is fine.

    ``context`` holds what is known about the account: e-mail address, names, address,
    municipality; None and empty entries are ignored.
    """
    password = normalize(password)
    if len(password) < MIN_LENGTH:
        return TOO_SHORT
    if len(password) > MAX_LENGTH:
        return TOO_LONG
    folded = password.casefold()
    if _is_repetitive(folded):
        return REPETITIVE
    if _is_sequential(folded):
        return SEQUENTIAL
    if _is_common(folded):
        return COMMON
    rest = _without_context(folded, _context_words(context))
    if rest is not None and (
        len(rest) < MIN_LENGTH or _is_repetitive(rest) or _is_sequential(rest) or _is_common(rest)
    ):
        return CONTEXT
    return None


def check(password: str, *, context: Iterable[str | None] = ()) -> str:
    """The normalised password, or :class:`ValidationError` with the rule it breaks."""
    message = problem(password, context=context)
    if message is not None:
        raise ValidationError(message)
    return normalize(password)


# --------------------------------------------------------------------------- the rules


def _is_repetitive(folded: str) -> bool:
    """One short unit repeated (``aaaa…``, ``abab…``, ``passpass…``) or hardly any different
    characters at all."""
    if len(set(folded)) <= 3:
        return True
    length = len(folded)
    return any(
        folded == (folded[:unit] * (length // unit + 1))[:length]
        for unit in range(1, length // 2 + 1)
    )


def _is_sequential(folded: str) -> bool:
    """Made (nearly) entirely of runs of three or more characters of the alphabet, the digits,
    a keyboard row, or one character repeated — ``1234567890``, ``qwertz1234``, ``zyxwvu!``."""
    covered, i = 0, 0
    while i < len(folded):
        run = _run_length(folded, i)
        if run >= 3:
            covered += run
            i += run
        else:
            i += 1
    return 5 * covered >= 4 * len(folded)  # at least four fifths


def _run_length(text: str, start: int) -> int:
    same = start + 1
    while same < len(text) and text[same] == text[start]:
        same += 1
    best = same - start  # one character repeated
    for sequence in _ALL_SEQUENCES:
        position = sequence.find(text[start : start + 2])
        while position != -1:
            length = 0
            while (
                start + length < len(text)
                and position + length < len(sequence)
                and text[start + length] == sequence[position + length]
            ):
                length += 1
            best = max(best, length)
            position = sequence.find(text[start : start + 2], position + 1)
    return best


@cache
def _blocklist() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    breached: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(word.casefold() for word in breached) | GERMAN_COMMON


def _variants(folded: str) -> set[str]:
    """The password as typed, without leading/trailing digits and punctuation (``dragon2026!``)
    and with leetspeak undone (``p@ssw0rd``)."""
    bare = _DECORATION.sub("", folded)
    found = {folded, bare, _SEPARATORS.sub("", folded)}
    for text in list(found):
        found.add(text.translate(_LEET))
        found.add(text.translate(_LEET_L))
    return {v for v in found if len(v) >= 4}


def _is_common(folded: str) -> bool:
    blocklist = _blocklist()
    return any(variant in blocklist for variant in _variants(folded))


def _context_words(context: Iterable[str | None]) -> list[str]:
    """Each context entry, its parts (split at separators and ``@``) and, for an e-mail
    address, its local part: ``erika.neu@test.example`` gives the address, ``erika.neu``,
    ``erika`` and ``neu``. Words shorter than 3 characters carry no risk and are skipped."""
    words: set[str] = set(SERVICE_WORDS)
    for entry in context:
        if not entry:
            continue
        text = normalize(entry).casefold().strip()
        words.add(text)
        words.add(_SEPARATORS.sub("", text))
        if "@" in text:
            local = text.split("@", 1)[0]
            words.add(local)
            words.add(_SEPARATORS.sub("", local))
            text = local
        words.update(re.split(r"[\W_]+", text))
    return sorted((w for w in words if len(w) >= 3), key=len, reverse=True)


def _without_context(folded: str, words: list[str]) -> str | None:
    """The password with every context word (and separators around them) taken out; None
    when it contains none."""
    rest, found = folded, False
    for word in words:
        if word in rest:
            rest, found = rest.replace(word, " "), True
    if not found:
        return None
    return _SEPARATORS.sub("", rest)
