"""Raw HTML read tag by tag, as html.parser reads it: the tokens sanitize.py writes anew from its allowlist."""

from __future__ import annotations

from html.parser import HTMLParser


class _Tokens(HTMLParser):
    """The tokens of one raw HTML fragment: ("start", tag, attrs, self-closing, (line, col) in the fragment),
    ("end", tag), ("text", data). Comments, declarations and processing instructions are left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple] = []

    def handle_starttag(self, tag, attrs):
        self.tokens.append(("start", tag, attrs, False, self.getpos()))

    def handle_startendtag(self, tag, attrs):
        self.tokens.append(("start", tag, attrs, True, self.getpos()))

    def handle_endtag(self, tag):
        self.tokens.append(("end", tag))

    def handle_data(self, data):
        self.tokens.append(("text", data))


def tokenize(fragment: str) -> list[tuple]:
    parser = _Tokens()
    try:
        parser.feed(fragment)
        parser.close()
    except Exception:  # html.parser gives up on some malformed markup: then all of it is text
        return [("text", fragment)]
    return parser.tokens
