"""The ingestion rules every reader shares (unireward_sdk.ingest): the path policy, modalities from the modality
plugins only, media a task does not take refused by name, and rows located by file and line or row index."""

from __future__ import annotations

import json

import pytest

from pairs_helpers import write_png
from unireward_sdk import ingest
from unireward_sdk.errors import CapabilityError, ConfigError, UnknownComponentError
from unireward_sdk.pairs import ManifestSource


def _manifest(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_a_png_for_a_video_task_and_an_mp4_for_an_image_task_are_refused_by_name(tmp_path):
    write_png(tmp_path / "still.png", (1, 2, 3))
    (tmp_path / "clip.mp4").write_bytes(b"")  # refused before anything opens it
    png = _manifest(tmp_path / "v.jsonl", [{"prompt": "x", "candidates": ["still.png", "still.png"]}])
    with pytest.raises(CapabilityError, match="'still.png' is an image file and task 'video_generation' takes video"):
        ManifestSource.from_jsonl(png, "video_generation")
    mp4 = _manifest(tmp_path / "i.jsonl", [{"prompt": "x"}, {"prompt": "y", "candidates": ["clip.mp4"]}])
    with pytest.raises(CapabilityError, match="'clip.mp4' is a video file") as info:
        ManifestSource.from_jsonl(mp4, "image_generation")
    assert f"{mp4}:2" in str(info.value)
    context = _manifest(tmp_path / "q.jsonl", [{"question": "q?", "context": "clip.mp4", "responses": ["a", "b"]}])
    with pytest.raises(CapabilityError, match="clip.mp4"):
        ManifestSource.from_jsonl(context, "image_understanding")


def test_modality_comes_from_the_modality_plugins_only(tmp_path):
    (tmp_path / "a.gif").write_bytes(b"GIF89a")  # no modality declares .gif: not guessed to be an image
    with pytest.raises(UnknownComponentError, match="a.gif"):
        ManifestSource.from_jsonl(_manifest(tmp_path / "m.jsonl", [{"prompt": "x", "candidates": ["a.gif"]}]),
                                  "image_generation")
    assert ingest.modality_of("x/clip.MP4") == "video" and ingest.modality_of("a.webp") == "image"
    assert ingest.claims("a.png") and not ingest.claims("It is 3.5") and not ingest.claims("notes.txt")
    write_png(tmp_path / "a.png", (1, 2, 3))
    declared = _manifest(tmp_path / "d.jsonl", [{"prompt": "x", "candidates": [{"path": "a.png", "modality": "video"}]}])
    with pytest.raises(ConfigError, match="says modality 'video'"):
        ManifestSource.from_jsonl(declared, "image_generation")


def test_the_path_policy(tmp_path):
    inner = tmp_path / "base"
    inner.mkdir()
    write_png(tmp_path / "out.png", (1, 2, 3))
    strict = ingest.PathPolicy(inner, must_exist=True)
    with pytest.raises(ConfigError, match="leaves the data file's folder") as info:
        strict.resolve(str(tmp_path / "out.png"), where="f.jsonl:3")  # absolute paths are held to the base too
    assert "f.jsonl:3" in str(info.value) and "allow_outside" in str(info.value)
    assert ingest.PathPolicy(inner, allow_outside=True).resolve("../out.png", where="w") == str(tmp_path / "out.png")
    with pytest.raises(ConfigError, match="does not exist"):
        strict.resolve("missing.png", where="w")
    assert ingest.PathPolicy().resolve("rel/a.png", where="w") == "rel/a.png"  # no base: kept as written
    with pytest.raises(ConfigError, match="non-empty path"):
        strict.resolve("", where="w")


def test_rows_are_located_by_line_and_by_parquet_row(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    jsonl = tmp_path / "r.jsonl"
    jsonl.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert [(r.where, r.index, r.data) for r in ingest.read_rows(jsonl)] == [
        (f"{jsonl}:1", 0, {"a": 1}), (f"{jsonl}:3", 1, {"a": 2})]
    jsonl.write_text('{"a": 1}\n{"a": \n')
    with pytest.raises(ConfigError, match="not a JSON object") as info:
        list(ingest.read_rows(jsonl))
    assert f"{jsonl}:2" in str(info.value)
    parquet = tmp_path / "r.parquet"
    pq.write_table(pa.Table.from_pylist([{"a": 1}, {"a": 2}]), parquet)
    assert [r.where for r in ingest.read_rows(parquet)] == [f"{parquet}[row 0]", f"{parquet}[row 1]"]
    assert [r.where for r in ingest.read_rows([{"a": 1}], origin="mine")] == ["mine[0]"]
