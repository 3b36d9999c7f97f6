"""Probes behind the figures in docs/testbed.md ("Probes"): what the tiny models perceive, whether they learn
to compare a caption with pixels, and how far Diffusion-DPO moves the text-to-image policy on perfect pairs.

    unireward testbed probe perception [--checkpoint DIR]
    unireward testbed probe verification --attributes colour [--steps 300] [--checks]
    unireward testbed probe oracle-pairs [--prompts 48 --max-steps 150 --beta 500]

Each prints one JSON object. None of them is part of the demo; they answer "why do the judges stay at
chance" with measurements instead of guesses.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .world import World, perturb_scene, render_scene, scene_questions

VERIFY = "Does this caption match the image? {caption}"
ATTRIBUTES = ("colour", "position", "shape")  # what a verification mismatch can alter


def verification_examples(world: World, attributes: Sequence[str], *, checks: bool = False):
    """A batch drawer of caption-verification examples; a mismatch alters one of ``attributes``. With
    ``checks`` the answer is preceded by the annotator's checks (:func:`.preferences.checklist`)."""
    from .preferences import SCENE_CHECKS, checklist

    def draw(rng: random.Random, n: int) -> list:
        out = []
        for _ in range(n):
            scene = world.scene(rng.randrange(10**9))
            match = rng.random() < 0.5
            shown = scene if match else perturb_scene(scene, rng, attributes=attributes)
            answer = "yes" if match else "no"
            if checks:
                answer = f"{checklist(shown, scene, SCENE_CHECKS)}\n{answer}"
            out.append(([("image", render_scene(scene)), ("text", VERIFY.format(caption=shown.caption()))], answer))
        return out

    return draw


