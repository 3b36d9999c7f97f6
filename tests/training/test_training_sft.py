"""Generative SFT: answer-only loss masking, a tiny judge that learns a toy preference, LoRA merging, reloading
the saved judge through `unireward score`."""

from __future__ import annotations

import json

import pytest

from training_fixtures import SHORT_TEMPLATE_ID, colour_square, toy_records
from unireward_sdk.media import MediaCache
from unireward_sdk.training import JudgeTrainingConfig, build_examples, chat_messages, load_records
from unireward_sdk.training.sft import ExampleEncoder, train_generative_judge


def test_loss_masks_everything_but_the_answer_tokens(registry, tiny_base, toy_data):
    backend = registry.backend("transformers", checkpoint=str(tiny_base), device="cpu", dtype="float32")
    records = load_records(toy_data / "train.jsonl")[:4]  # pair, point, pair, point (default templates)
    examples = build_examples(records, registry=registry, family=backend.family, seed=1)
    encoder = ExampleEncoder(backend, registry, MediaCache(registry=registry))
    assert encoder.turn_end == "<|im_end|>"
    batch, labels = encoder.encode(examples)
    tokenizer = backend.processor.tokenizer
    assert batch["attention_mask"].sum(1).min() < batch["attention_mask"].shape[1]  # rows differ: padding present
    for row, ex in enumerate(examples):
        supervised = (labels[row] != -100).nonzero().flatten().tolist()
        n = len(supervised)
        width = labels.shape[1]
        assert supervised == list(range(width - n, width))  # one block at the end of the (left-padded) row
        assert tokenizer.decode(labels[row, -n:]) == ex.target + "<|im_end|>"
        assert batch["attention_mask"][row, width - n:].all()  # never a pad token
        assert (labels[row, :width - n] == -100).all()  # prompt and padding are masked
        # the supervised text is exactly the assistant turn of the full chat rendering
        request = encoder.request(ex)
        full = backend.processor.apply_chat_template(chat_messages(request, ex.target), tokenize=False)
        assert full.startswith(encoder.prompt(ex) + ex.target + "<|im_end|>")


