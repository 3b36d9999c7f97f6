"""Regenerate the testbed's shipped checkpoints: ``unireward testbed build [--out DIR] [--verify]``.

Runs on the CPU with one thread and fixed seeds, so a rebuild with the same library versions reproduces
the shipped files (``--verify`` compares the result with ``checkpoints/MANIFEST.json``). It takes tens of
minutes on a 2-core machine; ``--scale`` shrinks every step count (tests use a tiny scale).

What is built, in order (see :mod:`.checkpoints`): ``base_vlm`` (Qwen2-VL VLM pretrained on world
captions), ``qa_policy`` (base fine-tuned on answers that are wrong 40% of the time), ``t2i_policy``
(text-to-image UNet pretrained briefly), ``t2v_policy`` (text-to-video UNet pretrained briefly), ``judge``
(joint judge trained from the base on simulated preferences of all four tasks with the SDK's judge
trainer) and ``judge_single/<task>`` (one judge per task, same data of that task, same settings and
steps: the budget-matched comparison the quick demo measures).
"""

from __future__ import annotations

import json
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import checkpoints as C

# every setting of the shipped build, recorded in the manifest
SETTINGS: dict[str, dict[str, Any]] = {
    "base_vlm": {"seed": 0, "hidden": 128, "layers": 2, "vocab_size": 3000, "image_pixels": 64 * 64,
                 "world_seed": 777, "steps": 4000, "batch_size": 16, "lr": 1e-3},
    "qa_policy": {"seed": 0, "world_seed": 2, "wrong_rate": 0.4, "steps": 300, "batch_size": 16, "lr": 5e-4},
    "t2i_policy": {"seed": 0, "world_seed": 1, "steps": 1200, "batch_size": 32, "lr": 1e-3, "lr_decay": False,
                   "caption_dropout": 0.1, "wrong_colour_rate": 0.4, "prediction_type": "sample"},
    "t2v_policy": {"seed": 0, "world_seed": 3, "steps": 1000, "batch_size": 8, "lr": 1e-3, "lr_decay": True,
                   "caption_dropout": 0.1, "wrong_colour_rate": 0.4, "prediction_type": "sample"},
    "judge": {"seed": 0, "data_seed": 99, "noise": 0.1, "train_per_task": 400, "eval_per_task": 40,
              "steps": 1200, "batch_size": 16, "lr": 1e-3, "reasoning": True},
}


def _scaled(steps: int, scale: float) -> int:
    return max(1, int(round(steps * scale)))


