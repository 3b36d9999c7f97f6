"""`unireward score` output from the user's side: results alone on stdout, the SDK's progress on stderr, and
no library bars or log noise unless --verbose."""

from __future__ import annotations

import json

import pytest

from unireward_sdk.cli import main


@pytest.fixture(autouse=True)
def _use_test_registry(monkeypatch, registry):
    monkeypatch.setattr("unireward_sdk.registry._default", registry)


def _score(model, images, *extra) -> list[str]:
    return ["score", "--model", str(model), "--task", "image_generation", "--mode", "pairwise", "--head", "fast",
            "--prompt", "a red square", "--media", str(images["red"]), str(images["blue"]), *extra]


def test_score_shows_no_library_bars_by_default_and_its_own_progress_on_stderr(capsys, tiny_qwen2_5_vl,
                                                                             colour_images):
    assert main(_score(tiny_qwen2_5_vl, colour_images)) == 0
    captured = capsys.readouterr()
    assert "Loading weights" not in captured.err and "it/s]" not in captured.err
    assert "unireward score: 1/1 items judged (0 failed) 100%" in captured.err
    (line,) = captured.out.splitlines()  # stdout holds the verdict only
    assert json.loads(line)["item_id"] == "item-0"


@pytest.mark.parametrize("where", ["before", "after"])
def test_verbose_shows_the_libraries_output(capsys, tiny_qwen2_5_vl, colour_images, where):
    argv = ["--verbose", *_score(tiny_qwen2_5_vl, colour_images)] if where == "before" else \
        _score(tiny_qwen2_5_vl, colour_images, "--verbose")
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "Loading weights" in captured.err
    assert "Loading weights" not in captured.out and len(captured.out.splitlines()) == 1
