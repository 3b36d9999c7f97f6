"""Benchmark loaders on fixture files in each published format (JSONL, Parquet with embedded bytes, CSV)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from evaluation_fixtures import GENAI_VOTES, VIDEOGEN_ROWS, VLRB_ROWS, png_bytes, write_jsonl, write_parquet

from unireward_sdk.errors import ConfigError, MediaError, UnknownComponentError
from unireward_sdk.evaluation import LabelError, load_benchmark, read_rows
from unireward_sdk.evaluation.sources import MediaResolver


def test_genai_image_jsonl_with_relative_media(genai_image_jsonl):
    bench = load_benchmark("genai-bench-image", genai_image_jsonl)
    assert [ex.label for ex in bench.examples] == ["A", "B", "tie", "tie", "A", "B"]
    assert [ex.raw_label for ex in bench.examples] == list(GENAI_VOTES)
    ex = bench.examples[0]
    assert ex.item.task == "image_generation" and ex.item.prompt == "a red cube number 0"
    assert [c.modality for c in ex.item.candidates] == ["image", "image"]
    assert Path(ex.item.candidates[0].path).name == "left_0.png"
    assert Path(ex.item.candidates[1].path).name == "right_0.png"
    assert all(Path(c.path).is_file() for e in bench.examples for c in e.item.candidates)
    assert bench.skipped == {} and ex.category is None
    assert ex.item.meta["left_model"] == "m1"


def test_genai_image_parquet_embedded_bytes_are_written_once_to_the_cache(genai_image_parquet, tmp_path):
    cache = tmp_path / "cache"
    folder = genai_image_parquet.parent.parent  # the hub layout: <root>/data/test-*.parquet
    bench = load_benchmark("genai-bench-image", folder, cache_dir=cache)
    assert len(bench.examples) == 6 and bench.media_written == 12
    first = bench.examples[0].item.candidates
    assert Path(first[0].path).read_bytes() == png_bytes(0)
    assert Path(first[1].path).read_bytes() == png_bytes(1)
    assert Path(first[1].path).suffix == ".png"  # no path hint: the suffix comes from the PNG signature
    again = load_benchmark("genai-bench-image", folder, cache_dir=cache)
    assert again.media_written == 0  # content-addressed: nothing rewritten
    assert [e.item.candidates[0].path for e in again.examples] == [e.item.candidates[0].path for e in bench.examples]


def test_embedded_bytes_need_a_cache_folder(genai_image_parquet):
    with pytest.raises(MediaError, match="cache"):
        load_benchmark("genai-bench-image", genai_image_parquet)


def test_bothbad_policy_exclude_drops_and_counts(genai_image_jsonl):
    bench = load_benchmark("genai-bench-image", genai_image_jsonl, bothbad="exclude")
    assert [ex.raw_label for ex in bench.examples] == ["leftvote", "rightvote", "tievote", "leftvote", "rightvote"]
    assert bench.skipped == {"bothbad_vote": 1}
    limited = load_benchmark("genai-bench-image", genai_image_jsonl, bothbad="exclude", limit=4)
    assert [ex.raw_label for ex in limited.examples] == ["leftvote", "rightvote", "tievote", "leftvote"]
    assert limited.skipped == {"bothbad_vote": 1}


def test_genai_video_jsonl(genai_video_jsonl):
    bench = load_benchmark("genai-bench-video", genai_video_jsonl)
    assert [ex.label for ex in bench.examples] == ["A", "B", "tie", "tie"]
    item = bench.examples[0].item
    assert item.task == "video_generation"
    assert [c.modality for c in item.candidates] == ["video", "video"]
    assert item.candidates[0].path.endswith("l0.mp4")


def test_videogen_csv_overall_and_dimension_labels(videogen_csv):
    bench = load_benchmark("videogen-rewardbench", videogen_csv)
    mapped = {"A": "A", "B": "B", "same": "tie"}
    assert [ex.label for ex in bench.examples] == [mapped[r[0]] for r in VIDEOGEN_ROWS]
    assert [ex.raw_label for ex in bench.examples] == [r[0] for r in VIDEOGEN_ROWS]
    assert bench.examples[0].dimension_labels == {"VQ": "A", "MQ": "B", "TA": "tie"}
    item = bench.examples[0].item
    assert item.prompt == "a dog running 0" and item.candidates[0].path.endswith("a0.mp4")
    assert item.meta["A_model"] == "gen-a"


def test_vlrb_parquet_labels_categories_and_image(vlrb_parquet, tmp_path):
    bench = load_benchmark("vl-rewardbench", vlrb_parquet, cache_dir=tmp_path / "cache")
    assert [ex.label for ex in bench.examples] == ["A" if r[1] == [0, 1] else "B" for r in VLRB_ROWS]
    assert [ex.category for ex in bench.examples] == [r[2] for r in VLRB_ROWS]
    ex = bench.examples[1]
    assert ex.item.task == "image_understanding" and ex.item.question == "What is in image 1?"
    assert [c.text for c in ex.item.candidates] == ["answer zero for 1", "answer one for 1"]
    assert Path(ex.item.context[0]).read_bytes() == png_bytes(41)
    assert ex.raw_label == "[1, 0]"


def test_vlrb_github_jsonl_uses_image_path_and_scheme_option(vlrb_jsonl):
    bench = load_benchmark("vl-rewardbench", vlrb_jsonl)
    assert [ex.category for ex in bench.examples] == [r[2] for r in VLRB_ROWS]
    assert Path(bench.examples[0].item.context[0]).is_file()
    ur = load_benchmark("vl-rewardbench", vlrb_jsonl, category_scheme="unifiedreward_script")
    assert ur.examples[1].category == "general"  # the POVID item, as the UnifiedReward script files it


def test_pairwise_jsonl_user_format(tmp_path):
    from evaluation_fixtures import write_png

    img = write_png(tmp_path / "u" / "x.png", 3)
    rows = [
        {"id": "p1", "task": "image_understanding", "question": "q?", "context": [str(img)],
         "a": "text a", "b": {"text": "text b"}, "label": "B", "category": "easy"},
        {"id": "p2", "task": "image_generation", "prompt": "cat", "a": {"path": "x.png"},
         "b": {"path": "x.png"}, "label": "tie"},
        {"id": "p3", "task": "image_understanding", "question": "q?", "context": "x.png",
         "chosen": "good", "rejected": "bad"},
    ]
    bench = load_benchmark("pairwise-jsonl", write_jsonl(tmp_path / "u" / "pairs.jsonl", rows))
    assert [ex.label for ex in bench.examples] == ["B", "tie", "A"]
    assert bench.examples[1].item.candidates[0].modality == "image"
    assert bench.examples[0].category == "easy" and bench.examples[1].category is None
    assert bench.examples[2].item.candidates[0].text == "good"
    with pytest.raises(ConfigError, match="task"):
        load_benchmark("pairwise-jsonl", write_jsonl(tmp_path / "bad.jsonl", [{"a": "x", "b": "y", "label": "A"}]))


def test_errors_name_the_problem(tmp_path, genai_image_jsonl):
    with pytest.raises(ConfigError, match="vote_type"):
        load_benchmark("genai-bench-image", write_jsonl(tmp_path / "x.jsonl", [{"prompt": "p"}]))
    rows = read_rows(genai_image_jsonl)
    rows[0]["vote_type"] = "leftvote!"
    with pytest.raises(LabelError, match="leftvote!"):
        load_benchmark("genai-bench-image", write_jsonl(genai_image_jsonl.parent / "bad.jsonl", rows))
    rows[0]["vote_type"] = "leftvote"
    rows[0]["left_image"] = "images/missing.png"
    with pytest.raises(MediaError, match="missing.png"):
        load_benchmark("genai-bench-image", write_jsonl(genai_image_jsonl.parent / "bad2.jsonl", rows))
    with pytest.raises(UnknownComponentError, match="genai-bench-image"):
        load_benchmark("genai-bench-imag", genai_image_jsonl)
    with pytest.raises(ConfigError, match="no such file"):
        load_benchmark("genai-bench-image", tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="hub id"):
        load_benchmark("pairwise-jsonl", "hf")


def test_limit_keeps_the_first_examples(genai_image_jsonl):
    assert [ex.raw_label for ex in load_benchmark("genai-bench-image", genai_image_jsonl, limit=2).examples] == [
        "leftvote", "rightvote"]


def test_media_root_option(tmp_path, genai_image_jsonl):
    moved = write_jsonl(tmp_path / "elsewhere" / "data.jsonl", read_rows(genai_image_jsonl))
    with pytest.raises(MediaError, match="--media-root"):
        load_benchmark("genai-bench-image", moved)
    bench = load_benchmark("genai-bench-image", moved, media_root=genai_image_jsonl.parent)
    assert len(bench.examples) == 6


def test_resolver_handles_pil_images_and_raw_bytes(tmp_path):
    from PIL import Image

    resolver = MediaResolver(tmp_path, tmp_path / "cache")
    path = resolver(Image.new("RGB", (8, 8), (1, 2, 3)), field="image", row=0)
    assert Image.open(path).getpixel((0, 0)) == (1, 2, 3)
    assert resolver(png_bytes(5), field="image", row=1).endswith(".png")
    with pytest.raises(MediaError, match="row 2"):
        resolver(None, field="image", row=2)


def test_parquet_rows_round_trip(tmp_path):
    path = write_parquet(tmp_path / "t.parquet", [{"a": 1, "b": [0, 1]}, {"a": 2, "b": [1, 0]}])
    assert read_rows(path) == [{"a": 1, "b": [0, 1]}, {"a": 2, "b": [1, 0]}]


def test_hub_path_through_a_stand_in_datasets_module(monkeypatch, tmp_path):
    """The `datasets` code path, with a stand-in module: split choice, undecoded image columns, ids."""
    from evaluation_fixtures import genai_image_rows, stand_in_datasets

    calls = {}
    # GenAI-Bench's own scorer reads test_v1 (the v1 leaderboard), which the loader picks by default
    splits = {"train": [], "test": [], "test_v1": genai_image_rows(tmp_path, embed=True)}
    monkeypatch.setitem(sys.modules, "datasets", stand_in_datasets(splits, ("left_image", "right_image"), calls))
    bench = load_benchmark("genai-bench-image", "hf", cache_dir=tmp_path / "cache")
    assert calls["load"] == ("TIGER-Lab/GenAI-Bench", "image_generation")
    assert calls["cast"] == [("left_image", False), ("right_image", False)]
    assert len(bench.examples) == 6 and bench.source == "hf:TIGER-Lab/GenAI-Bench (image_generation)"
    assert Path(bench.examples[0].item.candidates[0].path).read_bytes() == png_bytes(0)


def test_hub_failures_and_videogen_media_root_are_explained(monkeypatch):
    import types

    def offline(*args, **kwargs):
        raise ConnectionError("Couldn't reach the Hub (OfflineModeIsEnabled)")

    monkeypatch.setitem(sys.modules, "datasets", types.SimpleNamespace(load_dataset=offline))
    with pytest.raises(ConfigError, match="OfflineModeIsEnabled.*local folder to --data"):
        load_benchmark("vl-rewardbench", "hf:MMInstruction/VL-RewardBench")
    with pytest.raises(ConfigError, match="--media-root"):
        load_benchmark("videogen-rewardbench", "hf")
