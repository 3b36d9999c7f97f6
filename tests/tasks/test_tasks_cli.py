"""`unireward templates` and `unireward parse`, and the generated parts of docs/judging-templates.md."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from unireward_builtins.tasks._catalogue import catalogue_data
from unireward_sdk.cli import main
from unireward_sdk.cli.templates import BEGIN, END, generated_sections
from unireward_sdk.host import PluginHost
from unireward_sdk.registry import Registry

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "judging-templates.md"
ENTRIES = catalogue_data()["templates"]
TASK_MODULES = tuple(f"unireward_builtins.tasks.{t}" for t in
                     ("image_generation", "video_generation", "image_understanding", "video_understanding"))


def cli(capsys, *argv, stdin=None, monkeypatch=None):
    if stdin is not None:
        import io

        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


# --- templates ------------------------------------------------------------------------------------


def test_templates_json_reproduces_every_catalogue_text_byte_for_byte(capsys):
    code, out, _ = cli(capsys, "templates", "--json")
    assert code == 0
    doc = json.loads(out)
    by_id = {t["id"]: t for t in doc["templates"]}
    assert set(by_id) >= {e["id"] for e in ENTRIES}
    for entry in ENTRIES:
        t = by_id[entry["id"]]
        assert t["text"].encode("utf-8") == entry["text"].encode("utf-8"), entry["id"]
        assert (t["task"], t["mode"], t["family"]) == (entry["task"], entry["mode"], entry["family"])
        assert t["slots"] == list(entry["slots"])
        assert t["source"]["license"] == "MIT"
    assert doc["conflicts"] == []
    caps = {(c["family"], c["task"], c["mode"]): c for c in doc["capabilities"]}
    assert caps[("qwen_v1", "image_generation", "pairwise")]["template"] == "image_generation.pairwise_rank.qwen_v1"
    assert caps[("think", "image_generation", "pointwise")]["template"] is None


def test_templates_text_lists_every_template_with_its_text(capsys):
    code, out, _ = cli(capsys, "templates")
    assert code == 0
    for entry in ENTRIES:
        assert f"{entry['id']}\n  task: {entry['task']}   mode: {entry['mode']}" in out
        assert entry["text"] in out
    assert "capability matrix" in out and "| task | mode | qwen_v1 | llava_v1 | v2 | think |" in out


def test_templates_filters(capsys):
    code, out, _ = cli(capsys, "templates", "--json", "--task", "video_generation", "--family", "v2")
    ids = [t["id"] for t in json.loads(out)["templates"]]
    assert ids == ["video_generation.pairwise_score.v2", "video_generation.pointwise_multi.v2"]
    code, out, _ = cli(capsys, "templates", "--id", "image_generation.pairwise_rank.llava_v1")
    assert out.startswith("image_generation.pairwise_rank.llava_v1\n") and "'<image>\\n <image>\\n'" in out
    assert "capability matrix" not in out


def test_templates_file_option(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text('[[templates]]\nid = "image_generation.pointwise_score.mine"\n'
                    'extends = "image_generation.pointwise_score.qwen_v1"\ntext = "Rate [{prompt}]."\n', encoding="utf-8")
    code, out, _ = cli(capsys, "templates", "--json", "--templates-file", str(path), "--id",
                       "image_generation.pointwise_score.mine")
    [t] = json.loads(out)["templates"]
    assert t["text"] == "Rate [{prompt}]." and t["score_range"] == [1.0, 5.0]
    # the process-wide registry is not changed by a file given to one command
    code, out, err = cli(capsys, "templates", "--json", "--id", "image_generation.pointwise_score.mine")
    assert code == 2 and out == "" and "--id 'image_generation.pointwise_score.mine' matches no template" in err


def test_docs_generated_sections_match_the_registry():
    text = DOC.read_text(encoding="utf-8")
    reg = Registry(PluginHost.load(builtins=TASK_MODULES, entry_points=()))
    for name, body in generated_sections(reg).items():
        pattern = re.escape(BEGIN.format(name=name)) + r"\n(.*?)\n" + re.escape(END.format(name=name))
        found = re.search(pattern, text, re.S)
        assert found, f"docs/judging-templates.md lacks the generated '{name}' section"
        assert found.group(1) == body, f"'{name}' is stale: regenerate with `unireward templates --markdown`"


def test_markdown_option_prints_the_sections(capsys):
    code, out, _ = cli(capsys, "templates", "--markdown")
    assert code == 0 and BEGIN.format(name="capability matrix") in out and END.format(name="template table") in out


# --- parse ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template_id", "answer", "expected"),
    [
        ("image_generation.pairwise_rank.qwen_v1", "Image 2 is better.", {"winner": "B", "kind": "verdict"}),
        ("image_generation.pairwise_rank.llava_v1", "Both images are equally good.", {"winner": "tie"}),
        ("video_understanding.pairwise_rank.qwen_v1", "Overall Judgment: Answer 1 is better than Answer 2.",
         {"winner": "A"}),
        ("image_generation.pairwise_cot.think", "<think>x</think><answer>Image 1 is better</answer>", {"winner": "A"}),
        ("image_generation.pointwise_score.qwen_v1", "Final Score: 3.5",
         {"score": 3.5, "scale": [1.0, 5.0], "normalized": 0.625, "kind": "score"}),
        ("image_understanding.pointwise_score.qwen_v1", "Good.\nFinal Score: 85", {"score": 85.0, "normalized": 0.85}),
        ("image_generation.pointwise_multi.v2",
         "Alignment Score (1-5): 4\nCoherence Score (1-5): 3\nStyle Score (1-5): 5",
         {"score": 4.0, "scores": {"alignment": 4.0, "coherence": 3.0, "style": 5.0}}),
        ("video_generation.pointwise_multi.v2",
         "Alignment Score (1-5): 2.5\nPhysics Score (1-5): 3.5\nStyle Score (1-5): 3",
         {"scores": {"alignment": 2.5, "physics": 3.5, "style": 3.0}}),
        ("image_generation.pairwise_score.v2",
         "Alignment Score:\n Image 1: 0.4\n Image 2: 0.6\nCoherence Score:\n Image 1: 0.5\n Image 2: 0.5\n"
         "Style Score:\n Image 1: 0.3\n Image 2: 0.7",
         {"winner": "B", "scores": {"alignment": [0.4, 0.6], "coherence": [0.5, 0.5], "style": [0.3, 0.7]}}),
    ],
)
def test_parse_prints_one_json_object(capsys, monkeypatch, template_id, answer, expected):
    code, out, err = cli(capsys, "parse", "--template", template_id, stdin=answer, monkeypatch=monkeypatch)
    assert code == 0, err
    assert out.count("\n") == 1
    doc = json.loads(out)
    assert doc["ok"] is True and doc["status"] == "ok" and doc["error"] is None and doc["raw"] == answer
    for key, value in expected.items():
        assert doc[key] == value, key
    assert set(doc) >= {"ok", "status", "winner", "score", "scores", "normalized", "raw", "error"}


def test_parse_failure_is_reported_not_guessed(capsys, monkeypatch):
    answer = "Image 1 is better for color, Image 2 is better for layout."
    code, out, _ = cli(capsys, "parse", "--template", "image_generation.pairwise_rank.qwen_v1", stdin=answer,
                       monkeypatch=monkeypatch)
    doc = json.loads(out)
    assert code == 0 and doc["ok"] is False and doc["status"] == "ambiguous" and doc["winner"] is None
    assert "contradictory" in doc["error"] and doc["raw"] == answer
    code, out, _ = cli(capsys, "parse", "--template", "image_generation.pointwise_score.qwen_v1", "--check",
                       "--text", "Final Score: 7")
    doc = json.loads(out)
    assert code == 1 and doc["status"] == "out_of_range" and doc["score"] is None


def test_parse_unknown_template_is_an_error_with_a_hint(capsys):
    code, out, err = cli(capsys, "parse", "--template", "image_generation.pairwise_rank.qwen_v2", "--text", "x")
    assert code == 2 and out == ""  # an unknown name is bad usage
    assert "Did you mean 'image_generation.pairwise_rank.qwen_v1'" in err


def test_parse_through_the_installed_command_reads_stdin():
    proc = subprocess.run(
        [sys.executable, "-m", "unireward_sdk", "parse", "--template", "video_generation.pointwise_multi.qwen_v1"],
        input="visual quality: 3\ntemporal consistency: 4\ndynamic degree: 2\ntext-to-video alignment: 3\n"
              "factual consistency: 4\nFinal Score: 10\n",
        capture_output=True, text=True, timeout=60, cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["score"] == 10.0 and doc["scale"] == [1.0, 10.0]
    assert doc["scores"]["text_to_video_alignment"] == 3.0
