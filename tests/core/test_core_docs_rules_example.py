"""docs/plugins.md's "Everywhere a built-in goes" example, run through the real commands."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pytest
from PIL import Image

from unireward_sdk import cli, get_registry
from unireward_sdk.testing import temporary_plugin

DOCS = Path(__file__).resolve().parents[2] / "docs" / "plugins.md"


@pytest.fixture
def rules_plugin():
    text = DOCS.read_text(encoding="utf-8")
    source = re.search(r"<!-- example: my_rules/plugin.py -->\s*```python\n(.*?)```", text, flags=re.S).group(1)
    module = types.ModuleType("my_rules_plugin")
    sys.modules[module.__name__] = module  # attrs and dataclasses look classes up by module
    try:
        exec(compile(source, "<docs/plugins.md my_rules/plugin.py>", "exec"), module.__dict__)
        with temporary_plugin(module, name="my_rules", host=get_registry().host):
            yield module
    finally:
        del sys.modules[module.__name__]


def test_options_table_and_command(rules_plugin, capsys, monkeypatch):
    from unireward_sdk import host as host_module

    # `unireward plugins` loads the installed plugins afresh; show it the process's host, which has the example
    monkeypatch.setattr(host_module.PluginHost, "load", classmethod(lambda cls, *a, **k: get_registry().host))
    assert cli.main(["plugins", "--options", "max_words"]) == 0
    assert re.search(r"max_words\s+int\s+50\s+longest answer kept", capsys.readouterr().out)
    assert cli.main(["brevity", "Red, I think."]) == 0
    assert capsys.readouterr().out.strip() == "3 words"


def test_model_free_head_scores_without_a_model(rules_plugin, tmp_path, capsys):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "car.png")
    code = cli.main(["score", "--task", "image_understanding", "--head", "brevity", "--mode", "pairwise",
                     "--question", "What colour is the car?", "--media", str(tmp_path / "car.png"),
                     "--response", "It is red, I think.", "Red."])
    assert code == 0
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert verdict["winner"] == "B" and verdict["status"] == "ok"


def test_pair_job_with_the_filter_and_its_option(rules_plugin, tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "car.png")
    rows = [
        {"id": "q1", "question": "What colour is the car?", "context": ["car.png"],
         "responses": ["It is quite clearly a red car.", "Red.", "A red one.", "Red, I think."]},
        {"id": "q2", "question": "Is it moving?", "context": ["car.png"],
         "responses": ["No, it is parked by the road.", "It seems to be parked somewhere."]},
    ]
    (tmp_path / "prompts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    (tmp_path / "job.toml").write_text(
        '[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\ntask = "image_understanding"\nhead = "brevity"\n'
        'filters = [{name = "max_words", options = {max_words = 4}}, {name = "pair_ranking"}, '
        '{name = "point_sifting"}]\n', encoding="utf-8")
    assert cli.main(["pairs", "--config", str(tmp_path / "job.toml"), "--no-progress"]) == 0
    records = [json.loads(line) for line in (tmp_path / "out" / "pairs.jsonl").read_text().splitlines()]
    by_prompt = {r["prompt_id"]: r for r in records}
    pair = by_prompt["q1"]["record"]
    # the long answer was left out by the filter; the shorter of the ranked pair is chosen
    assert pair["chosen"]["text"] == "Red." and pair["rejected"]["text"] == "A red one."
    assert by_prompt["q2"]["kind"] == "dropped" and by_prompt["q2"]["record"]["reason"] == "too_long"


def test_a_wrong_filter_option_is_refused_before_anything_is_written(rules_plugin, tmp_path, capsys):
    (tmp_path / "prompts.jsonl").write_text('{"id": "q", "question": "?", "responses": ["a", "b"]}\n')
    (tmp_path / "job.toml").write_text(
        '[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\ntask = "image_understanding"\nhead = "brevity"\n'
        'filters = [{name = "max_words", options = {max_word = 4}}]\n', encoding="utf-8")
    assert cli.main(["pairs", "--config", str(tmp_path / "job.toml"), "--no-progress"]) == 2  # bad usage
    assert "Did you mean 'max_words'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
