""".wav candidates through every way items come in: score manifests, pair manifests (and the contact sheet of
the pairs), judge-training records and the pairwise benchmark format.

The audio modality is the installed distribution's (found through its entry point by the process registry);
a small task that takes audio is registered on that registry's host for each test only.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from unireward_sdk import CapabilityError, ConfigError, TaskSpec
from unireward_sdk.registry import get_registry
from unireward_sdk.testing import spec_plugin, temporary_plugin

TASK = "audio_judging"


class AudioJudgingTask:
    name = TASK
    modalities = ("audio",)


@pytest.fixture
def registry():
    registry = get_registry()
    if "audio" not in registry.names("modality"):
        pytest.fail("unireward-audio is not installed: run `pip install -e contrib/unireward-audio`")
    plugin = spec_plugin(TaskSpec(name=TASK, factory=AudioJudgingTask, modalities=("audio",)),
                         name="audio_judging_task")
    with temporary_plugin(plugin, host=registry):
        yield registry


@pytest.fixture
def sounds(tmp_path, write_wav):
    folder = tmp_path / "data"
    (folder / "sounds").mkdir(parents=True)
    return [write_wav(folder / "sounds" / f"s{i}.wav", 220 * (i + 1)) for i in range(4)]


def _jsonl(path: Path, rows) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_score_manifest(registry, sounds):
    from unireward_sdk.cli.score import items_from_manifest

    manifest = _jsonl(sounds[0].parent.parent / "items.jsonl",
                      [{"id": "p1", "prompt": "a low hum", "media": ["sounds/s0.wav", "sounds/s1.wav"]}])
    (item,) = items_from_manifest(manifest, TASK, "pairwise", registry, False)
    assert [c.modality for c in item.candidates] == ["audio", "audio"]
    assert item.candidates[1].path == str(sounds[1].resolve())


def test_pair_manifest_and_its_contact_sheet(registry, sounds, tmp_path):
    from unireward_sdk.pairs import ManifestSource, PairDataset, PairJob, PairJobConfig
    from unireward_sdk.pairs.sheet import write_sheet

    manifest = _jsonl(sounds[0].parent.parent / "prompts.jsonl",
                      [{"id": f"p{k}", "prompt": f"tone {k}", "candidates": [f"sounds/s{k}.wav", f"sounds/s{k + 2}.wav"]}
                       for k in range(2)])
    source = ManifestSource.from_jsonl(manifest, TASK, registry=registry)
    assert {c.modality for r in source.records for c in r.candidates} == {"audio"}

    config = PairJobConfig(manifest=str(manifest), output=str(tmp_path / "pairs"), task=TASK,
                           judge_factory="unireward_sdk.testing.filter:HashJudge", batch_size=2, progress=False)
    PairJob(config, registry=registry).run()
    pairs = PairDataset(tmp_path / "pairs").pairs()
    assert pairs and all(p.chosen.modality == "audio" for p in pairs)
    html = write_sheet(tmp_path / "pairs", tmp_path / "sheet.html").read_text()
    assert "[audio] " in html and "<img" not in html  # a labelled tile, never opened as an image
    png = write_sheet(tmp_path / "pairs", tmp_path / "sheet.png")
    assert png.stat().st_size > 0


def test_training_records(registry, sounds):
    from unireward_sdk.training import load_records, record_to_dict

    data = _jsonl(sounds[0].parent.parent / "train.jsonl", [
        {"task": TASK, "prompt": "a low hum", "candidates": [{"path": "sounds/s0.wav"}, {"path": "sounds/s1.wav"}],
         "label": "A"},
        {"task": TASK, "prompt": "a hum", "candidates": ["sounds/s2.wav"], "score": 3, "scale": [1, 5]},
    ])
    pair, point = load_records(data, registry=registry)
    assert [c.modality for c in pair.item().candidates] == ["audio", "audio"]
    assert point.item().candidates[0].modality == "audio"  # a bare .wav string is a file, not a text
    assert "modality" not in record_to_dict(pair)["candidates"][0]  # the format is unchanged


def test_pairwise_benchmark_format(registry, sounds):
    from unireward_sdk.evaluation import load_benchmark

    data = _jsonl(sounds[0].parent.parent / "pairs.jsonl", [
        {"id": "e1", "task": TASK, "prompt": "a low hum", "a": {"path": "sounds/s0.wav"},
         "b": {"path": "sounds/s1.wav"}, "label": "B"},
    ])
    bench = load_benchmark("pairwise-jsonl", data, registry=registry)
    assert [c.modality for c in bench.examples[0].item.candidates] == ["audio", "audio"]
    assert "registry" not in bench.options


def test_a_wav_given_to_an_image_task_is_refused_by_name(registry, sounds):
    from unireward_sdk.evaluation import load_benchmark
    from unireward_sdk.pairs import ManifestSource
    from unireward_sdk.training import load_records

    folder = sounds[0].parent.parent
    manifest = _jsonl(folder / "m.jsonl", [{"prompt": "x", "candidates": ["sounds/s0.wav", "sounds/s1.wav"]}])
    # a pair manifest names every refused file of the line at once
    with pytest.raises(ConfigError, match=r"'s0.wav' is an audio file and task 'image_generation' takes image") as info:
        ManifestSource.from_jsonl(manifest, "image_generation", registry=registry)
    assert "'s1.wav' is an audio file" in str(info.value)
    records = _jsonl(folder / "r.jsonl", [{"task": "image_generation", "candidates": [{"path": "sounds/s3.wav"}],
                                           "score": 1}])
    with pytest.raises(CapabilityError, match="s3.wav") as info:
        load_records(records, registry=registry)
    assert f"{records}:1" in str(info.value)
    bench = _jsonl(folder / "b.jsonl", [{"task": "image_generation", "prompt": "x", "a": {"path": "sounds/s0.wav"},
                                         "b": {"path": "sounds/s1.wav"}, "label": "A"}])
    with pytest.raises(CapabilityError, match="s0.wav"):
        load_benchmark("pairwise-jsonl", bench, registry=registry)
    with pytest.raises(CapabilityError) as info:
        load_benchmark("pairwise-jsonl", bench, registry=registry)
    assert f"{bench}:1" in str(info.value)  # the row's file and line
