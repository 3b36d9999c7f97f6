"""Fixtures for the evaluation tests: benchmark files written into tmp_path (see evaluation_fixtures)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from evaluation_fixtures import (
    GENAI_VOTES,
    VIDEOGEN_ROWS,
    genai_edit_rows,
    genai_image_rows,
    vlrb_rows,
    write_jsonl,
    write_mp4,
    write_parquet,
)


@pytest.fixture
def genai_image_jsonl(tmp_path) -> Path:
    root = tmp_path / "genai_image"
    return write_jsonl(root / "data.jsonl", genai_image_rows(root, embed=False))


@pytest.fixture
def genai_image_parquet(tmp_path) -> Path:
    root = tmp_path / "genai_image_pq"
    return write_parquet(root / "data" / "test-00000-of-00001.parquet", genai_image_rows(root, embed=True))


@pytest.fixture
def genai_edit_parquet(tmp_path) -> Path:
    """The hub's layout: image_edition/test_v1-00000-of-00001.parquet with the images embedded."""
    root = tmp_path / "genai_edit"
    return write_parquet(root / "image_edition" / "test_v1-00000-of-00001.parquet", genai_edit_rows(root, embed=True))


@pytest.fixture
def genai_video_jsonl(tmp_path) -> Path:
    root = tmp_path / "genai_video"
    rows = []
    for i, vote in enumerate(GENAI_VOTES[:4]):
        rows.append({"prompt": f"a ball rolling {i}", "vote_type": vote,
                     "left_video": str(write_mp4(root / "videos" / f"l{i}.mp4", 2 * i).relative_to(root)),
                     "right_video": str(write_mp4(root / "videos" / f"r{i}.mp4", 2 * i + 1).relative_to(root))})
    return write_jsonl(root / "genai_video.jsonl", rows)


@pytest.fixture
def videogen_csv(tmp_path) -> Path:
    root = tmp_path / "videogen"
    path = root / "videogen-rewardbench.csv"
    root.mkdir(parents=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=["path_A", "path_B", "A_model", "B_model", "prompt",
                                                "VQ", "MQ", "TA", "Overall"])
        writer.writeheader()
        for i, (overall, vq, mq, ta) in enumerate(VIDEOGEN_ROWS):
            a = write_mp4(root / "videos" / f"a{i}.mp4", 3 * i)
            b = write_mp4(root / "videos" / f"b{i}.mp4", 3 * i + 1)
            writer.writerow({"path_A": str(a.relative_to(root)), "path_B": str(b.relative_to(root)),
                             "A_model": "gen-a", "B_model": "gen-b", "prompt": f"a dog running {i}",
                             "VQ": vq, "MQ": mq, "TA": ta, "Overall": overall})
    return path


@pytest.fixture
def vlrb_parquet(tmp_path) -> Path:
    root = tmp_path / "vlrb_pq"
    return write_parquet(root / "test.parquet", vlrb_rows(root, embed=True))


@pytest.fixture
def vlrb_jsonl(tmp_path) -> Path:
    root = tmp_path / "vlrb"
    return write_jsonl(root / "data.jsonl", vlrb_rows(root, embed=False))
