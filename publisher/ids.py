"""Anchor ids: GitHub-style heading slugs and book-wide unique ids."""

from __future__ import annotations

import unicodedata


def gfm_slug(text: str) -> str:
    """GitHub's heading slug: lower case, punctuation dropped, spaces to hyphens."""
    out = []
    for ch in unicodedata.normalize("NFC", text).strip().lower():
        cat = unicodedata.category(ch)
        if ch in " \t":
            out.append("-")
        elif ch in "-_" or cat[0] in ("L", "N") or cat == "Mn":
            out.append(ch)
    return "".join(out)


def xml_id(text: str, fallback: str = "x") -> str:
    """A slug that is also a valid XML id (NCName) and a valid Word bookmark prefix: ASCII, starts with a letter."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = gfm_slug(ascii_text).strip("-_") or fallback
    if not slug[0].isalpha():
        slug = f"{fallback}{slug}"
    return slug


# Ids the book's generated sections (render.GLOSSARY_ID, TAG_INDEX_ID, INDEX_ID) and the theme's templates use:
# no article, chapter or part may take one. An article named Index.md took 'index', and the PDF, which looks for
# the generated index by that id, was cut where the article began.
RESERVED_IDS = frozenset({"glossary", "tag-index", "index", "contents", "toc", "landmarks", "content",
                          "contents-title", "publisher-q", "search-input", "search-results", "search-status"})


class IdAllocator:
    """Hands out ids unique across the whole book."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        ident, n = wanted, 1
        while ident in self.used:
            n += 1
            ident = f"{wanted}-{n}"
        self.used.add(ident)
        return ident
