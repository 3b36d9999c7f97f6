"""A model-free head judges audio through the real commands: ``unireward score`` on a manifest and
``unireward eval`` on pairwise-jsonl rows, with no ``--model`` (the readers are tested in test_audio_ingest)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unireward_sdk import (JudgeHeadBase, RewardHeadSpec, Score, TaskSpec, Verdict, cli,
                           get_registry, hookimpl)
from unireward_sdk.tasks import TemplateTask


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