def build(out: str | Path | None = None, *, scale: float = 1.0, only: tuple[str, ...] = C.NAMES,
          log: Callable[[str], None] = print) -> Path:
    """Build the checkpoints into ``out`` (default: the package's ``checkpoints/``) and write the manifest."""
    import torch
    import transformers

    torch.set_num_threads(1)  # one thread: the same float reductions on every machine
    root = C.checkpoint_dir(out)
    root.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    s = SETTINGS

    def step(name: str, fn: Callable[[Path], Any]) -> None:
        if name not in only:
            return
        t0 = time.monotonic()
        target = root / name
        if target.exists():
            shutil.rmtree(target)
        log(f"building {name} ...")
        fn(target)
        timings[name] = round(time.monotonic() - t0, 1)
        log(f"built {name} in {timings[name]:.0f} s")

    def base_vlm(target: Path) -> None:
        from .policies import pretraining_examples
        from .sft import finetune_vlm
        from .vlm import build_base_vlm
        from .world import World

        cfg = s["base_vlm"]
        build_base_vlm(target, seed=cfg["seed"], hidden=cfg["hidden"], layers=cfg["layers"],
                       vocab_size=cfg["vocab_size"], image_pixels=cfg["image_pixels"])
        finetune_vlm(target, pretraining_examples(World(cfg["world_seed"])), steps=_scaled(cfg["steps"], scale),
                     batch_size=cfg["batch_size"], lr=cfg["lr"], seed=cfg["seed"], log=_every(log, "base_vlm", 250))

    def qa_policy(target: Path) -> None:
        from .policies import build_qa_policy

        cfg = s["qa_policy"]
        build_qa_policy(C.require("base_vlm", root), target, steps=_scaled(cfg["steps"], scale),
                        wrong_rate=cfg["wrong_rate"], world_seed=cfg["world_seed"], seed=cfg["seed"], lr=cfg["lr"],
                        log=_every(log, "qa_policy", 50))

    def diffusion_policy(name: str, every: int) -> Callable[[Path], None]:
        """The text-to-image or text-to-video policy's build step (same settings, same pretraining)."""
        def run(target: Path) -> None:
            from .policies import build_t2i_policy, build_t2v_policy

            cfg = s[name]
            builder = build_t2i_policy if name == "t2i_policy" else build_t2v_policy
            builder(target, steps=_scaled(cfg["steps"], scale), world_seed=cfg["world_seed"],
                    batch_size=cfg["batch_size"], lr=cfg["lr"], caption_dropout=cfg["caption_dropout"],
                    wrong_colour_rate=cfg["wrong_colour_rate"], prediction_type=cfg["prediction_type"],
                    lr_decay=cfg["lr_decay"], seed=cfg["seed"], log=_every(log, name, every))

        return run

    def train_judge(target: Path, tasks: tuple[str, ...], key: str) -> None:
        """One judge on the shared preference data of ``tasks`` (all four: the joint judge)."""
        from unireward_sdk.training import load_records, train_generative_judge

        from .judges import training_config, write_preferences

        cfg = s["judge"]
        with tempfile.TemporaryDirectory(prefix="unireward-judge-data-") as tmp:
            train, evals = write_preferences(tmp, seed=cfg["data_seed"], noise=cfg["noise"],
                                             n_train=cfg["train_per_task"], n_eval=cfg["eval_per_task"],
                                             reasoning=cfg["reasoning"])
            config = training_config(steps=_scaled(cfg["steps"], scale), batch_size=cfg["batch_size"],
                                     lr=cfg["lr"], seed=cfg["seed"], bootstrap=200)
            mine = [r for r in load_records(train) if r.task in tasks]
            held_out = [r for r in load_records(evals) if r.task in tasks]
            report = train_generative_judge(mine, C.require("base_vlm", root), target, config,
                                            eval_records=held_out, run_name=key)
        for task, score in report.final.items():
            log(f"{key} held-out accuracy on {task}: {100 * score.accuracy:.1f}%" if score.accuracy is not None
                else f"{key}: no accuracy for {task}")
            heldout.setdefault(key, {})[task] = {"accuracy": score.accuracy,
                                                 "ci95": list(score.ci) if score.ci else None,
                                                 "n": score.n, "failures": score.failures}

    def judge(target: Path) -> None:
        from .preferences import TASKS

        train_judge(target, tuple(TASKS), "joint")

    def judge_single(target: Path) -> None:
        from .preferences import TASKS

        for task in TASKS:
            train_judge(target / task, (task,), task)

    heldout: dict[str, dict] = {}  # each judge's held-out pairwise accuracy, recorded in the manifest
    step("base_vlm", base_vlm)
    step("qa_policy", qa_policy)
    step("t2i_policy", diffusion_policy("t2i_policy", 100))
    step("t2v_policy", diffusion_policy("t2v_policy", 50))
    step("judge", judge)
    step("judge_single", judge_single)
    _tidy(root)
    # a partial rebuild (--only) keeps the other models' build times from the manifest it replaces
    seconds = {**(C.read_manifest(root) or {}).get("seconds", {}), **timings}
    manifest = {
        "built_by": "unireward testbed build",
        "scale": scale,
        "settings": {k: v for k, v in SETTINGS.items()},
        "seconds": seconds,
        "total_seconds": round(sum(seconds.values()), 1),
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "diffusers": _version("diffusers")},
        # per judge ("joint" or a task's single judge): a partial rebuild keeps the others' figures
        "judge_heldout_pairwise": {**(C.read_manifest(root) or {}).get("judge_heldout_pairwise", {}), **heldout},
        "files": C.file_hashes(root),
        "total_bytes": C.total_bytes(root),
    }
    if manifest["total_bytes"] > C.MAX_BYTES:
        raise C.CheckpointError(f"the checkpoints take {manifest['total_bytes'] / 1e6:.1f} MB, over the "
                                f"{C.MAX_BYTES / 1e6:.0f} MB the package may ship", who=str(root),
                                fix="Lower the model sizes in SETTINGS")
    (root / C.MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    log(f"checkpoints written to {root} ({manifest['total_bytes'] / 1e6:.1f} MB)")
    return root


def _tidy(root: Path) -> None:
    """Drop files that only record a run's machine, paths or timing, so rebuilt folders compare equal (the
    judge's training report is summarised in the manifest instead)."""
    for name in C.NAMES:
        for path in (root / name).rglob("*"):
            if path.name in ("training_args.bin", "training_report.json", "training_report.md") \
                    or path.suffix in (".bin", ".pt", ".pth"):
                path.unlink()
            elif path.name == "config.json":
                _drop_source_path(path)


def _drop_source_path(config: Path) -> None:
    """diffusers records the folder a model was loaded from (``_name_or_path``), i.e. this machine's path."""
    data = json.loads(config.read_text())
    if data.pop("_name_or_path", None) is not None:
        config.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _version(module: str) -> str | None:
    try:
        return __import__(module).__version__
    except ImportError:
        return None


def _every(log: Callable[[str], None], name: str, every: int) -> Callable[[int, float], None]:
    def report(step: int, loss: float) -> None:
        if (step + 1) % every == 0:
            log(f"{name}: step {step + 1} loss {loss:.4f}")

    return report

