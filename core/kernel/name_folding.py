"""Folding names for search: "mueller", "muller" and "Müller" find each other, "Yilmaz" finds
"Yılmaz", "Lukasz" finds "Łukasz", "Sorensen" finds "Sørensen".

Both the stored names and the clerk's query are folded the same way, into lower-case words of
letters and digits without diacritics — twice: once in the German transliteration of umlauts
(ä → ae, ö → oe, ü → ue, as in passports and the DIN 5007-2 name sort) and once with the dots
simply dropped (ä → a), because either spelling turns up on letters and bank transfers. ß
becomes ss in both. Other diacritics go by Unicode decomposition (NFKD: é → e, č → c, å → a);
letters that do not decompose (ı, ł, ø, đ, æ, œ, þ …) by a small table.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

GERMAN_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue"})
# Latin letters without a Unicode decomposition, after casefold (ẞ/ß are already "ss").
SPECIAL_LETTERS = str.maketrans(
    {
        "ı": "i",
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "ŧ": "t",
        "ŀ": "l",
        "ſ": "s",
        "ĸ": "k",
        "ŋ": "n",
        "ə": "e",
        "ɨ": "i",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
        "ß": "ss",
    }
)
_NOT_A_WORD = re.compile(r"[\W_]+")
# The stored column's length: enough for any real name in both spellings, and within
# PostgreSQL's limit for an index entry even for non-Latin scripts (4 bytes a character).
SEARCH_NAME_LENGTH = 600


def _words(text: str, *, umlaut_as_e: bool) -> list[str]:
    folded = unicodedata.normalize("NFC", text).casefold()
    if umlaut_as_e:
        folded = folded.translate(GERMAN_UMLAUTS)
    folded = folded.translate(SPECIAL_LETTERS)
    decomposed = unicodedata.normalize("NFKD", folded)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).translate(SPECIAL_LETTERS)
    return [word for word in _NOT_A_WORD.split(bare) if word]


@dataclass(frozen=True)
class QueryWord:
    """One word of a query in both spellings; a name matches if it contains either."""

    german: str
    plain: str


def query_words(query: str) -> list[QueryWord]:
    german = _words(query, umlaut_as_e=True)
    plain = _words(query, umlaut_as_e=False)
    return [QueryWord(g, p) for g, p in zip(german, plain, strict=True)]


def search_name(*parts: str | None) -> str:
    """The folded words of the name parts in both spellings, each word once, space-separated."""
    text = " ".join(p for p in parts if p)
    words = dict.fromkeys([*_words(text, umlaut_as_e=True), *_words(text, umlaut_as_e=False)])
    return " ".join(words)[:SEARCH_NAME_LENGTH]
