"""Exports read back by their consumers: datasets round trips, the diffusers-style byte decoding, the aligners'
reader, and one real trl DPOTrainer step on the trl export with a tiny Qwen2-VL policy."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pairs_helpers import fake_job_keys, generation_manifest, understanding_manifest

from unireward_sdk import ConfigError
from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig
from unireward_sdk.pairs.export import export, load, to_pickapic, to_trl


@pytest.fixture(scope="module")
def understanding_pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("und")
    manifest = understanding_manifest(root / "data", prompts=6)
    cfg = PairJobConfig(**fake_job_keys(manifest, root / "out", head_options={}))
    PairJob(cfg).run()
    return root / "out"


@pytest.fixture(scope="module")
def generation_pairs(tmp_path_factory):
    root = tmp_path_factory.mktemp("gen")
    manifest = generation_manifest(root / "data", prompts=4, n=4)
    cfg = PairJobConfig(**fake_job_keys(manifest, root / "out", task="image_generation", head_options={}))
    PairJob(cfg).run()
    return root / "out"


@pytest.mark.parametrize("suffix", ["", ".parquet"])
def test_trl_export_round_trips_through_datasets(understanding_pairs, tmp_path, suffix):
    out = export(understanding_pairs, "trl", tmp_path / f"trl{suffix}")
    ds = load(out)
    pairs = PairDataset(understanding_pairs).pairs()
    assert ds.num_rows == len(pairs)
    row = ds[0]
    assert row["prompt"] == [{"role": "user", "content": pairs[0].question}]
    assert row["chosen"] == [{"role": "assistant", "content": pairs[0].chosen.text}]
    assert row["rejected"][0]["content"] == pairs[0].rejected.text
    assert row["images"][0].size == (32, 32)
    with pytest.raises(ConfigError, match="JSON lines"):  # images are bytes: a folder or parquet holds them
        export(understanding_pairs, "trl", tmp_path / "trl.jsonl")


def test_pickapic_export_reads_like_the_diffusers_example(generation_pairs, tmp_path):
    from PIL import Image

    ds = load(export(generation_pairs, "pickapic", tmp_path / "pickapic"))
    pairs = PairDataset(generation_pairs).pairs()
    assert set(ds.column_names) >= {"caption", "jpg_0", "jpg_1", "label_0"}
    for row, pair in zip(ds, pairs):
        # diffusers' train_diffusion_dpo.py: Image.open(io.BytesIO(bytes)), swap when label_0 == 0
        first = Image.open(io.BytesIO(row["jpg_0"])).convert("RGB")
        chosen = Image.open(pair.chosen.path).convert("RGB")
        assert row["label_0"] == 1.0 and list(first.getdata()) == list(chosen.getdata())
        assert row["caption"] == pair.prompt and row["score_0"] > row["score_1"]
    shuffled = to_pickapic(generation_pairs, shuffle_seed=1)
    for row, pair in zip(shuffled, pairs):
        winner = row["jpg_0"] if row["label_0"] == 1.0 else row["jpg_1"]
        assert winner == Path(pair.chosen.path).read_bytes()
    with pytest.raises(ConfigError, match="JSON lines"):
        export(generation_pairs, "pickapic", tmp_path / "p.jsonl")


def test_formats_refuse_the_wrong_task(understanding_pairs, generation_pairs, tmp_path):
    with pytest.raises(ConfigError, match="pickapic"):
        to_trl(generation_pairs)
    with pytest.raises(ConfigError, match="image candidates"):
        to_pickapic(understanding_pairs)
    with pytest.raises(ConfigError, match="video candidates"):
        export(generation_pairs, "videodpo", tmp_path / "v")


def test_exports_are_read_by_the_aligners_reader(understanding_pairs, generation_pairs, tmp_path):
    reader = pytest.importorskip("unireward_sdk.alignment.pairs")
    trl_table = reader.read_pairs(export(understanding_pairs, "trl", tmp_path / "trl.parquet"))
    assert trl_table.format == "trl" and len(trl_table) == len(PairDataset(understanding_pairs).pairs())
    pick = reader.read_pairs(export(generation_pairs, "pickapic", tmp_path / "pick.parquet"))
    assert pick.format == "pickapic"


def test_one_trl_dpo_step_on_the_trl_export(understanding_pairs, tmp_path):
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor
    from trl import DPOConfig, DPOTrainer

    from unireward_sdk.testing.tiny import build_tiny_judge

    train = load(export(understanding_pairs, "trl", tmp_path / "trl"))
    policy_path = build_tiny_judge(tmp_path / "policy")  # a real Qwen2-VL, used here as the policy
    processor = AutoProcessor.from_pretrained(policy_path)
    model = AutoModelForImageTextToText.from_pretrained(policy_path, dtype=torch.float32)
    ref = AutoModelForImageTextToText.from_pretrained(policy_path, dtype=torch.float32)
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    args = DPOConfig(output_dir=str(tmp_path / "dpo"), max_steps=1, per_device_train_batch_size=2,
                     learning_rate=1e-3, bf16=False, truncation_mode="keep_start", precompute_ref_log_probs=False,
                     gradient_checkpointing=False, report_to=[], logging_steps=1, save_strategy="no",
                     use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False)
    trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=train, processing_class=processor)
    result = trainer.train()
    assert result.global_step == 1 and torch.isfinite(torch.tensor(result.training_loss))
    changed = sum(not torch.equal(before[n], p.detach()) for n, p in model.named_parameters())
    assert changed > 0


def test_trl_rows_for_video_questions_carry_video_paths(tmp_path):
    import json

    from pairs_helpers import write_mp4

    write_mp4(tmp_path / "data" / "clip.mp4", (10, 200, 30))
    (tmp_path / "data" / "m.jsonl").write_text(json.dumps(
        {"id": "v", "question": "Where does the square go?", "context": ["clip.mp4"],
         "responses": ["left", "right", "up", "down"]}) + "\n")
    cfg = PairJobConfig(**fake_job_keys(tmp_path / "data" / "m.jsonl", tmp_path / "out",
                                        task="video_understanding", head_options={}))
    PairJob(cfg).run()
    ds = load(export(tmp_path / "out", "trl", tmp_path / "trl.jsonl"))  # no bytes: JSON lines are fine
    assert "images" not in ds.column_names
    assert ds[0]["videos"][0].endswith(".mp4") and Path(ds[0]["videos"][0]).is_file()
