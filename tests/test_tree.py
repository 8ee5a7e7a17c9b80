"""The one transform of publisher.tree: where an element's children are is declared once (tree.CHILDREN), and
every walk over a tree descends by it.

The descent is checked on a document pandoc reads from Markdown holding every container of pandoc 3 (so a
type pandoc adds or moves shows up here, not as words a step silently skips); the rule that no module walks a
tree by hand is checked on the source (its AST), so that it stays done.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import publisher
from publisher import pandoc, tree

# Every container of pandoc 3, each holding a word of its own (WORD-n) that a descent must reach.
EVERY_CONTAINER = """\
Para *emph-1* **strong-2** ~~strikeout-3~~ ^superscript-4^ ~subscript-5~ [smallcaps-6]{.smallcaps}
[underline-7]{.underline} "quoted-8" [span-9]{#s} [link-10](http://example.org) ![image-11](x.png "t")
note[^1] [see cite-12 @doe, p. cite-13] `code` $x$

[^1]: note-14 with *note-emph-15*

![figure-16](fig.png)

# header-17 *header-emph-18* {#h}

> blockquote-19
>
> > nested-20

- bullet-21
  - nested-bullet-22

3. ordered-23

term-24
:   definition-25

| line-block-26
|   line-27

::: {.div}
div-28
:::

+------------+------------+
| head-29    | head-30    |
+============+============+
| body-31    | body-32    |
+============+============+
| foot-33    | foot-34    |
+============+============+

: caption-35
"""


def every_str(node) -> list[str]:
    """Every Str in a tree, found without knowing what any element is: every list and dict value followed."""
    out, stack = [], [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(n)
        elif isinstance(n, dict):
            if n.get("t") == "Str":
                out.append(n["c"])
            stack.extend(n.values())
    return sorted(out)


@pytest.fixture(scope="module")
def document() -> list:
    return json.loads(pandoc.run_pandoc(["-f", "markdown", "-t", "json"], EVERY_CONTAINER))["blocks"]


def types_in(node) -> set[str]:
    found, stack = set(), [node]
    while stack:
        n = stack.pop()
        if isinstance(n, list):
            stack.extend(n)
        elif isinstance(n, dict):
            if "t" in n:
                found.add(n["t"])
            stack.extend(n.values())
    return found


def test_the_document_holds_every_container(document):
    assert set(tree.CHILDREN) <= types_in(document), "a container of the table is missing from the document"
    numbers = {int(w.rsplit("-", 1)[1].rstrip(",")) for w in every_str(document) if w[-1].isdigit() and "-" in w}
    assert numbers == set(range(1, 36))


def test_walk_reaches_every_word(document):
    walked = sorted(n["c"] for n in tree.walk(document) if n["t"] == "Str")
    assert walked == every_str(document)


def test_walk_reaches_every_element_with_children(document):
    walked = {n["t"] for n in tree.walk(document)}
    assert set(tree.CHILDREN) <= walked


def test_map_inlines_reaches_every_word_outside_citations(document):
    """map_inlines (and rebuild under it) reach every list of inlines: each word upper-cased in one pass. The
    words of a citation's prefix and suffix belong to the citation, not to the text, and stay as they are."""
    upper = tree.map_inlines(document, lambda items: [
        {"t": "Str", "c": x["c"].upper()} if x["t"] == "Str" else x for x in items])
    citations = {w for cite in tree.walk(document) if cite["t"] == "Cite"
                 for c in cite["c"][0] for w in every_str([c["citationPrefix"], c["citationSuffix"]])}
    assert citations  # the Cite's own text (c[1]) holds the same words: they are upper-cased there
    left = [w for w in every_str(upper) if w != w.upper()]
    assert left and set(left) <= citations
    assert every_str(document) != every_str(upper)


def test_rebuild_reaches_every_element_and_copies_only_what_changes(document):
    seen: list[str] = []

    def element(node: dict) -> dict:
        seen.append(node["t"])
        return tree.rebuild_children(node, element)

    assert tree.rebuild(document, element) is document  # nothing changed: the very same tree
    assert set(tree.CHILDREN) - {"Cite"} <= set(seen)

    def drop_emph(node: dict):
        return () if node["t"] == "Emph" else tree.rebuild_children(node, drop_emph)

    dropped = tree.rebuild(document, drop_emph)
    assert "emph-1" not in every_str(dropped) and "note-emph-15" not in every_str(dropped)
    assert "emph-1" in every_str(document)  # the original is not changed
    assert dropped[-1] is document[-1]  # the table holds no Emph: shared, not copied


def test_rebuild_lists_hands_each_list_whole_in_reading_order(document):
    """rebuild_lists hands over every list of blocks and of inlines (list items, cells and all), the siblings
    together; a sequence that goes into each element where it stands meets every word in reading order (as
    walk does, a citation's prefix and suffix left out) and copies only what it changes."""
    seen: list[str] = []
    lists: list[list] = []

    def upper(items: list) -> list:
        lists.append(items)
        out = []
        for x in items:
            if x["t"] == "Str":
                seen.append(x["c"])
                x = {"t": "Str", "c": x["c"].upper()} if x["c"].startswith("bullet") else x
            out.append(tree.rebuild_list_children(x, upper))
        return tree.same(out, items)

    changed = tree.rebuild_lists(document, upper)
    bare = json.loads(json.dumps(document))
    for cite in tree.walk(bare):
        if cite["t"] == "Cite":
            for c in cite["c"][0]:
                c["citationPrefix"], c["citationSuffix"] = [], []
    assert seen == [n["c"] for n in tree.walk(bare) if n["t"] == "Str"]
    assert lists[0] is document and any(len(x) > 1 and x[0]["t"] == "Para" for x in lists[1:])  # a list of blocks
    assert "BULLET-21" in every_str(changed) and "bullet-21" in every_str(document)
    assert changed[-1] is document[-1] and changed[0] is document[0]  # only the bullet list is copied
    assert tree.rebuild_lists(document, lambda items: items) is document


def test_attributes_are_where_attr_at_says(document):
    for n in tree.walk(document):
        at = tree.ATTR_AT.get(n["t"])
        if at is not None:
            ident, classes, kvs = n["c"][at]
            assert isinstance(ident, str) and isinstance(classes, list) and isinstance(kvs, list)
    assert {"s", "h"} <= set(tree.ids_in(document))


# ---------------------------------------------------------------- no walk by hand
PACKAGE = Path(publisher.__file__).parent
# What may still descend by itself, and why (each a walk left to move onto tree.rebuild / map_inlines: the list
# only shrinks, and a module that no longer walks by hand must leave it).
STILL_BY_HAND = {
    "tree.py": "the one descent itself (walk, rebuild, rebuild_lists, map_inlines, facts, stringify)",
    "embeds.py": "an embedded note is expanded where it stands, its own embeds in turn (expand -> split -> note -> "
                 "expand, MAX_DEPTH deep): a recursion over notes; each tree is descended by tree.rebuild_lists",
}


def _own(fn: ast.AST):
    """The nodes of a function's body, the functions defined inside it left out."""
    inner = (ast.FunctionDef, ast.Lambda, ast.ClassDef)
    stack = [n for n in fn.body if not isinstance(n, inner)]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(c for c in ast.iter_child_nodes(n) if not isinstance(c, inner))


def _reads_elements(fn: ast.AST) -> bool:
    """Whether it takes an element apart: node["c"], node["t"], node.get("c"), node.get("t")."""
    for n in _own(fn):
        if isinstance(n, ast.Subscript) and isinstance(n.slice, ast.Constant) and n.slice.value in ("c", "t"):
            return True
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get" and n.args
                and isinstance(n.args[0], ast.Constant) and n.args[0].value in ("c", "t")):
            return True
    return False


