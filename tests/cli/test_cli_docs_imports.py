"""The docs give what a trl / diffusers user needs to find the classes they name (issue 15, point 10): the
import path of each aligner class, and a page for `Pipeline` whose examples run."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = DOCS.parent / "README.md"
ALIGNERS = {"DiffusionDPOAligner": "unireward_builtins.aligners.diffusion_dpo",
            "VideoDiffusionDPOAligner": "unireward_builtins.aligners.video_diffusion_dpo",
            "VLMDPOAligner": "unireward_builtins.aligners.vlm_dpo"}


@pytest.mark.parametrize("name", sorted(ALIGNERS))
def test_an_aligner_class_the_docs_name_comes_with_its_import_path(name):
    pages = [p for p in DOCS.glob("*.md") if name in p.read_text(encoding="utf-8")]
    assert pages, f"no docs page names {name}"
    pattern = re.compile(rf"from ({re.escape(ALIGNERS[name])}) import [^\n]*\b{name}\b")
    found = [m.group(1) for p in pages for m in pattern.finditer(p.read_text(encoding="utf-8"))]
    assert found, f"{name} is named in {[p.name for p in pages]} without `from {ALIGNERS[name]} import {name}`"
    assert getattr(importlib.import_module(found[0]), name).__name__ == name


def _blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)


def test_pipeline_has_a_page_linked_from_the_readme_and_its_examples_run(tmp_path, monkeypatch):
    page = DOCS / "pipeline.md"
    assert page.exists(), "docs/pipeline.md is missing"
    assert "docs/pipeline.md" in README.read_text(encoding="utf-8")
    text = page.read_text(encoding="utf-8")
    (toml,) = _blocks(text, "toml")
    (tmp_path / "pipeline.toml").write_text(toml, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in _blocks(text, "python"):
        exec(compile(block, str(page), "exec"), namespace)
    assert namespace["same"] == namespace["pipeline"]
    assert namespace["variant"].symmetric and namespace["from_file"].task == "image_understanding"