def _score_cli(registry, monkeypatch, capsys, model, *media: str) -> dict:
    """Run `unireward score` in-process against ``registry`` and return the one JSON line it prints."""
    import unireward_sdk.registry as registry_module
    from unireward_sdk.cli import main

    monkeypatch.setattr(registry_module, "_default", registry)
    code = main(["score", "--model", str(model), "--task", "image_generation", "--mode", "pairwise",
                 "--template", SHORT_TEMPLATE_ID, "--prompt", "a red square", "--media", *media,
                 "--device", "cpu", "--head", "generative"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 0 and len(out) == 1
    return json.loads(out[0])


def test_tiny_judge_learns_a_toy_preference_and_reloads_in_unireward_score(
        short_registry, tiny_base, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    train = toy_records(data, 48, seed=0, template=SHORT_TEMPLATE_ID)
    held_out = toy_records(data, 24, seed=1, template=SHORT_TEMPLATE_ID)
    config = JudgeTrainingConfig(max_steps=40, batch_size=8, learning_rate=5e-3, lora=False, freeze_vision=False,
                                 templates={"image_generation": {"pairwise": SHORT_TEMPLATE_ID}}, bootstrap=200)
    out = tmp_path / "judge"
    report = train_generative_judge(load_records(train, base_dir=data), tiny_base, out, config,
                                    eval_records=load_records(held_out, base_dir=data), registry=short_registry)
    assert report.balance == {"image_generation": {"A": 24, "B": 24, "tie": 0}}
    score = report.final["image_generation"]
    assert score.n == 24 and score.failures == 0
    assert score.accuracy >= 0.75, report.markdown()  # chance is 0.5 (ties aside)
    assert report.losses[-1][1] < report.losses[0][1] / 5

    # saved like a released checkpoint: safetensors weights, processor, chat template
    names = {p.name for p in out.iterdir()}
    assert "model.safetensors" in names and not any(n.endswith((".bin", ".pt")) for n in names)
    assert any("chat_template" in n for n in names) or "chat_template" in (out / "tokenizer_config.json").read_text()
    assert json.loads((out / "training_report.json").read_text())["final"]["image_generation"]["n"] == 24

    # the saved judge, reloaded by `unireward score`, prefers the red square in either position
    import random

    rng = random.Random(7)
    red, blue = (str(data / colour_square(data, c, rng)) for c in ("red", "blue"))
    first = _score_cli(short_registry, monkeypatch, capsys, out, red, blue)
    second = _score_cli(short_registry, monkeypatch, capsys, out, blue, red)
    assert (first["status"], first["winner"]) == ("ok", "A"), first
    assert (second["status"], second["winner"]) == ("ok", "B"), second


def test_lora_adapters_are_merged_into_saved_weights_and_long_examples_are_left_out(
        short_registry, tiny_base, tmp_path):
    from safetensors.torch import load_file

    data = tmp_path / "data"
    short = toy_records(data, 6, seed=0, template=SHORT_TEMPLATE_ID)
    long = toy_records(data, 6, seed=2)  # default qwen_v1 template: ~400 tokens
    config = JudgeTrainingConfig(max_steps=3, batch_size=2, gradient_accumulation_steps=2, learning_rate=1e-2,
                                 lora=True, lora_r=4, lora_alpha=8, max_length=150)
    out = tmp_path / "judge"
    report = train_generative_judge(load_records(short + long, base_dir=data), tiny_base, out, config,
                                    registry=short_registry)
    assert report.steps == 3 and [s for s, _ in report.losses] == [1, 2, 3]
    assert report.skipped_too_long > 0  # counted, never truncated
    assert 0 < report.trainable_parameters < 100_000
    base = load_file(str(tiny_base / "model.safetensors"))
    saved = load_file(str(out / "model.safetensors"))
    assert set(saved) == set(base)  # plain transformers weights, no adapter tensors
    changed = [k for k in base if not (saved[k] == base[k]).all()]
    # only the language model's adapted projections moved (LoRA never touches the vision tower)
    assert changed and all("visual" not in k and k.endswith("proj.weight") for k in changed), changed[:5]


def test_periodic_evaluation_and_unknown_task_errors(registry, tiny_base, toy_data, tmp_path):
    from unireward_sdk.errors import UniRewardError

    config = JudgeTrainingConfig(max_steps=2, batch_size=2, eval_every=1, eval_limit=1, bootstrap=0)
    report = train_generative_judge(toy_data / "train.jsonl", tiny_base, None, config,
                                    eval_records=toy_data / "eval.jsonl", registry=registry)
    assert [step for step, _ in report.evaluations] == [1, 2]
    final = report.final["image_generation"]
    assert final.n == 1 and final.n_points == 1 and final.ci is None
    assert report.output_dir is None
    bad = [{"task": "audio_generation", "candidates": [{"text": "a"}, {"text": "b"}], "label": "A"}]
    with pytest.raises(UniRewardError, match="audio_generation"):
        train_generative_judge(bad, tiny_base, None, config, registry=registry)


@pytest.mark.parametrize("lora", [True, False])
def test_generative_training_resumes_from_a_checkpoint(short_registry, tiny_base, tmp_path, lora):
    """A LoRA or full fine-tuning run stopped at its checkpoint continues to the same losses as one that ran
    through (the checkpoint holds the trained weights, optimizer, scheduler, random state and draw)."""
    data = tmp_path / "data"
    records = load_records(toy_records(data, 16, seed=0, template=SHORT_TEMPLATE_ID), base_dir=data)
    settings = dict(max_steps=4, batch_size=4, learning_rate=5e-3, lora=lora, freeze_vision=False,
                    lr_scheduler_type="linear", templates={"image_generation": {"pairwise": SHORT_TEMPLATE_ID}})
    full = train_generative_judge(records, tiny_base, tmp_path / "out", JudgeTrainingConfig(**settings, save_every=2),
                                  registry=short_registry)
    resumed = train_generative_judge(records, tiny_base, tmp_path / "out",
                                     JudgeTrainingConfig(**settings, resume_from_checkpoint="latest"),
                                     registry=short_registry)
    # "latest" is checkpoint-4, the end: nothing left to train, the losses are the checkpoint's
    assert [v for _, v in resumed.losses] == pytest.approx([v for _, v in full.losses])
    again = train_generative_judge(records, tiny_base, tmp_path / "out",
                                   JudgeTrainingConfig(**settings,
                                                       resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-2")),
                                   registry=short_registry)
    assert [v for _, v in again.losses] == pytest.approx([v for _, v in full.losses], rel=1e-4)