def perception(checkpoint: str | Path, *, scenes: int = 60, seed: int = 321, chunk: int = 64) -> dict[str, Any]:
    """Greedy accuracy per question attribute on ``scenes`` held-out scenes, and caption-verification accuracy
    (one attribute altered in half of the captions)."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from .policies import greedy_replies

    processor = AutoProcessor.from_pretrained(checkpoint)
    model = AutoModelForImageTextToText.from_pretrained(checkpoint, use_safetensors=True).eval()
    world, rng = World(seed), random.Random(seed)
    questions = [(render_scene(s), q.text, q.answer, q.attribute)
                 for s in (world.scene(i) for i in range(scenes)) for q in scene_questions(s)]
    draw = verification_examples(world, ATTRIBUTES)
    verification = [(parts[0][1], parts[1][1], answer, "verification") for parts, answer in draw(rng, scenes)]
    rows = questions + verification
    replies = greedy_replies(model, processor, [[("image", image), ("text", text)] for image, text, _, _ in rows],
                             batch_size=chunk, max_new_tokens=4)
    correct: dict[str, list[bool]] = {}
    for reply, (_, _, gold, kind) in zip(replies, rows):
        correct.setdefault(kind, []).append(reply.split("\n")[0].strip() == gold)
    return {"checkpoint": str(checkpoint), "n": {k: len(v) for k, v in correct.items()},
            "accuracy": {k: round(sum(v) / len(v), 3) for k, v in correct.items()}}


def verification(checkpoint: str | Path, attributes: Sequence[str], *, steps: int = 300, lr: float = 1e-3,
                 seed: int = 0, checks: bool = False, held_out: int = 120,
                 out: str | Path | None = None) -> dict[str, Any]:
    """Fine-tune a copy of ``checkpoint`` on caption verification with ``attributes`` altered; the loss in
    eight phases (without checks, flat at about 0.35 means nothing was learnt: two answer tokens, yes/no
    at chance) and the greedy yes/no accuracy on ``held_out`` new examples."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from .policies import greedy_replies
    from .sft import finetune_vlm

    with tempfile.TemporaryDirectory(prefix="unireward-probe-") as tmp:
        target = Path(out) if out is not None else Path(tmp) / "model"
        if target.exists():
            shutil.rmtree(target)
        shutil.copytree(checkpoint, target)
        losses: list[float] = []
        finetune_vlm(target, verification_examples(World(777), attributes, checks=checks), steps=steps,
                     batch_size=16, lr=lr, seed=seed, log=lambda _step, loss: losses.append(loss))
        processor = AutoProcessor.from_pretrained(target)
        model = AutoModelForImageTextToText.from_pretrained(target, use_safetensors=True).eval()
        rows = verification_examples(World(4242), attributes, checks=checks)(random.Random(seed + 1), held_out)
        replies = greedy_replies(model, processor, [parts for parts, _ in rows], batch_size=64,
                                 max_new_tokens=24 if checks else 4)
    right = [(reply.split() or [""])[-1] == answer.split()[-1] for reply, (_, answer) in zip(replies, rows)]
    k = max(1, steps // 8)
    phases = [round(sum(losses[i:i + k]) / len(losses[i:i + k]), 3) for i in range(0, steps, k)]
    return {"checkpoint": str(checkpoint), "attributes": list(attributes), "checks": checks, "steps": steps,
            "loss_by_phase": phases, "held_out_accuracy": round(sum(right) / len(right), 3),
            "example_reply": replies[0]}


def oracle_pairs(policy: str | Path, *, prompts: int = 24, samples: int = 2, options: dict[str, Any] | None = None,
                 eval_scenes: int | None = None, seed: int = 0, out: str | Path | None = None) -> dict[str, Any]:
    """Diffusion-DPO on perfect pairs (the oracle's best vs worst of 10 candidates per caption): the most the
    aligner can move the text-to-image policy at ``options``' budget."""
    import statistics

    from unireward_sdk.records import PreferencePair
    from unireward_sdk.registry import get_registry

    from .demo import _T2I
    from .generation import TASK, T2IEvaluator, all_scenes, oracle_score, training_prompts

    settings = {**_T2I, **(options or {})}
    registry = get_registry()
    with tempfile.TemporaryDirectory(prefix="unireward-probe-") as tmp:
        root = Path(out) if out is not None else Path(tmp)

        def aligner(sample_dir: Path) -> Any:
            return registry.aligner("diffusion_dpo", model=str(policy), output_dir=str(root / "runs"),
                                    sample_dir=str(sample_dir), lora=False, seed=seed, **settings)

        scenes = all_scenes()[:eval_scenes] if eval_scenes else all_scenes()
        evaluate = T2IEvaluator(scenes, samples, root / "eval", steps=settings["sample_steps"],
                                guidance=settings["guidance_scale"])
        base = aligner(root / "candidates")
        before = evaluate(base, "before")
        records, truth = training_prompts(seed, prompts)
        rows = base.sample([r.prompt for r in records], 10, seed=seed, out_dir=root / "candidates")
        pairs = []
        for record, row in zip(records, rows):
            scores = [oracle_score(c.path, truth[record.prompt_id]) for c in row]
            best = max(range(len(row)), key=scores.__getitem__)
            worst = min(range(len(row)), key=scores.__getitem__)
            if scores[best] > scores[worst]:
                pairs.append(PreferencePair(prompt_id=record.prompt_id, task=TASK, chosen=row[best],
                                            rejected=row[worst], prompt=record.prompt))
        if not pairs:  # every caption's candidates scored alike: nothing to prefer, nothing trained
            return {"policy": str(policy), "options": settings, "pairs": 0,
                    "before": round(statistics.mean(before["per_prompt"]), 3), "after": None,
                    "note": "no caption had candidates of different oracle scores"}
        policy_run = aligner(root / "run")
        policy_run.train(pairs)
        after = evaluate(policy_run, "after")
    return {"policy": str(policy), "options": settings, "pairs": len(pairs),
            "before": round(statistics.mean(before["per_prompt"]), 3), "before_attributes": before["attributes"],
            "after": round(statistics.mean(after["per_prompt"]), 3), "after_attributes": after["attributes"]}

