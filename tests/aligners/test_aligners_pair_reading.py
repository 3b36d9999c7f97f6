"""Reading pair exports (Pick-a-Pic, VideoDPO, trl) and the shared aligner config and summary."""

from __future__ import annotations

import base64
import json

import pytest
from diffusion_toys import BLUE, RED, pickapic_rows, png_bytes, write_pickapic_parquet, write_videodpo_jsonl

from unireward_sdk import Candidate, ConfigError, MediaError, PreferencePair
from unireward_sdk.alignment import (
    AlignerConfig,
    StepMetrics,
    TrainSummary,
    load_image,
    pickapic_outcome,
    read_pairs,
)


def _color(image):
    return image.getpixel((8, 8))


def test_pickapic_parquet_as_the_pairs_export_writes_it(tmp_path):
    table = read_pairs(write_pickapic_parquet(tmp_path / "p.parquet", pickapic_rows(2, 1)))
    assert table.format == "pickapic" and len(table) == 3
    assert _color(load_image(table.rows[0]["jpg_0"], table)) == RED
    assert _color(load_image(table.rows[1]["jpg_0"], table)) == BLUE


def test_datasets_objects_and_folders(tmp_path):
    import datasets

    ds = datasets.Dataset.from_list(pickapic_rows(2, 0))
    assert read_pairs(ds).format == "pickapic"
    ds.save_to_disk(str(tmp_path / "saved"))
    assert len(read_pairs(tmp_path / "saved")) == 2


