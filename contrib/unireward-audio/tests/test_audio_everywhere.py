"""An ``audio`` file is an audio candidate on every path that reads candidates: score manifests, pair
manifests, judge-training records, the pairwise benchmark format and the contact sheet; and a file a task
does not judge is refused by name."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from unireward_sdk import (CapabilityError, JudgeHeadBase, RewardHeadSpec, Score, TaskSpec, Verdict, cli,
                           get_registry, hookimpl)
from unireward_sdk.evaluation.benchmarks import load_benchmark
from unireward_sdk.ingest import candidate_for
from unireward_sdk.pairs.sheet import write_sheet
from unireward_sdk.tasks import TemplateTask
from unireward_sdk.training.records import load_records


class AudioGenerationTask(TemplateTask):
    name = "audio_generation"
    modalities = ("audio",)


class LoudnessHead(JudgeHeadBase):
    """A model-free test head: the louder recording (RMS) wins."""

    name = "loudness"
    needs = ()
    renders_requests = False

    def _run(self, mode, template_id, template, items, item_ids):
        rms = [[float(np.sqrt(np.mean(self.media(c.path, "audio").data ** 2))) for c in item.candidates]
               for item in items]
        if mode == "pointwise":
            return [Score(item_id=item.id, value=r[0]) for item, r in zip(items, rms)]
        return [Verdict(item_id=item.id, winner="A" if r[0] > r[1] else "B") for item, r in zip(items, rms)]


class _AudioJudging:
    @hookimpl
    def unireward_register_tasks(self):
        yield TaskSpec(name="audio_generation", factory=AudioGenerationTask, modalities=("audio",))

    @hookimpl
    def unireward_register_reward_heads(self):
        yield RewardHeadSpec(name="loudness", factory=LoudnessHead, needs_backend=False, backend_capabilities=(),
                             tasks=("audio_generation",), options=())


@pytest.fixture(autouse=True)
def audio_judging():
    host = get_registry().host
    assert host.register(_AudioJudging(), name="audio_judging_test")
    yield
    host.unregister("audio_judging_test")


@pytest.fixture
def clips(tmp_path, write_wav):
    """quiet.wav and loud.wav (the loud one has the higher RMS); the folder they are in."""
    write_wav(tmp_path / "quiet.wav", frequency=220, channels=2)  # channel 2 is half as loud
    write_wav(tmp_path / "loud.wav", frequency=220, channels=1)
    return tmp_path


def test_score_manifest(clips, capsys):
    (clips / "items.jsonl").write_text(json.dumps({"id": "x", "prompt": "a loud tone",
                                                   "media": ["quiet.wav", "loud.wav"]}) + "\n")
    code = cli.main(["score", "--task", "audio_generation", "--head", "loudness", "--mode", "pairwise",
                     "--manifest", str(clips / "items.jsonl")])
    assert code == 0
    verdict = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert verdict["status"] == "ok" and verdict["winner"] == "B"


def test_pair_manifest_and_contact_sheet(clips):
    (clips / "prompts.jsonl").write_text(json.dumps({"id": "p", "prompt": "a loud tone",
                                                     "candidates": ["quiet.wav", "loud.wav"]}) + "\n")
    (clips / "job.toml").write_text('[pairs]\nmanifest = "prompts.jsonl"\noutput = "out"\n'
                                    'task = "audio_generation"\nhead = "loudness"\n')
    assert cli.main(["pairs", "--config", str(clips / "job.toml"), "--no-progress"]) == 0
    row = json.loads((clips / "out" / "pairs.jsonl").read_text().splitlines()[0])
    pair = row["record"]
    assert row["kind"] == "pair" and pair["chosen"]["modality"] == pair["rejected"]["modality"] == "audio"
    html = write_sheet(clips / "out", clips / "sheet.html").read_text()
    assert "[audio]" in html and ".wav" in html  # a labelled tile, not an image it failed to open
    assert "unreadable" not in html
    png = write_sheet(clips / "out", clips / "sheet.png")
    assert Image.open(png).size[0] > 0


def test_training_records(clips):
    records = load_records([
        {"task": "audio_generation", "candidates": [{"path": "quiet.wav"}, {"path": "loud.wav"}], "label": "B"},
        {"task": "audio_generation", "candidates": ["loud.wav"], "score": 4, "scale": [1, 5]},
    ], base_dir=clips)
    assert [c.modality for c in records[0].item().candidates] == ["audio", "audio"]
    assert records[1].candidates[0]["path"].endswith("loud.wav")  # a bare .wav string is a file, not a text
    assert records[1].item().candidates[0].modality == "audio"


def test_pairwise_benchmark_rows(clips):
    (clips / "bench.jsonl").write_text(json.dumps({"id": "b1", "task": "audio_generation", "prompt": "loud",
                                                   "a": {"path": "quiet.wav"}, "b": {"path": "loud.wav"},
                                                   "label": "B"}) + "\n")
    loaded = load_benchmark("pairwise-jsonl", clips / "bench.jsonl")
    [example] = loaded.examples
    assert [c.modality for c in example.item.candidates] == ["audio", "audio"]


def test_eval_runs_the_model_free_head_on_audio(clips, tmp_path, capsys):
    (clips / "bench.jsonl").write_text(json.dumps({"id": "b1", "task": "audio_generation", "prompt": "loud",
                                                   "a": {"path": "quiet.wav"}, "b": {"path": "loud.wav"},
                                                   "label": "B"}) + "\n")
    code = cli.main(["eval", "--benchmark", "pairwise-jsonl", "--data", str(clips / "bench.jsonl"),
                     "--head", "loudness", "--out", str(tmp_path / "report")])
    assert code == 0, capsys.readouterr().err
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["n"] == 1
    assert report["metrics"]["tau"]["correct"] == 1 and report["metrics"]["tau"]["value"] == 1.0


def test_a_file_the_task_does_not_judge_is_refused_by_name(clips, tmp_path):
    Image.new("RGB", (8, 8)).save(tmp_path / "still.png")
    with pytest.raises(CapabilityError, match=r"'.*loud.wav' is an audio file, and task 'image_generation' judges"):
        candidate_for("loud.wav", id="a", base_dir=clips, task="image_generation")
    with pytest.raises(CapabilityError, match=r"still.png' is an image file, and task 'video_generation' judges video"):
        candidate_for("still.png", id="a", base_dir=tmp_path, task="video_generation")
    with pytest.raises(Exception, match="is an audio file"):
        load_records([{"task": "image_generation", "candidates": ["loud.wav", "quiet.wav"], "label": "A"}],
                     base_dir=clips)
