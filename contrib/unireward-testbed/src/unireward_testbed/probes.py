"""Probes behind the figures in docs/testbed.md ("Probes"): what the tiny models perceive, whether they learn
to compare a caption with pixels, and how far Diffusion-DPO moves the text-to-image policy on perfect pairs.

    unireward testbed probe perception [--checkpoint DIR]
    unireward testbed probe verification --attributes colour [--steps 300] [--checks]
    unireward testbed probe oracle-pairs [--prompts 48 --max-steps 150 --beta 500]
    unireward testbed probe qa-oracle-pairs [--prompts 64 --learning-rate 1e-4]

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
# the learnability gate's text-to-image training: every weight, at the learning rate its figures in
# docs/testbed.md were measured with
FULL_FINE_TUNING = {"lora": False, "learning_rate": 1e-4}


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
    from .generation import IMAGE, TASK, Evaluator, aligner_settings, oracle_score, split, training_prompts

    settings = aligner_settings({**_T2I, **(options or {})})
    registry = get_registry()
    with tempfile.TemporaryDirectory(prefix="unireward-probe-") as tmp:
        root = Path(out) if out is not None else Path(tmp)

        def aligner(sample_dir: Path) -> Any:
            return registry.aligner("diffusion_dpo", model=str(policy), output_dir=str(root / "runs"),
                                    sample_dir=str(sample_dir), seed=seed, **{"lora": False, **settings})

        _, held_out = split(IMAGE.truths)
        scenes = held_out[:eval_scenes] if eval_scenes else held_out
        evaluate = Evaluator(scenes, samples, root / "eval", steps=settings["sample_steps"],
                             guidance=settings["guidance_scale"])
        base = aligner(root / "candidates")
        before = evaluate(base, "before")
        records, truth = training_prompts(IMAGE, seed, prompts)
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



def qa_oracle_pairs(policy: str | Path, *, prompts: int = 64, eval_questions: int = 96, samples: int = 8,
                    options: dict[str, Any] | None = None, seed: int = 0, out: str | Path | None = None) -> dict[str, Any]:
    """``vlm_dpo`` on perfect pairs (a right answer against a wrong one, both sampled from the policy, for
    every training question that drew both) at the demo's QA settings: the most the judge's pairs could
    give, which tells a judge that built poor pairs from a budget that moves nothing. Measured as the demo
    measures (sampled and greedy accuracy on held-out questions), per task."""
    import statistics

    from unireward_sdk.records import PreferencePair
    from unireward_sdk.registry import get_registry

    from .demo import _QA
    from .oracle import grade_answer
    from .understanding import TASKS, evaluate, split

    settings = {"lora": False, **_QA, **(options or {})}
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="unireward-probe-") as tmp:
        root = Path(out) if out is not None else Path(tmp)
        policy_run = get_registry().aligner("vlm_dpo", model=str(policy), output_dir=str(root / "run"), seed=seed,
                                            **settings)
        # the demo's questions for this seed: the same training and held-out split
        trains, held_out = split([seed], seed, prompts, eval_questions, root / "media")
        train = trains[seed]
        before = {t: evaluate(policy_run, held_out[t], k=samples) for t in TASKS}
        pairs = []
        for task in TASKS:
            records = [r for r, _ in train[task]]
            rows = policy_run.sample([r.question for r in records], 10, seed=seed,
                                     contexts=[list(r.context) for r in records])
            for (record, question), row in zip(train[task], rows):
                right = [c for c in row if grade_answer(c.text, question) == 1.0]
                wrong = [c for c in row if grade_answer(c.text, question) == 0.0]
                if right and wrong:  # a question every answer got right (or wrong) has nothing to prefer
                    pairs.append(PreferencePair(prompt_id=record.prompt_id, task=task, chosen=rng.choice(right),
                                                rejected=rng.choice(wrong), question=record.question,
                                                context=record.context))
        result: dict[str, Any] = {"policy": str(policy), "options": settings, "pairs": len(pairs),
                                  "pairs_per_task": {t: sum(p.task == t for p in pairs) for t in TASKS}}
        if not pairs:
            return {**result, "note": "no training question drew both a right and a wrong answer"}
        policy_run.train(pairs)
        after = {t: evaluate(policy_run, held_out[t], k=samples) for t in TASKS}
    for task in TASKS:
        result[task] = {f"{kind}_{arm}": round(100 * statistics.mean(figures[task][kind]), 1)
                        for arm, figures in (("before", before), ("after", after))
                        for kind in ("sampled", "greedy")}
    return result


def learnability(policy: str | Path, *, video: bool = False, steps: int = 60, samples: int = 2, seed: int = 0,
                 options: dict[str, Any] | None = None, out: str | Path | None = None) -> dict[str, Any]:
    """Can the policy learn what pairs would teach it? Supervised fine-tuning (the aligner's ``sft``
    objective) on the world's true renders of the training captions, then every attribute measured on the
    held-out captions before and after. The gate for a rebuilt policy: every attribute must improve, or
    pairs that teach it cannot work (the text-to-image policy built with a generic tokenizer failed it on
    position; docs/testbed.md)."""
    from unireward_sdk.records import Candidate, PreferencePair
    from unireward_sdk.registry import get_registry

    from .demo import _T2I, _T2V
    from .generation import IMAGE, VIDEO, Evaluator, aligner_settings, split
    from .media import save_image, save_video
    from .policies import T2V_FRAME_SIZE
    from .world import perturb_motion, render_motion

    setting = VIDEO if video else IMAGE
    # The gate asks what the architecture can learn, so every weight is trained, not the demo's LoRA on the
    # cross-attention. SFT alone: no DPO term, so no SFT weight on one.
    base = _T2V if video else {**{k: v for k, v in _T2I.items() if not k.startswith("lora")}, **FULL_FINE_TUNING}
    settings = aligner_settings({**base, "max_steps": steps, **(options or {}), "objective": "sft",
                                 "sft_weight": 0.0})
    registry = get_registry()
    with tempfile.TemporaryDirectory(prefix="unireward-probe-") as tmp:
        root = Path(out) if out is not None else Path(tmp)
        train, held_out = split(setting.truths)
        pairs: list[PreferencePair] = []
        rng = random.Random(seed)
        for i, truth in enumerate(train):
            # the chosen side is the true render; the rejected side (a render with one attribute changed)
            # only completes the pair, the sft objective never reads it
            if video:
                wrong = perturb_motion(truth, rng)
                paths = [save_video(render_motion(m, T2V_FRAME_SIZE), root / "renders" / f"{i:03d}-{k}.mp4")
                         for k, m in (("true", truth), ("wrong", wrong))]
            else:
                wrong = perturb_scene(truth, rng)
                paths = [save_image(render_scene(s), root / "renders" / f"{i:03d}-{k}.png")
                         for k, s in (("true", truth), ("wrong", wrong))]
            chosen, rejected = (Candidate(id=f"{k}-{i}", modality=setting.aligner_modality, path=p)
                                for k, p in zip(("true", "wrong"), paths))
            pairs.append(PreferencePair(prompt_id=f"p{i}", task=setting.task, chosen=chosen, rejected=rejected,
                                        prompt=truth.caption()))
        aligner = registry.aligner(setting.aligner, model=str(policy), output_dir=str(root / "run"),
                                   sample_dir=str(root / "samples"), seed=seed, **{"lora": False, **settings})
        evaluate = Evaluator(held_out, samples, root / "eval", steps=settings["sample_steps"],
                             guidance=settings["guidance_scale"])
        before = evaluate(aligner, "before")
        aligner.train(pairs)
        after = evaluate(aligner, "after")
    changes = {a: round(after["attributes"][a] - before["attributes"][a], 3) for a in before["attributes"]}
    return {"policy": str(policy), "task": setting.task, "options": settings, "steps": steps,
            "held_out_captions": len(held_out),
            "samples": samples, "before": before["attributes"], "after": after["attributes"], "change": changes,
            "every_attribute_improves": all(v > 0 for v in changes.values())}
