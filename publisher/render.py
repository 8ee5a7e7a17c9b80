"""What every backend renders from: the book's chapters and back matter as pandoc blocks, and pandoc's
HTML for them. Backends differ in packaging, not in what the book says."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from . import pandoc as pd
from .glossary import letter_of
from .model import Book, Chapter

GLOSSARY_ID = "glossary"
TAG_INDEX_ID = "tag-index"


def chapter_blocks(chapter: Chapter) -> list[dict]:
    """A chapter's heading, then each article (under its own heading when the chapter has several)."""
    blocks = [pd.header(chapter.level, chapter.id, pd.text_inlines(chapter.title), classes=["chapter"])]
    for article in chapter.articles:
        if not chapter.single:
            blocks.append(pd.header(article.level, article.id, pd.text_inlines(article.title), classes=["article"]))
        blocks.extend(article.blocks)
    return blocks


def back_matter(book: Book, level: int = 1) -> list[tuple[str, str, list[dict]]]:
    """(id, title, blocks) of each generated section, in the order the manifest's back_matter gives."""
    sections = []
    for item in book.manifest.back_matter:
        if item.kind == "glossary" and book.glossary:
            sections.append((GLOSSARY_ID, "Glossary", glossary_blocks(book, level)))
        elif item.kind == "tag_index" and book.tags:
            sections.append((TAG_INDEX_ID, "Tag index", tag_index_blocks(book, level)))
    return sections


def glossary_blocks(book: Book, level: int) -> list[dict]:
    titles = {a.id: a.title for a in book.articles}
    blocks: list[dict] = [pd.header(level, GLOSSARY_ID, pd.text_inlines("Glossary"), classes=["unnumbered", "glossary"])]
    current = None
    items: list = []

    def flush():
        if items:
            blocks.append({"t": "DefinitionList", "c": list(items)})
            items.clear()

    for entry in book.glossary:
        letter = letter_of(entry.term)
        if letter != current:
            flush()
            current = letter
            blocks.append(pd.header(min(6, level + 1), f"glossary-{letter if letter.isalpha() else 'other'}".lower(),
                                    pd.text_inlines(letter), classes=["unnumbered", "letter"]))
        definition = list(entry.definition)
        if entry.article_id:
            definition += [{"t": "Space"}, pd.span(
                [*pd.text_inlines("(see "), pd.link(pd.text_inlines(titles[entry.article_id]), "#" + entry.anchor, ["xref"]),
                 {"t": "Str", "c": ")"}], classes=["defined-in"])]
        items.append([[pd.span(pd.text_inlines(entry.term), ident=entry.id, classes=["gloss-term"])], [[pd.plain(definition)]]])
    flush()
    return blocks


def tag_index_blocks(book: Book, level: int) -> list[dict]:
    titles = {a.id: a.title for a in book.articles}
    blocks: list[dict] = [pd.header(level, TAG_INDEX_ID, pd.text_inlines("Tag index"), classes=["unnumbered", "tag-index"])]
    for group in book.tags:
        links = [[pd.plain([pd.link(pd.text_inlines(titles[i]), "#" + i, ["xref"])])] for i in group.article_ids]
        blocks.append(pd.div([pd.para([pd.span(pd.text_inlines(group.label), ident=group.id, classes=["tag"])]), pd.bullet_list(links)],
                             classes=["tag-group"]))
    return blocks


def to_html(fragments: list[list[dict]], *, extra: list[str] | None = None) -> list[str]:
    """Each list of blocks as an HTML5 fragment (pandoc calls run side by side)."""

    def one(blocks: list[dict]) -> str:
        args = ["-f", "json", "-t", "html5", "--wrap=none", "--syntax-highlighting=none", *(extra or [])]
        return pd.run_pandoc(args, pd.document(blocks))

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, fragments))
