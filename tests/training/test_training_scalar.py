"""Scalar-head training: the value head learns a toy ordering from pairs and points, saves in safetensors, and
the ``scalar`` head loads it; tie labels switch on Bradley-Terry with ties, or are dropped."""

from __future__ import annotations

import json
import random

from training_fixtures import RANK, colour_square, toy_records
from unireward_sdk.records import Candidate, JudgeItem
from unireward_sdk.training import JudgeTrainingConfig, load_records, train_scalar_judge


def test_value_head_learns_a_toy_ordering_and_the_scalar_head_loads_it(registry, tiny_base, tmp_path):
    data = tmp_path / "data"
    rng = random.Random(0)
    train = toy_records(data, 24, seed=0, pointwise=True)
    # pairs between the two losers too, so the whole order red > green > blue is taught
    for i in range(8):
        train.append({"task": "image_generation", "prompt": "a red square", "label": "A",
                      "candidates": [{"path": colour_square(data, "green", rng)}, {"path": colour_square(data, "blue", rng)}]})
    held_out = toy_records(data, 12, seed=1, pointwise=True)
    config = JudgeTrainingConfig(max_steps=60, batch_size=16, head_options={"head_lr": 0.05}, bootstrap=200)
    out = tmp_path / "scalar_judge"
    report = train_scalar_judge(load_records(train, base_dir=data), tiny_base, out, config,
                                eval_records=load_records(held_out, base_dir=data), registry=registry)
    score = report.final["image_generation"]
    assert score.accuracy >= 0.9, report.markdown()
    assert score.spearman > 0.7
    assert report.losses[-1][1] < report.losses[0][1]

    saved = json.loads((out / "value_head" / "value_head_config.json").read_text())
    assert saved["scale"] == [0.0, 1.0] and saved["models_ties"] is False
    assert (out / "value_head" / "value_head.safetensors").is_file()

    # the registry's scalar head, loaded from the saved folder, orders fresh squares like the toy preference
    backend = registry.backend("transformers", checkpoint=str(tiny_base), device="cpu", dtype="float32")
    head = registry.reward_head("scalar", backend=backend, task="image_generation", registry=registry,
                                value_head=str(out / "value_head"))
    items = [JudgeItem(id=c, task="image_generation", prompt="a red square",
                       candidates=[Candidate(id=c, modality="image", path=str(data / colour_square(data, c, rng)))])
             for c in RANK]
    values = {s.item_id: s.value for s in head.score_pointwise(items)}
    assert values["red"] > values["green"] > values["blue"], values


def test_tie_labels_are_modelled_or_dropped(registry, tiny_base, tmp_path):
    data = tmp_path / "data"
    rng = random.Random(1)
    rows = toy_records(data, 4, seed=3)
    rows += [{"task": "image_generation", "prompt": "a red square", "label": "tie",
              "candidates": [{"path": colour_square(data, "red", rng)}, {"path": colour_square(data, "red", rng)}]}
             for _ in range(3)]
    records = load_records(rows, base_dir=data)
    modelled = train_scalar_judge(records, tiny_base, tmp_path / "rk", JudgeTrainingConfig(max_steps=3, batch_size=4),
                                  registry=registry)
    assert json.loads((tmp_path / "rk" / "value_head" / "value_head_config.json").read_text())["models_ties"] is True
    assert modelled.examples == {"image_generation": 7}
    dropped = train_scalar_judge(records, tiny_base, tmp_path / "drop",
                                 JudgeTrainingConfig(max_steps=3, batch_size=4, head_options={"ties": "drop"}),
                                 registry=registry)
    assert dropped.examples == {"image_generation": 4}
    assert json.loads((tmp_path / "drop" / "value_head" / "value_head_config.json").read_text())["models_ties"] is False


def test_joint_fine_tuning_saves_the_judge_next_to_its_value_head(registry, tiny_base, tmp_path):
    from safetensors.torch import load_file

    data = tmp_path / "data"
    records = load_records(toy_records(data, 4, seed=4, pointwise=True), base_dir=data)
    config = JudgeTrainingConfig(max_steps=3, batch_size=4, head_options={"scalar_finetune": True}, learning_rate=1e-3,
                                 lora_r=4, lora_alpha=8)
    out = tmp_path / "joint"
    report = train_scalar_judge(records, tiny_base, out, config, eval_records=records[:2], registry=registry)
    assert len(report.losses) == 3 and report.final["image_generation"].n == 1
    head_config = json.loads((out / "value_head" / "value_head_config.json").read_text())
    assert head_config["base_checkpoint"] == str(out)  # the head reads the fine-tuned judge's features
    base, tuned = load_file(str(tiny_base / "model.safetensors")), load_file(str(out / "model.safetensors"))
    assert set(base) == set(tuned) and any(not (base[k] == tuned[k]).all() for k in base)


def test_the_core_finds_a_heads_trainer_through_its_spec_and_refuses_heads_without_one():
    """No core import of a plugin: the head's spec carries its trainer, third-party heads included."""
    import pytest

    from unireward_sdk.errors import ConfigError
    from unireward_sdk.specs import RewardHeadSpec

    calls = []

    class Registry:
        specs = {
            "generative": RewardHeadSpec(name="generative", factory=object),
            "custom": RewardHeadSpec(name="custom", factory=object,
                                     trainer=lambda *a, **k: calls.append((a, sorted(k))) or "report"),
        }

        def reward_head_spec(self, name):
            return self.specs[name]

    registry = Registry()
    assert train_scalar_judge(["r"], "base", "out", None, head="custom", registry=registry, run_name="x") == "report"
    assert calls == [((["r"], "base", "out", None), ["registry", "run_name"])]
    with pytest.raises(ConfigError, match="has nothing to train"):
        train_scalar_judge(["r"], "base", head="generative", registry=registry)
