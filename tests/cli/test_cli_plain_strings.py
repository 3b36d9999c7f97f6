"""Plain strings as candidates (issue 15, point 3): one ingestion rule for `eval --benchmark pairwise-jsonl`
and pair manifests. A string whose suffix a modality plugin declares is a media file; a sentence is an
answer text only for a task that takes texts, and is refused, with file:line, before anything loads,
for a task that judges media."""

from __future__ import annotations

import json

from cli_errors_fixtures import jsonl, media, run, tiny_judge  # noqa: F401


def _eval(capsys, data, out, *extra):
    return run(capsys, "eval", "--benchmark", "pairwise-jsonl", "--data", data, "--out", out, "--bootstrap", "10",
               "--no-plots", *extra)


def test_plain_string_paths_are_judged_as_images(capsys, tiny_judge, media, tmp_path):
    data = jsonl(tmp_path / "pairs.jsonl", [
        {"id": "1", "task": "image_generation", "prompt": "a red square", "a": "red.png", "b": "blue.png",
         "label": "A"},
        {"id": "2", "task": "image_generation", "prompt": "a blue square", "chosen": "blue.png",
         "rejected": "red.png"},
    ])
    code, out, err = _eval(capsys, data, tmp_path / "report", "--model", tiny_judge, "--head", "fast")
    assert code == 0, err
    assert "failures 0/2" in out  # not two backend_errors "candidates have no media file"
    rows = [json.loads(line) for line in (tmp_path / "report" / "predictions.jsonl").read_text().splitlines()]
    assert all(r["status"] == "ok" for r in rows)


def test_a_sentence_for_an_image_task_is_refused_before_the_model_loads(capsys, media, tmp_path):
    data = jsonl(tmp_path / "pairs.jsonl", [
        {"id": "1", "task": "image_generation", "prompt": "red", "a": "red.png", "b": "blue.png", "label": "A"},
        {"id": "2", "task": "image_generation", "prompt": "red", "a": "a red square", "b": "blue.png", "label": "A"},
        {"id": "3", "task": "image_generation", "prompt": "red", "a": "red.png", "b": "nope.png", "label": "B"},
    ])
    code, out, err = _eval(capsys, data, tmp_path / "report", "--model", tmp_path / "no_such_model")
    assert code == 2 and out == ""
    assert f"{data}:2: candidate 'a' 'a red square' is not a media file path" in err
    assert "task 'image_generation' judges images, not texts" in err
    assert f"{data}:3" in err and "nope.png" in err  # every bad row at once
    assert "no_such_model" not in err and not (tmp_path / "report").exists()


def test_plain_strings_stay_answer_texts_for_an_understanding_task(capsys, tiny_judge, media, tmp_path):
    data = jsonl(tmp_path / "pairs.jsonl", [
        {"id": "1", "task": "image_understanding", "question": "Which colour?", "context": "red.png",
         "a": "It is red.", "b": "It is blue.", "label": "A"},
    ])
    code, out, err = _eval(capsys, data, tmp_path / "report", "--model", tiny_judge, "--head", "fast")
    assert code == 0, err
    assert "failures 0/1" in out


def _pair_job(tmp_path, task: str, rows: list) -> str:
    jsonl(tmp_path / "prompts.jsonl", rows)
    (tmp_path / "job.toml").write_text(f'[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\ntask = "{task}"\n'
                                       f'model = "{tmp_path / "no_such_model"}"\n', encoding="utf-8")
    return str(tmp_path / "job.toml")


def test_a_pair_manifest_reads_plain_strings_by_the_same_rule(capsys, media, tmp_path):
    config = _pair_job(tmp_path, "image_generation", [
        {"id": "cat", "prompt": "a red cat", "candidates": ["red.png", "a red cat on a mat"]}])
    code, _, err = run(capsys, "pairs", "--config", config, "--no-progress")
    assert code == 2
    # every problem of the input at once, before anything loads: the plain string and the missing model
    assert "prompts.jsonl:1: candidate 1 'a red cat on a mat' is not a media file path" in err
    assert "2 problems in the input" in err and not (tmp_path / "out").exists()


def test_a_pair_manifest_takes_plain_answer_texts_for_an_understanding_task(media, tmp_path):
    from unireward_sdk.pairs.sources import ManifestSource

    manifest = jsonl(tmp_path / "prompts.jsonl", [
        {"id": "q", "question": "Which colour?", "context": ["red.png"], "candidates": ["It is red.", "Blue."]}])
    (record,) = ManifestSource.from_jsonl(manifest, "image_understanding").records
    assert [(c.modality, c.text) for c in record.candidates] == [("text", "It is red."), ("text", "Blue.")]
