"""vlm_dpo training step vs a bare trl ``DPOTrainer`` step on the same tiny Qwen2-VL and the same image
pairs, as a ratio measured in one run (ours / bare; below 1.0 means ours is faster). Never a timed assertion.

A "step" is what a user waits for between two optimizer updates: fetching and collating the batch,
the policy and reference forwards, the backward pass, the optimizer update and trl's metric logging.
Both trainers run ``train()`` for ``STEPS`` steps per round, rounds alternate which one goes first, and
a callback stamps the end of every step; the first interval of each round (warm-up) is left out.
The bare side is trl as documented for vision DPO: PIL images in a ``datasets.Dataset``, trl's own
collator, an explicit reference model (full) or a ``peft_config`` (LoRA). Target: <= 1.05.

Run: .venv/bin/pytest benchmarks/test_bench_aligners_vlm.py -s (add --benchmark-disable for one smoke run).
"""

from __future__ import annotations

import statistics
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

TARGET = 1.05
PAIRS = 8
BATCH = 4
STEPS = 8
ROUNDS = 4


def _rows(pairs: int):
    from PIL import Image

    rows = []
    for i in range(pairs):
        image = Image.new("RGB", (64, 64), ((40 * i) % 256, 90, (200 - 20 * i) % 256))
        rows.append({"images": [image], "prompt": [{"role": "user", "content": "What color is it?"}],
                     "chosen": [{"role": "assistant", "content": "red"}],
                     "rejected": [{"role": "assistant", "content": "blue"}]})
    return rows


def _stamper():
    from transformers import TrainerCallback

    class StepStamps(TrainerCallback):
        def __init__(self):
            self.stamps: list[float] = []

        def on_train_begin(self, args, state, control, **kwargs):
            self.stamps = [time.perf_counter()]

        def on_step_end(self, args, state, control, **kwargs):
            self.stamps.append(time.perf_counter())

        def step_times(self) -> list[float]:
            gaps = [b - a for a, b in zip(self.stamps, self.stamps[1:])]
            return gaps[1:]  # the first step pays for warm-up (allocations, lazy init)

    return StepStamps()


def _bare_trainer(policy: str, rows, lora: bool, out: str):
    import datasets
    from peft import LoraConfig
    from transformers import AutoModelForImageTextToText, AutoProcessor, PrinterCallback
    from trl import DPOConfig, DPOTrainer

    from unireward_builtins.aligners.vlm_dpo.trainer import DEFAULT_LORA_TARGETS

    processor = AutoProcessor.from_pretrained(policy)
    model = AutoModelForImageTextToText.from_pretrained(policy, dtype=torch.float32)
    ref = None if lora else AutoModelForImageTextToText.from_pretrained(policy, dtype=torch.float32)
    args = DPOConfig(output_dir=out, per_device_train_batch_size=BATCH, gradient_accumulation_steps=1,
                     learning_rate=1e-4, max_steps=STEPS, bf16=False, truncation_mode="keep_start",
                     precompute_ref_log_probs=False, gradient_checkpointing=False, logging_steps=1,
                     save_strategy="no", report_to=[], disable_tqdm=True, max_length=None, max_grad_norm=1.0)
    peft_config = LoraConfig(r=8, lora_alpha=8, target_modules=DEFAULT_LORA_TARGETS) if lora else None
    trainer = DPOTrainer(model=model, ref_model=ref, args=args, train_dataset=datasets.Dataset.from_list(rows),
                         processing_class=processor, peft_config=peft_config)
    trainer.remove_callback(PrinterCallback)
    return trainer


def _ours(policy: str, rows, lora: bool, out: str):
    from unireward_builtins.aligners import vlm_dpo

    aligner = vlm_dpo.create(model=policy, output_dir=out, lora=lora, lora_r=8, learning_rate=1e-4,
                             batch_size=BATCH, gradient_accumulation_steps=1, max_steps=STEPS, max_grad_norm=1.0)
    aligner.train(rows)  # builds and warms up the trainer; the rounds below reuse it
    return aligner


def compare(policy: str, lora: bool, workdir) -> dict[str, float]:
    rows = _rows(PAIRS)
    bare = _bare_trainer(policy, rows, lora, str(workdir / "bare"))
    bare.train()
    ours = _ours(policy, rows, lora, str(workdir / "ours"))
    stamps = {"ours": _stamper(), "bare": _stamper()}
    ours._trainer.add_callback(stamps["ours"])
    bare.add_callback(stamps["bare"])
    runs = {"ours": lambda: ours.train(rows), "bare": lambda: (setattr(bare, "optimizer", None),
                                                               setattr(bare, "lr_scheduler", None), bare.train())}
    medians: dict[str, list[float]] = {"ours": [], "bare": []}
    for r in range(ROUNDS):
        for name in (("ours", "bare") if r % 2 == 0 else ("bare", "ours")):
            runs[name]()
            medians[name].append(statistics.median(stamps[name].step_times()))
    ratios = [o / b for o, b in zip(medians["ours"], medians["bare"])]
    return {"ours_s": statistics.median(medians["ours"]), "bare_s": statistics.median(medians["bare"]),
            "ratio": statistics.median(ratios)}


@pytest.fixture(scope="module")
def tiny_policy(tmp_path_factory):
    from unireward_sdk.testing.tiny import build_tiny_judge

    return str(build_tiny_judge(tmp_path_factory.mktemp("bench-vlm-policy")))


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_bench_vlm_dpo_step(benchmark, tiny_policy, tmp_path, lora):
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # shared CPUs: oversubscribed threads swamp the ratio with noise
    try:
        result = benchmark.pedantic(compare, args=(tiny_policy, lora, tmp_path), rounds=1, iterations=1)
    finally:
        torch.set_num_threads(threads)
    benchmark.extra_info.update({**result, "target": TARGET, "mode": "lora" if lora else "full",
                                 "pairs_per_step": BATCH, "image": "64x64, 16 image tokens"})
    print(f"\nvlm_dpo step ({'LoRA' if lora else 'full'}, tiny Qwen2-VL, {BATCH} image pairs): "
          f"ours {result['ours_s'] * 1e3:.1f} ms / bare trl {result['bare_s'] * 1e3:.1f} ms = "
          f"{result['ratio']:.2f}x (target <= {TARGET})")
