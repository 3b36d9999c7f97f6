"""GPU check of judge training: bf16 mixed precision, LoRA merge, scalar joint fine-tuning, and the speed ratio.

Runs standalone in well under 3 minutes on one H100 (``python benchmarks/gpu/train_judge_gpu.py``):

1. a tiny Qwen2-VL judge learns the toy colour preference with full fine-tuning under bf16 autocast
   (accuracy on held-out pairs, seconds per step);
2. LoRA + bf16, saved merged, reloaded on the GPU through the ``transformers`` backend and judged in both
   A/B orders by the generative head;
3. scalar head: frozen features, then joint fine-tuning (LoRA) through the last hidden state;
4. the same full fine-tuning on the CPU for a few steps: the CPU/GPU seconds-per-step ratio (one run).

Every section reports on its own; one failing does not hide the others.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT, ROOT / "plugins"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))

# UNIREWARD_QUICK=1: two steps per section, for a CPU dry run of this script
QUICK = bool(os.environ.get("UNIREWARD_QUICK"))
SHORT = "image_generation.pairwise_rank.qwen_v1.short"
RGB = {"red": (220, 30, 30), "green": (30, 180, 40), "blue": (40, 60, 220)}


def square(folder: Path, colour: str, rng: random.Random) -> str:
    from PIL import Image

    shade = tuple(max(0, min(255, v + rng.randint(-25, 25))) for v in RGB[colour])
    path = folder / f"{colour}-{rng.getrandbits(40):010x}.png"
    Image.new("RGB", (32, 32), shade).save(path)
    return str(path)


def records(folder: Path, n: int, seed: int, *, points: bool = False) -> list[dict]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        out.append({"id": f"p{seed}-{i}", "task": "image_generation", "prompt": "a red square", "template": SHORT,
                    "candidates": [{"path": square(folder, "red", rng)},
                                   {"path": square(folder, rng.choice(["green", "blue"]), rng)}], "label": "A"})
        if points:
            c = rng.choice(list(RGB))
            out.append({"id": f"s{seed}-{i}", "task": "image_generation", "prompt": "a red square",
                        "candidates": [{"path": square(folder, c, rng)}],
                        "score": {"red": 5, "green": 3, "blue": 1}[c], "scale": [1, 5]})
    return out


def section(name: str, results: dict, fn) -> None:
    started = time.perf_counter()
    try:
        results[name] = fn()
        results[name]["seconds"] = round(time.perf_counter() - started, 2)
        print(f"== {name}: {json.dumps(results[name])}", flush=True)
    except Exception:  # noqa: BLE001 - report and go on to the next section
        results[name] = {"error": traceback.format_exc(limit=4)}
        print(f"== {name}: FAILED\n{results[name]['error']}", flush=True)


def n(steps: int) -> int:
    return 2 if QUICK else steps


def main() -> int:
    import torch

    from unireward_sdk.host import BUILTIN_PLUGINS, PluginHost
    from unireward_sdk.registry import Registry
    from unireward_sdk.settings import PluginSettings
    from unireward_sdk.templates import register_template_file
    from unireward_sdk.testing.tiny import build_tiny_judge
    from unireward_sdk.training import JudgeTrainingConfig, load_records, train_generative_judge, train_scalar_judge

    print(f"torch {torch.__version__}, cuda {torch.cuda.is_available()}, "
          f"{torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no GPU'}", flush=True)
    work = Path(tempfile.mkdtemp())
    registry = Registry(PluginHost.load(PluginSettings(), builtins=BUILTIN_PLUGINS, entry_points=[]))
    (work / "short.toml").write_text(f'[[template]]\nid = "{SHORT}"\nextends = "image_generation.pairwise_rank.qwen_v1"\n'
                                     'text = "Text Caption: [{prompt}]\\nWhich image is better?"\n')
    register_template_file(registry, work / "short.toml")
    base = build_tiny_judge(work / "base", arch="qwen2_vl", seed=0)
    data = work / "data"
    data.mkdir()
    train = load_records(records(data, 48, 0, points=True), base_dir=data)
    held_out = load_records(records(data, 24, 1, points=True), base_dir=data)
    pairs_only = [r for r in train if r.mode == "pairwise"]
    templates = {"image_generation": {"pairwise": SHORT}}
    results: dict = {}

    def full_ft(device: str | None, steps: int) -> dict:
        config = JudgeTrainingConfig(max_steps=steps, batch_size=8, learning_rate=5e-3, lora=False, freeze_vision=False,
                                     templates=templates, bootstrap=200, device=device, eval_pointwise=False)
        report = train_generative_judge(pairs_only, base, None, config,
                                        eval_records=[r for r in held_out if r.mode == "pairwise"], registry=registry)
        final = report.final["image_generation"]
        return {"accuracy": final.accuracy, "ci": final.ci, "n": final.n, "loss_first": report.losses[0][1],
                "loss_last": report.losses[-1][1], "seconds_per_step": report.seconds / steps,
                "precision": report.config["mixed_precision_used"], "device": report.config["device_used"]}

    section("gpu_full_ft_bf16", results, lambda: full_ft(None, n(40)))

    def lora_reload() -> dict:
        out = work / "lora_judge"
        config = JudgeTrainingConfig(max_steps=n(40), batch_size=8, learning_rate=2e-3, lora=True, lora_r=16,
                                     lora_alpha=32,
                                     templates=templates, bootstrap=0, eval_pointwise=False)
        report = train_generative_judge(pairs_only, base, out, config, registry=registry)
        backend = registry.backend("transformers", checkpoint=str(out), device="cuda" if torch.cuda.is_available() else "cpu",
                                   dtype="bfloat16" if torch.cuda.is_available() else "float32")
        head = registry.reward_head("generative", backend=backend, task="image_generation", template=SHORT,
                                    registry=registry)
        from unireward_sdk.records import Candidate, JudgeItem

        rng = random.Random(9)
        red, blue = square(data, "red", rng), square(data, "blue", rng)
        items = [JudgeItem(id=f"{a}-{b}", task="image_generation", prompt="a red square",
                           candidates=[Candidate(id="A", modality="image", path=pa),
                                       Candidate(id="B", modality="image", path=pb)])
                 for (a, pa), (b, pb) in ((("red", red), ("blue", blue)), (("blue", blue), ("red", red)))]
        verdicts = head.judge_pairwise(items)
        return {"loss_first": report.losses[0][1], "loss_last": report.losses[-1][1],
                "verdicts": {v.item_id: (v.status, v.winner, v.raw[:40]) for v in verdicts},
                "trainable_parameters": report.trainable_parameters}

    section("gpu_lora_bf16_reload", results, lora_reload)

    def scalar(finetune: bool) -> dict:
        config = JudgeTrainingConfig(max_steps=n(40), batch_size=16, learning_rate=1e-4, bootstrap=0,
                                     head_options={"head_lr": 0.02, "scalar_finetune": finetune})
        report = train_scalar_judge(train, base, work / f"scalar_{finetune}", config, eval_records=held_out,
                                    registry=registry)
        final = report.final["image_generation"]
        return {"accuracy": final.accuracy, "spearman": final.spearman, "loss_first": report.losses[0][1],
                "loss_last": report.losses[-1][1]}

    section("gpu_scalar_frozen", results, lambda: scalar(False))
    section("gpu_scalar_joint_finetune", results, lambda: scalar(True))
    section("cpu_full_ft_8_steps", results, lambda: full_ft("cpu", n(8)))
    gpu, cpu = results.get("gpu_full_ft_bf16", {}), results.get("cpu_full_ft_8_steps", {})
    if "seconds_per_step" in gpu and "seconds_per_step" in cpu:
        # seconds per step include each run's evaluation and model loading, spread over its steps
        print(f"ratio cpu/gpu seconds per step (incl. load+eval): {cpu['seconds_per_step'] / gpu['seconds_per_step']:.2f}")
    print(json.dumps(results, indent=1, default=str))
    return 0 if all("error" not in v for v in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