def hand_walks(source: str) -> list[str]:
    """The functions that call themselves, directly or through others of the same module, and take elements
    apart: a descent into a tree written by hand (passing a function on, as to tree.rebuild, is no call)."""
    calls: dict[str, set[str]] = {}
    reads: dict[str, bool] = {}
    for fn in ast.walk(ast.parse(source)):
        if isinstance(fn, ast.FunctionDef):
            names = calls.setdefault(fn.name, set())
            for n in _own(fn):
                if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
                    names.add(n.func.id)
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and isinstance(n.func.value, ast.Name) \
                        and n.func.value.id == "self":
                    names.add(n.func.attr)
            reads[fn.name] = reads.get(fn.name, False) or _reads_elements(fn)
    found = []
    for name, direct in calls.items():
        seen, stack = set(), [m for m in direct if m in calls]
        while stack:
            m = stack.pop()
            if m not in seen:
                seen.add(m)
                stack.extend(k for k in calls[m] if k in calls)
        if name in seen and any(reads[m] for m in seen):
            found.append(name)
    return sorted(found)


def test_the_check_finds_a_walk_by_hand():
    walk_by_hand = '''
def shift(node):
    if isinstance(node, list):
        return [shift(x) for x in node]
    if node.get("t") == "Header":
        return node
    return {"t": node["t"], "c": shift(node["c"])}
'''
    on_the_transform = '''
def shift(blocks):
    def element(node):
        if node["t"] == "Header":
            return node
        return tree.rebuild_children(node, element)
    return tree.rebuild(blocks, element)
'''
    assert hand_walks(walk_by_hand) == ["shift"]
    assert hand_walks(on_the_transform) == []


def test_no_module_walks_a_tree_by_hand():
    found = {}
    for file in sorted(PACKAGE.rglob("*.py")):
        name = file.relative_to(PACKAGE).as_posix()
        walks = hand_walks(file.read_text(encoding="utf-8"))
        if walks and name not in STILL_BY_HAND:
            found[name] = walks
    assert not found, f"descend with tree.rebuild / rebuild_children / map_inlines / walk instead: {found}"
    stale = [name for name in STILL_BY_HAND if not hand_walks((PACKAGE / name).read_text(encoding="utf-8"))]
    assert not stale, f"no longer walks by hand: take it off STILL_BY_HAND: {stale}"
