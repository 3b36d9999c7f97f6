"""`unireward score` on locally saved tiny checkpoints: every task x mode, both heads, manifests."""

from __future__ import annotations

import json
import shutil

import pytest

from unireward_sdk.cli import main
from unireward_sdk.records import Score, Verdict, from_dict

TASKS = ("image_generation", "video_generation", "image_understanding", "video_understanding")


@pytest.fixture(autouse=True)
def _use_test_registry(monkeypatch, registry):
    """`unireward score` asks get_registry(); hand it the registry with the built-in tasks."""
    monkeypatch.setattr("unireward_sdk.registry._default", registry)


def _flags(task: str, mode: str, images: dict, videos: dict) -> list[str]:
    media = videos if task.startswith("video") else images
    if task.endswith("generation"):
        files = [media["red"], media["blue"]] if mode == "pairwise" else [media["red"]]
        return ["--prompt", "a red square", "--media", *map(str, files)]
    responses = ["A red square.", "A blue square."] if mode == "pairwise" else ["A red square."]
    return ["--question", "What is shown?", "--media", str(media["red"]), "--response", *responses]


def _records(out: str) -> list:
    return [from_dict(json.loads(line)) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("head", ["generative", "fast"])
@pytest.mark.parametrize("mode", ["pairwise", "pointwise"])
@pytest.mark.parametrize("task", TASKS)
def test_every_task_and_mode_runs_on_a_local_tiny_checkpoint(
    capsys, tiny_qwen2_5_vl, colour_images, mp4_videos, task, mode, head
):
    argv = ["score", "--model", str(tiny_qwen2_5_vl), "--task", task, "--mode", mode, "--head", head,
            "--max-new-tokens", "4", *_flags(task, mode, colour_images, mp4_videos)]
    code = main(argv)
    captured = capsys.readouterr()
    (record,) = _records(captured.out)
    assert code == (0 if record.ok else 1)  # 1: the only item failed
    assert isinstance(record, Verdict if mode == "pairwise" else Score)
    assert record.item_id == "item-0" and record.provenance.plugin == head
    assert record.provenance.template_id.startswith(f"{task}.") and ".qwen_v1" in record.provenance.template_id
    if head == "fast":
        assert record.ok  # the readout always yields a distribution
    else:
        assert record.ok or record.error  # a random judge's 4 tokens rarely parse: a failure value, not a crash
    assert "1/1 items judged" in captured.err


def test_trained_judge_through_the_cli_with_symmetric_fast_head(capsys, trained_qwen2_vl, colour_images):
    argv = ["score", "--model", str(trained_qwen2_vl), "--task", "image_generation", "--mode", "pairwise",
            "--head", "fast", "--symmetric", "--prompt", "a red square",
            "--media", str(colour_images["red"]), str(colour_images["blue"])]
    assert main(argv) == 0
    (verdict,) = _records(capsys.readouterr().out)
    assert verdict.winner == "A" and verdict.consistency is not None and verdict.consistency > 0.5
    assert verdict.probabilities["A"] > 0.5


def test_manifest_paths_are_relative_to_the_manifest_and_kept_inside_it(capsys, tmp_path, trained_qwen2_vl,
                                                                        colour_images):
    folder = tmp_path / "job"
    (folder / "media").mkdir(parents=True)
    for colour in ("red", "blue"):
        shutil.copy(colour_images[colour], folder / "media" / f"{colour}.png")
    shutil.copy(colour_images["green"], tmp_path / "outside.png")
    manifest = folder / "items.jsonl"
    rows = [{"id": "p1", "prompt": "a red square", "media": ["media/red.png", "media/blue.png"]},
            {"id": "p2", "prompt": "a red square", "media": ["media/blue.png", "media/red.png"]}]
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    base = ["score", "--model", str(trained_qwen2_vl), "--task", "image_generation", "--mode", "pairwise"]
    assert main([*base, "--manifest", str(manifest)]) == 0
    captured = capsys.readouterr()
    verdicts = _records(captured.out)
    assert [(v.item_id, v.winner) for v in verdicts] == [("p1", "A"), ("p2", "B")]
    assert "2/2 items judged (0 failed)" in captured.err

    escaping = folder / "escape.jsonl"
    escaping.write_text(json.dumps({"id": "x", "prompt": "p", "media": ["media/red.png", "../outside.png"]}) + "\n")
    assert main([*base, "--manifest", str(escaping)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "outside the manifest's folder" in captured.err
    assert "--allow-outside-paths" in captured.err and "escape.jsonl:1" in captured.err
    assert main([*base, "--manifest", str(escaping), "--allow-outside-paths"]) == 0
    (verdict,) = _records(capsys.readouterr().out)
    assert verdict.item_id == "x"


def test_a_missing_media_file_is_refused_and_a_broken_one_is_a_failure_line(capsys, tmp_path, trained_qwen2_vl,
                                                                             colour_images):
    manifest = tmp_path / "items.jsonl"
    shutil.copy(colour_images["red"], tmp_path / "red.png")
    manifest.write_text(json.dumps({"id": "gone", "prompt": "a red square", "media": ["red.png", "nope.png"]}))
    argv = ["score", "--model", str(trained_qwen2_vl), "--task", "image_generation", "--mode", "pairwise",
            "--manifest", str(manifest)]
    assert main(argv) == 2  # a missing file is found with the manifest's other problems, before judging
    captured = capsys.readouterr()
    assert captured.out == "" and "items.jsonl:1: file 'nope.png' does not exist" in captured.err
    (tmp_path / "nope.png").write_bytes(b"not an image")  # there, but unreadable: that item's failure line
    assert main(argv) == 1  # no item succeeded
    (verdict,) = _records(capsys.readouterr().out)
    assert verdict.status == "media_error" and "nope.png" in verdict.error and verdict.winner is None


@pytest.mark.parametrize("extra, message", [
    (["--media", "a.png"], "pairwise judging needs 2 candidate(s), got 1"),
    (["--media", "a.png", "b.png", "--symmetric", "--mode", "pointwise"], "pointwise judging needs 1"),
])
def test_bad_invocations_exit_2_with_a_reason(capsys, tmp_path, tiny_qwen2_vl, extra, message):
    for name in ("a.png", "b.png"):
        (tmp_path / name).write_bytes(b"")
    argv = ["score", "--model", str(tiny_qwen2_vl), "--task", "image_generation", "--mode", "pairwise",
            "--prompt", "x", *[str(tmp_path / e) if e.endswith(".png") else e for e in extra]]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_symmetric_is_refused_for_pointwise(capsys, tiny_qwen2_vl, colour_images):
    argv = ["score", "--model", str(tiny_qwen2_vl), "--task", "image_generation", "--mode", "pointwise",
            "--symmetric", "--prompt", "x", "--media", str(colour_images["red"])]
    assert main(argv) == 2
    assert "--symmetric applies to pairwise judging only" in capsys.readouterr().err


def test_a_template_of_the_other_mode_is_refused(capsys, tiny_qwen2_vl, colour_images):
    argv = ["score", "--model", str(tiny_qwen2_vl), "--task", "image_generation", "--mode", "pairwise",
            "--template", "image_generation.pointwise_score.qwen_v1", "--prompt", "x",
            "--media", str(colour_images["red"]), str(colour_images["blue"])]
    assert main(argv) == 2
    assert "judges pointwise items, not pairwise" in capsys.readouterr().err
