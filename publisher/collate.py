"""Alphabetical order for the glossary, the tag index and the index, as a reader expects it.

A three-level key in the manner of the Unicode Collation Algorithm: letters first, without accents or case
("Über" files under U, beside "uber"; "Ørsted" under O), then accents, then case (lower before upper).
Punctuation inside a word is ignored at the first level ("t-SNE" sorts as "tsne"); spaces count, so the
order is word by word ("AI Winter" before "AIDS"); digits come before letters.

Why not the PyPI package pyuca: its last release (1.2) dates from 2017 with Unicode 10 tables, and it
loads 1.4 MB of them on every run. For the Latin-script terms of a glossary the differences from the full
algorithm are letters that do not decompose under NFKD; the table below gives those their base letters.
"""

from __future__ import annotations

import unicodedata

# Letters that NFKD leaves alone but that a dictionary files under their base letters.
BASE_LETTERS = str.maketrans({
    "ø": "o", "æ": "ae", "œ": "oe", "ß": "ss", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h",
    "ŋ": "n", "ĸ": "k", "ſ": "s",
})


def _primary(term: str) -> str:
    text = unicodedata.normalize("NFKD", term.casefold()).translate(BASE_LETTERS)
    text = unicodedata.normalize("NFKD", text)
    kept = []
    for ch in text:
        if unicodedata.combining(ch):
            continue
        if ch.isalnum():
            kept.append(ch)
        elif ch.isspace() and kept and kept[-1] != " ":
            kept.append(" ")
    return "".join(kept).strip()


def collation_key(term: str) -> tuple:
    """Letters, then accents, then case (lower case first), then the text itself for a stable order."""
    accents = unicodedata.normalize("NFKD", term.casefold())
    case = tuple(ch.isupper() for ch in term if ch.isalpha())
    return (_primary(term), accents, case, term)


def letter_of(term: str) -> str:
    """The group a term files under: its first letter without accents, "#" for digits and symbols."""
    first = _primary(term)[:1].upper()
    return first if first.isalpha() else "#"