def test_jsonl_with_relative_paths_and_base64(tmp_path):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "r.png").write_bytes(png_bytes(RED))
    rows = [{"caption": "c", "jpg_0": "img/r.png", "jpg_1": base64.b64encode(png_bytes(BLUE)).decode(),
             "label_0": 1}]
    (tmp_path / "p.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    table = read_pairs(tmp_path / "p.jsonl")
    assert _color(load_image(table.rows[0]["jpg_0"], table)) == RED
    assert _color(load_image(table.rows[0]["jpg_1"], table)) == BLUE


def test_json_lines_written_by_datasets_to_json(tmp_path):
    import datasets

    datasets.Dataset.from_list([{"caption": "c", "chosen": "a.mp4", "rejected": "b.mp4"}]).to_json(
        str(tmp_path / "v.json"), lines=True)
    assert read_pairs(tmp_path / "v.json").format == "videodpo"


def test_videodpo_rows_resolve_against_the_file_folder(tmp_path):
    table = read_pairs(write_videodpo_jsonl(tmp_path / "v", pairs=1))
    assert table.format == "videodpo"
    assert table.resolve(table.rows[0]["chosen"]) == tmp_path / "v" / "red.mp4"


def test_trl_rows_are_recognised():
    assert read_pairs([{"prompt": [], "chosen": [], "rejected": [], "images": []}]).format == "trl"


def test_preference_pair_records_become_export_rows(tmp_path):
    (tmp_path / "a.png").write_bytes(png_bytes(RED))
    (tmp_path / "b.png").write_bytes(png_bytes(BLUE))
    pair = PreferencePair(prompt_id="p", task="image_generation", prompt="a square",
                          chosen=Candidate(id="a", modality="image", path=str(tmp_path / "a.png")),
                          rejected=Candidate(id="b", modality="image", path=str(tmp_path / "b.png")))
    table = read_pairs([pair])
    assert table.format == "pickapic" and table.rows[0]["label_0"] == 1.0
    assert _color(load_image(table.rows[0]["jpg_0"], table)) == RED


def test_format_mismatch_and_unknown_columns_are_errors(tmp_path):
    rows = pickapic_rows(1, 0)
    with pytest.raises(ConfigError, match="videodpo"):
        read_pairs(rows, "videodpo")
    with pytest.raises(ConfigError, match="cannot tell the pair format"):
        read_pairs([{"text": "x"}])
    with pytest.raises(ConfigError, match="not found"):
        read_pairs(tmp_path / "missing.jsonl")
    with pytest.raises(ConfigError, match="trains on videodpo"):
        read_pairs(rows).require("videodpo", who="video_diffusion_dpo")


def test_unreadable_image_names_the_row():
    with pytest.raises(MediaError, match="row 3"):
        load_image(b"not an image", who="pairs.parquet row 3")
    with pytest.raises(MediaError, match="not found"):
        load_image("no/such/file.png")


@pytest.mark.parametrize(("label", "outcome"), [(1.0, "first"), (1, "first"), (0.0, "second"), (0.5, "tie"),
                                                (0.8, "first"), (0.2, "second")])
def test_pickapic_labels(label, outcome):
    assert pickapic_outcome(label, who="row") == outcome


@pytest.mark.parametrize("label", [None, "yes", 1.5, -0.1, float("nan")])
def test_missing_or_bad_labels_are_never_guessed(label):
    with pytest.raises(ConfigError, match="label_0"):
        pickapic_outcome(label, who="row 7")


def test_config_from_mapping_refuses_unknown_keys_with_a_hint():
    with pytest.raises(ConfigError, match="did you mean|Did you mean"):
        AlignerConfig.from_mapping({"model": "m", "learning_rat": 1e-4})
    cfg = AlignerConfig.from_mapping({"model": "m", "lora_target_modules": ["to_q"]}, max_steps=3)
    assert cfg.max_steps == 3 and cfg.lora_target_modules == ("to_q",)
    assert AlignerConfig.coerce(cfg, seed=4).seed == 4 and cfg.seed == 0


@pytest.mark.parametrize("old, new", [("lora_rank", "lora_r"), ("num_epochs", "num_train_epochs"),
                                      ("lr", "learning_rate"), ("grad_accum", "gradient_accumulation_steps")])
def test_config_refuses_a_former_name_naming_the_new_one(old, new):
    with pytest.raises(ConfigError, match=f"'{old}' is now '{new}'"):
        AlignerConfig.from_mapping({"model": "m", old: 2})


def test_align_job_resolves_paths_once_against_the_files_folder(tmp_path, monkeypatch):
    from unireward_sdk.alignment.config import AlignJobConfig

    (tmp_path / "jobs" / "policy").mkdir(parents=True)
    (tmp_path / "jobs" / "align.toml").write_text(
        '[align]\naligner = "diffusion_dpo"\ndata = "pairs.jsonl"\nmodel = "policy"\noutput_dir = "out"\n'
        'beta = 500\n')
    monkeypatch.chdir(tmp_path)
    job = AlignJobConfig.from_toml(tmp_path / "jobs" / "align.toml")
    assert job.data == str(tmp_path / "jobs" / "pairs.jsonl")
    assert job.aligner_config() == {"beta": 500, "model": str(tmp_path / "jobs" / "policy"),
                                    "output_dir": str(tmp_path / "jobs" / "out")}
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        (tmp_path / "bad.toml").write_text('[align]\naligner = diffusion_dpo\n')
        AlignJobConfig.from_toml(tmp_path / "bad.toml")
    assert info.value.who == f"{tmp_path / 'bad.toml'}:2"


@pytest.mark.parametrize("bad", [{"mixed_precision": "fp8"}, {"batch_size": 0}, {"max_steps": 0},
                                 {"learning_rate": 0}])
def test_config_validates_values(bad):
    with pytest.raises(ConfigError):
        AlignerConfig(model="m", **bad)


def test_summary_averages_first_and_last_steps():
    history = [StepMetrics(step=i + 1, loss=1.0 - 0.1 * i, margin=float(i), accuracy=0.5, learning_rate=1e-3)
               for i in range(8)]
    summary = TrainSummary.from_history("x", history, pairs=4, dropped={"tie": 1})
    # window = max(1, min(10, 8 // 4)) = 2 steps
    assert summary.first_loss == pytest.approx(0.95) and summary.final_loss == pytest.approx(0.35)
    assert summary.final_margin == pytest.approx(6.5)
    assert summary.to_dict()["dropped"] == {"tie": 1}
    assert summary.saved_to("out").output_dir == "out"
