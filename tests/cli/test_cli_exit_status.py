"""Exit statuses a script can trust (issue 15, points 6 and 10): 1 when no item succeeded, 2 for bad usage,
0 otherwise; --fail-on-error; every problem of a manifest at once, files included, before a model loads;
a closed pipe and an interrupted job end with a sentence, not a traceback."""

from __future__ import annotations

import sys

from cli_errors_fixtures import jsonl, media, records, run, run_process, tiny_judge  # noqa: F401

from unireward_sdk.specs import RewardHeadSpec
from unireward_sdk.testing import spec_plugin, temporary_plugin

SCORE = ("score", "--task", "image_generation", "--mode", "pairwise", "--prompt", "a red square")


def test_score_exits_1_when_no_item_succeeded(capsys, tiny_judge, media):
    code, out, err = run(capsys, *SCORE, "--model", tiny_judge, "--head", "fast",
                         "--media", media["notimage"], media["red"])
    (line,) = records(out)
    assert line["status"] == "media_error"
    assert code == 1
    assert "1/1 items judged (1 failed)" in err and "no item was judged successfully" in err


def test_score_partial_failure_exits_0_unless_fail_on_error(capsys, tiny_judge, media, tmp_path):
    manifest = jsonl(tmp_path / "items.jsonl", [
        {"id": "good", "prompt": "a red square", "media": ["red.png", "blue.png"]},
        {"id": "broken", "prompt": "a red square", "media": ["notimage.png", "blue.png"]},
    ])
    base = ("score", "--task", "image_generation", "--mode", "pairwise", "--model", tiny_judge, "--head", "fast",
            "--manifest", manifest)
    code, out, err = run(capsys, *base)
    assert code == 0
    assert [r["status"] for r in records(out)] == ["ok", "media_error"]
    assert "2/2 items judged (1 failed)" in err
    code, out, err = run(capsys, *base, "--fail-on-error")
    assert code == 1
    assert "2/2 items judged (1 failed)" in err and "--fail-on-error" in err


def test_a_missing_media_file_is_found_before_the_model_loads(capsys, media):
    # the model folder does not exist either: the missing file must be the first thing reported
    code, out, err = run(capsys, *SCORE, "--model", media["red"].parent / "no_such_model",
                         "--media", media["red"], media["red"].parent / "typo.png")
    assert code == 2 and out == ""
    assert "typo.png' does not exist" in err
    assert "no_such_model" not in err


def test_a_manifest_reports_every_problem_at_once_with_file_and_line(capsys, media, tmp_path):
    manifest = jsonl(tmp_path / "items.jsonl", [
        {"id": "fine", "prompt": "p", "media": ["red.png", "blue.png"]},
        {"id": "gone", "prompt": "p", "media": ["red.png", "missing.png"]},
        {"id": "video", "prompt": "p", "media": ["clip.mp4", "blue.png"]},
        {"id": "one", "prompt": "p", "media": ["red.png"]},
    ])
    code, out, err = run(capsys, "score", "--task", "image_generation", "--mode", "pairwise",
                         "--model", tmp_path / "no_such_model", "--manifest", manifest)
    assert code == 2 and out == ""
    assert "3 problems" in err
    assert f"{manifest}:2: file 'missing.png' does not exist" in err
    assert f"{manifest}:3: 'clip.mp4' is a video file and task 'image_generation' takes images" in err
    assert f"{manifest}:4: pairwise judging needs 2 candidate(s), got 1" in err
    assert "no_such_model" not in err  # refused before the model is looked at


def test_eval_exits_1_when_no_item_succeeded_and_still_writes_the_report(capsys, tiny_judge, media, tmp_path):
    data = jsonl(tmp_path / "pairs.jsonl", [
        {"id": str(i), "task": "image_generation", "prompt": "a red square",
         "a": {"path": "notimage.png"}, "b": {"path": "red.png"}, "label": "A"} for i in range(2)])
    out_dir = tmp_path / "report"
    code, out, err = run(capsys, "eval", "--benchmark", "pairwise-jsonl", "--data", data, "--model", tiny_judge,
                         "--head", "fast", "--out", out_dir, "--bootstrap", "10", "--no-plots")
    assert code == 1
    assert "failures 2/2" in out and (out_dir / "report.json").exists()
    assert "no item was judged successfully" in err


def test_eval_fail_on_error(capsys, tiny_judge, media, tmp_path):
    data = jsonl(tmp_path / "pairs.jsonl", [
        {"id": "ok", "task": "image_generation", "prompt": "red", "a": {"path": "red.png"},
         "b": {"path": "blue.png"}, "label": "A"},
        {"id": "bad", "task": "image_generation", "prompt": "red", "a": {"path": "notimage.png"},
         "b": {"path": "blue.png"}, "label": "A"}])
    argv = ("eval", "--benchmark", "pairwise-jsonl", "--data", data, "--model", tiny_judge, "--head", "fast",
            "--bootstrap", "10", "--no-plots", "--no-randomize")
    code, out, _ = run(capsys, *argv, "--out", tmp_path / "r1")
    assert code == 0 and "failures 1/2" in out
    code, out, err = run(capsys, *argv, "--out", tmp_path / "r2", "--fail-on-error")
    assert code == 1 and "failures 1/2" in out and "--fail-on-error" in err


def test_templates_with_an_unknown_task_is_bad_usage_with_a_hint(capsys):
    code, out, err = run(capsys, "templates", "--task", "image_generaton")
    assert code == 2 and out == ""
    assert "--task 'image_generaton' matches no template" in err and "Did you mean 'image_generation'" in err
    code, out, err = run(capsys, "templates", "--task", "nope")
    assert code == 2 and "matches no template" in err


def test_a_closed_stdout_pipe_ends_without_a_traceback():
    """`unireward templates | head -1`: the reader goes away before the listing ends."""
    import os
    import subprocess

    from cli_errors_fixtures import REPO

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), str(REPO / "plugins")]))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write meets a closed pipe
    try:
        proc = subprocess.run([sys.executable, "-m", "unireward_sdk", "templates"], stdout=write_end,
                              stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        os.close(write_end)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "BrokenPipeError" not in err and "Exception ignored" not in err
    assert proc.returncode == 141


class _StopsTheJob:
    """A model-free head that stands for a user pressing Ctrl-C while the pair job judges."""

    name = "ctrl_c"

    def __init__(self, **_options):
        pass

    def judge_pairwise(self, items):
        raise KeyboardInterrupt

    def score_pointwise(self, items):
        raise KeyboardInterrupt


def test_an_interrupted_pair_job_says_how_to_resume(capsys, tmp_path):
    plugin = spec_plugin(RewardHeadSpec(name="ctrl_c", factory=_StopsTheJob, modes=("pairwise", "pointwise"),
                                        needs_backend=False), name="ctrl_c_plugin")
    jsonl(tmp_path / "prompts.jsonl", [{"id": "q", "question": "Which colour?", "responses": ["Red.", "Blue."]}])
    (tmp_path / "job.toml").write_text('[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\n'
                                       'task = "image_understanding"\nhead = "ctrl_c"\n', encoding="utf-8")
    from unireward_sdk import get_registry

    with temporary_plugin(plugin, name="ctrl_c_plugin", host=get_registry().host):
        code, _, err = run(capsys, "pairs", "--config", tmp_path / "job.toml", "--no-progress")
    assert code == 130
    assert "interrupted" in err and "--resume" in err
