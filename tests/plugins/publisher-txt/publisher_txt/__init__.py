"""A third-party backend, installed like any plugin: the book as plain text, one heading per line."""

from pathlib import Path

from publisher.tree import stringify


class TxtBackend:
    name = "txt"
    suffix = ".txt"

    def check(self, book, theme):
        return ()

    def write(self, book, theme, target: Path) -> None:
        lines = [book.manifest.title, ""]
        for part in book.parts:
            if part.title:
                lines.append(f"# {part.title}")
            for chapter in part.chapters:
                lines.append(f"## {chapter.title}")
                for article in chapter.articles:
                    lines.append(stringify(list(article.blocks))[:60])
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
