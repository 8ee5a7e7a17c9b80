"""The manifest reference (docs/manifest.md) cannot drift from the code: the validator takes each mapping's
keys from the schema the reference is written from, the file is what `make docs` writes, and every example
in it is a manifest the code accepts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import yaml
from conftest import BOOKS, ROOT

from publisher.diagnostics import ManifestError, Reporter
from publisher.manifest import load_manifest
from publisher.schema import KEYS, keys_at, reference


def test_docs_manifest_md_is_current():
    assert (ROOT / "docs" / "manifest.md").read_text(encoding="utf-8") == reference(), "run 'make docs'"


def test_every_mapping_the_validator_checks_takes_its_keys_from_the_schema():
    """No literal key set left in the manifest's validator (manifest.py, sections.py, contents.py): each
    unknown_keys() call asks keys_at(), so a key is accepted exactly when the reference describes it."""
    trees = [ast.parse((ROOT / "publisher" / f"{name}.py").read_text(encoding="utf-8")) for name in ("manifest", "sections", "contents")]
    calls = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "attr", "") == "unknown_keys"]
    assert len(calls) >= 8
    for call in calls:
        allowed = call.args[1]
        assert (isinstance(allowed, ast.Call) and getattr(allowed.func, "id", "") == "keys_at") or \
            (isinstance(allowed, ast.Name) and allowed.id.isupper()), ast.unparse(call)


def test_every_documented_key_is_accepted_and_every_other_rejected(tmp_path):
    """Each key's example, added to a small valid manifest, raises no 'unknown key' error; a key the schema
    does not have is rejected in the same place."""
    base = {"title": "T", "source": str(BOOKS / "kb"), "chapters": ["what-is-ai"]}
    for key in KEYS:
        example = yaml.safe_load(key.example)
        data = {**base, **example}
        if "parts" in example:
            del data["chapters"]
        path = tmp_path / "m.yml"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        try:
            load_manifest(path, Reporter())
        except ManifestError as exc:
            assert not [d.format() for d in exc.diagnostics if "unknown key" in d.message], key.path
    for where, example in (("", {"titel": "x"}), ("pdf", {"pdf": {"sidez": 1}}), ("output", {"output": {"nam": "x"}}),
                           ("chapters[]", {"chapters": [{"title": "x", "articles": ["what-is-ai"], "artcles": []}]})):
        assert "titel" not in keys_at(where)
        path = tmp_path / "bad.yml"
        path.write_text(yaml.safe_dump({**base, **example}), encoding="utf-8")
        with pytest.raises(ManifestError) as info:
            load_manifest(path, Reporter())
        assert any("unknown key" in d.message for d in info.value.diagnostics), where


def test_the_sample_manifests_use_only_documented_keys():
    documented = {k.path for k in KEYS}

    def paths(value, prefix: str):
        if isinstance(value, dict):
            for k, v in value.items():
                here = f"{prefix}.{k}" if prefix else str(k)
                yield here
                yield from paths(v, here)
        elif isinstance(value, list):
            for item in value:
                yield from paths(item, prefix + "[]")

    for manifest in sorted(BOOKS.glob("*.yml")):
        for p in paths(yaml.safe_load(manifest.read_text(encoding="utf-8")), ""):
            p = p.replace("parts[].chapters[]", "chapters[]")
            if p.startswith(("filter.", "tag_labels.")) or p.startswith("chapters[].") and p.count(".") == 1 and \
                    p.split(".")[1] not in keys_at("chapters[]"):
                continue  # free-form names: front-matter fields, tags, and a chapter entry that is a query
            if p.startswith("chapters[].articles[].") and p.split(".")[-1] not in keys_at("chapters[].articles[]"):
                continue  # a front-matter field in a query
            assert p in documented, f"{manifest.name}: {p}"


def test_readme_links_to_the_reference():
    assert "docs/manifest.md" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert Path(ROOT / "docs" / "manifest.md").is_file()
