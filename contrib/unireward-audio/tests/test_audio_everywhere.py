"""The ingestion entry points with the installed audio modality: one candidate (``ingest.candidate_for``), one
path (``ingest.resolve_media``), and a recording embedded in a benchmark row without a file name. The readers
that build on them (score, pair manifests, training records, pairwise-jsonl, the contact sheet) are tested in
test_audio_ingest and test_audio_judging_cli."""

from __future__ import annotations

import pytest

from unireward_sdk import CapabilityError, ConfigError, TaskSpec, get_registry, hookimpl, ingest
from unireward_sdk.tasks import TemplateTask

TASK = "audio_everywhere"


class AudioTask(TemplateTask):
    name = TASK
    modalities = ("audio",)


class _AudioTaskPlugin:
    @hookimpl
    def unireward_register_tasks(self):
        yield TaskSpec(name=TASK, factory=AudioTask, modalities=("audio",))


@pytest.fixture
def registry():
    registry = get_registry()
    if "audio" not in registry.names("modality"):
        pytest.fail("unireward-audio is not installed: run `pip install -e contrib/unireward-audio`")
    assert registry.host.register(_AudioTaskPlugin(), name="audio_everywhere_task")
    yield registry
    registry.host.unregister("audio_everywhere_task")


def test_a_wav_is_an_audio_candidate_and_a_text_is_text(registry, tmp_path, write_wav):
    write_wav(tmp_path / "hum.wav")
    for value in ("hum.wav", {"path": "hum.wav"}):
        c = ingest.candidate_for(value, id="c0", base_dir=tmp_path, registry=registry, task=TASK)
        assert (c.id, c.modality, c.path) == ("c0", "audio", str((tmp_path / "hum.wav").resolve()))
    # no task: the modality is still the plugin's, nothing to check it against
    assert ingest.candidate_for("hum.wav", id="c", base_dir=tmp_path, registry=registry).modality == "audio"
    text = ingest.candidate_for({"text": "a low hum"}, id="t", base_dir=tmp_path, registry=registry, task=TASK)
    assert (text.modality, text.text, text.path) == ("text", "a low hum", None)


def test_files_a_task_does_not_take_are_refused_by_name(registry, tmp_path, write_wav):
    write_wav(tmp_path / "hum.wav")
    with pytest.raises(CapabilityError,
                       match=r"'hum.wav' is an audio file and task 'image_generation' takes image") as info:
        ingest.candidate_for("hum.wav", id="c", base_dir=tmp_path, registry=registry, task="image_generation",
                             who="rows.jsonl:4")
    assert "rows.jsonl:4" in str(info.value)
    # refused from the name alone, before any loader opens the file
    with pytest.raises(CapabilityError, match=r"'still.png' is an image file and task 'video_generation' takes video"):
        ingest.candidate_for({"path": "still.png"}, id="c", base_dir=tmp_path, registry=registry,
                             task="video_generation")
    with pytest.raises(CapabilityError, match=r"'clip.mp4' is a video file and task 'image_generation' takes image"):
        ingest.candidate_for({"path": "clip.mp4"}, id="c", base_dir=tmp_path, registry=registry,
                             task="image_generation")
    with pytest.raises(CapabilityError, match=rf"'still.png' is an image file and task '{TASK}' takes audio"):
        ingest.candidate_for("still.png", id="c", base_dir=tmp_path, registry=registry, task=TASK)


def test_the_path_policy_for_one_file(tmp_path):
    base = tmp_path / "data"
    base.mkdir()
    assert ingest.resolve_media("sounds/a.wav", base) == str((base / "sounds" / "a.wav").resolve())  # need not exist
    with pytest.raises(ConfigError, match="leaves the data file's folder") as info:
        ingest.resolve_media("../a.wav", base, who="m.jsonl:2")
    assert "m.jsonl:2" in str(info.value) and "allow_outside" in str(info.value)
    assert ingest.resolve_media("../a.wav", base, allow_outside=True) == str((tmp_path / "a.wav").resolve())


def test_an_embedded_recording_without_a_name_stays_audio(registry, tmp_path, write_wav):
    """Parquet rows may carry media as bytes with no file name: a WAV (a RIFF file, like WebP) is cached as
    .wav, so the audio plugin types it, not as a picture."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from unireward_sdk.evaluation import load_benchmark

    low, high = (write_wav(tmp_path / f"{n}.wav", f).read_bytes() for n, f in (("low", 110), ("high", 880)))
    data = tmp_path / "bench.parquet"
    pq.write_table(pa.Table.from_pylist([{"id": "e1", "task": TASK, "prompt": "a high tone",
                                          "a": {"bytes": low}, "b": {"bytes": high}, "label": "B"}]), data)
    bench = load_benchmark("pairwise-jsonl", data, cache_dir=tmp_path / "cache", registry=registry)
    a, b = bench.examples[0].item.candidates
    assert (a.modality, b.modality) == ("audio", "audio")
    assert a.path.endswith(".wav") and open(b.path, "rb").read() == high
