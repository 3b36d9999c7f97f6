"""The train-judge config on the shared base: one vocabulary, head options checked against the head's trainer."""

from __future__ import annotations

import pytest

from unireward_sdk import ConfigError, UniRewardError
from unireward_sdk.training import JudgeTrainingConfig, TrainJudgeConfig

JOB = {"base_model": "org/judge", "output_dir": "out", "train": ["train.jsonl"]}


@pytest.mark.parametrize("old, new", [
    ("lr", "learning_rate"), ("steps", "max_steps"), ("grad_accum", "gradient_accumulation_steps"),
    ("epochs", "num_train_epochs"), ("lr_scheduler", "lr_scheduler_type"), ("lora_target", "lora_target_modules"),
])
def test_an_old_name_is_refused_naming_the_new(tmp_path, old, new):
    path = tmp_path / "job.toml"
    path.write_text(f'base_model = "org/judge"\noutput_dir = "out"\ntrain = ["t.jsonl"]\n[training]\n{old} = 1\n')
    with pytest.raises(ConfigError, match=f"'{old}' is now '{new}'") as info:
        TrainJudgeConfig.from_toml(path)
    assert str(path) in info.value.who
    with pytest.raises(ConfigError, match=f"'{old}' is now '{new}'"):
        JudgeTrainingConfig.from_mapping({old: 1})


def test_the_scalar_heads_settings_moved_to_head_options():
    with pytest.raises(ConfigError, match=r"unknown keys \['head_lr'\].*goes in \[training.head_options\]"):
        JudgeTrainingConfig.from_mapping({"head_lr": 0.05})
    job = TrainJudgeConfig.from_mapping({**JOB, "mode": "scalar", "training": {"head_options": {"ties": "drop"}}})
    assert job.training.head_options == {"ties": "drop"} and job.trained_head == "scalar"


@pytest.mark.parametrize("options, message", [
    ({"tie": "drop"}, "Did you mean 'ties'"),
    ({"ties": "dorp"}, "must be one of 'rao_kupper', 'drop'"),
    ({"head_lr": "fast"}, "must be float"),
])
def test_head_options_are_checked_against_the_trainers_schema(options, message):
    with pytest.raises(ConfigError, match=message) as info:
        TrainJudgeConfig.from_mapping({**JOB, "mode": "scalar", "training": {"head_options": options}}, who="job.toml")
    assert "head_options" in info.value.who


def test_modes_and_heads_come_from_the_registry():
    with pytest.raises(ConfigError, match="'fast' is not trainable"):
        TrainJudgeConfig.from_mapping({**JOB, "mode": "fast"})
    with pytest.raises(ConfigError, match="'generative' .*or a head with a trainer: .*scalar"):
        TrainJudgeConfig.from_mapping({**JOB, "mode": "ablation", "ablation": {"judge": "fast"}})
    with pytest.raises(UniRewardError, match="Did you mean 'fast'"):
        TrainJudgeConfig.from_mapping({**JOB, "training": {"eval_head": "fats"}})
    assert TrainJudgeConfig.from_mapping({**JOB, "mode": "ablation"}).trained_head == "generative"


def test_unknown_and_missing_keys(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'output_dir'"):
        TrainJudgeConfig.from_mapping({**JOB, "outputdir": "x"})
    with pytest.raises(ConfigError, match="missing required key.*'train'"):
        TrainJudgeConfig.from_mapping({k: v for k, v in JOB.items() if k != "train"})


def test_relative_paths_resolve_once_against_the_files_folder(tmp_path, monkeypatch):
    folder = tmp_path / "jobs"
    (folder / "base").mkdir(parents=True)
    (folder / "job.toml").write_text('base_model = "base"\noutput_dir = "../runs/out"\ntrain = "data/t.jsonl"\n')
    monkeypatch.chdir(tmp_path)
    job = TrainJudgeConfig.from_toml(folder / "job.toml")
    assert job.base_model == str(folder / "base") and job.output_dir == tmp_path / "runs" / "out"
    assert job.train == [str(folder / "data" / "t.jsonl")]
    assert job.evolve(mode="ablation").train == job.train  # a copy is not resolved again


def test_the_tasks_it_names_are_checked_as_pipelines_before_training():
    video = "video_generation.pairwise_rank.data_construction"
    with pytest.raises(ConfigError, match=f"template '{video}' is for task 'video_generation'") as info:
        TrainJudgeConfig.from_mapping({**JOB, "training": {"templates": {"image_generation": {"pairwise": video}}}},
                                      who="job.toml")
    assert "task 'image_generation'" in info.value.who
    job = TrainJudgeConfig.from_mapping({**JOB, "mode": "ablation", "ablation": {"tasks": ["image_generation",
                                                                                           "video_generation"]}})
    assert sorted(job.pipelines) == ["image_generation", "video_generation"]
    assert job.pipelines["video_generation"].head == "fast"
