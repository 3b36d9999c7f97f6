"""Image and video generation in the testbed: the policy samples, the judge builds pairs, Diffusion-DPO trains
with early stopping on held-out pairs, and the pixel oracle measures the policy on held-out captions.

Both policies are trained and sampled by the SDK's aligners (``diffusion_dpo`` for images,
``video_diffusion_dpo`` for video). The world's captions are split once: every third caption is held out
for evaluation and no pair is ever built from it, the others are the training prompts. Evaluation samples
each held-out caption with fixed seeds, so "before" and "after" see the same starting noise and differ
only by the policy's weights. Next to DPO, the supervised baseline (the same pairs' chosen samples with
the plain denoising loss, ``objective = "sft"``) says what the preference adds.
"""

from __future__ import annotations

import copy
import itertools
import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attrs import frozen

from .oracle import Judgement, judge_image, judge_video
from .world import COLOURS, DIRECTIONS, POSITIONS, SHAPES, Motion, Scene

TASK = "image_generation"  # kept for callers that only know the image setting
SFT = "sft_on_chosen"  # the supervised baseline's name in the results
MIN_PAIRS = 4  # below this a run is not trained: a quarter held out to stop on leaves almost nothing


def all_scenes() -> list[Scene]:
    """Every single-shape caption of the world, in a fixed order."""
    return [Scene(shape, colour, position) for shape, colour, position in itertools.product(SHAPES, COLOURS, POSITIONS)]


def all_motions() -> list[Motion]:
    """Every motion caption of the world, in a fixed order."""
    return [Motion(shape, colour, direction) for shape, colour, direction in itertools.product(SHAPES, COLOURS, DIRECTIONS)]


def split(truths: Sequence[Any]) -> tuple[list[Any], list[Any]]:
    """(training captions, held-out captions): every third caption is held out, so each colour, shape and
    place or direction appears on both sides."""
    return [t for i, t in enumerate(truths) if i % 3], [t for i, t in enumerate(truths) if not i % 3]


def judge_file(path: str, truth: Any) -> Judgement:
    """The oracle's judgement of one generated image or clip against its caption's truth."""
    if isinstance(truth, Motion):
        from .media import load_video

        return judge_video(load_video(path), truth)
    from PIL import Image

    with Image.open(path) as img:
        return judge_image(img.convert("RGB"), truth)


def oracle_score(path: str, truth: Any) -> float:
    return judge_file(path, truth).score


@frozen
class Setting:
    """What differs between image and video generation."""

    task: str
    aligner: str
    truths: tuple  # every caption's truth, in a fixed order

    @property
    def aligner_modality(self) -> str:
        return "image" if self.task == "image_generation" else "video"

    @property
    def label(self) -> str:
        return "text-to-image" if self.task == "image_generation" else "text-to-video"


IMAGE = Setting("image_generation", "diffusion_dpo", tuple(all_scenes()))
VIDEO = Setting("video_generation", "video_diffusion_dpo", tuple(all_motions()))


class Evaluator:
    """Samples ``k`` outputs for each evaluation caption with fixed seeds and scores them with the oracle."""

    def __init__(self, truths: Sequence[Any], k: int, out_dir: str | Path, *, seed: int = 12345,
                 steps: int | None = None, guidance: float | None = None):
        self.truths = list(truths)
        self.k = k
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.steps = steps
        self.guidance = guidance

    def __call__(self, aligner: Any, tag: str) -> dict[str, Any]:
        rows = aligner.sample([t.caption() for t in self.truths], self.k, seed=self.seed,
                              out_dir=self.out_dir / tag, num_inference_steps=self.steps,
                              guidance_scale=self.guidance)
        per_prompt, attributes, paths = [], {}, []
        for truth, row in zip(self.truths, rows):
            scores = []
            for candidate in row:
                judgement = judge_file(candidate.path, truth)
                scores.append(judgement.score)
                for name, ok in judgement.matches.items():
                    attributes.setdefault(name, []).append(float(ok))
            per_prompt.append(sum(scores) / len(scores))
            paths.append([c.path for c in row])
        per_attribute = {a: [sum(v[i * self.k:(i + 1) * self.k]) / self.k for i in range(len(self.truths))]
                         for a, v in attributes.items()}
        return {"per_prompt": per_prompt, "attributes": {a: sum(v) / len(v) for a, v in attributes.items()},
                "per_attribute": per_attribute, "by_value": by_caption_value(per_attribute, self.truths),
                "paths": paths, "captions": [t.caption() for t in self.truths]}


def by_caption_value(per_attribute: dict[str, list[float]], truths: Sequence[Any]) -> dict[str, dict[str, float]]:
    """Per attribute, and per value a caption names (red, circle, left...): the share of the samples for those
    captions that drew it. A policy that never draws a value, whatever the caption, shows up here as a value
    near zero; the attribute's mean hides which values it cannot draw."""
    out: dict[str, dict[str, float]] = {}
    for attribute, shares in per_attribute.items():
        groups: dict[str, list[float]] = {}
        for truth, share in zip(truths, shares):
            groups.setdefault(str(getattr(truth, attribute)), []).append(share)
        out[attribute] = {value: sum(g) / len(g) for value, g in sorted(groups.items())}
    return out


def pairs_by_caption_value(pairs: Sequence[Any], truth: dict[str, Any]) -> dict[str, dict[str, dict[str, int]]]:
    """Per attribute, and per value the pair's caption names: how many pairs have it right on the chosen side
    only, the rejected side only, both or neither (:data:`~.pairs.PAIR_KINDS`, read by the oracle). Only
    a pair right on the chosen side alone teaches the value, so a value the policy never draws gets no
    pair that teaches it, however good the judge."""
    from .pairs import PAIR_KINDS, pair_kind

    out: dict[str, dict[str, dict[str, int]]] = {}
    for pair in pairs:
        caption = truth[pair.prompt_id]
        chosen = judge_file(pair.chosen.path, caption).matches
        rejected = judge_file(pair.rejected.path, caption).matches
        for attribute, right in chosen.items():
            counts = out.setdefault(attribute, {}).setdefault(str(getattr(caption, attribute)),
                                                              dict.fromkeys(PAIR_KINDS, 0))
            counts[pair_kind(right, rejected[attribute])] += 1
    return {a: dict(sorted(values.items())) for a, values in out.items()}


T2IEvaluator = Evaluator  # the name the probes use


def training_prompts(setting: Setting, seed: int, n: int) -> tuple[list[Any], dict[str, Any]]:
    """``n`` prompts drawn from the training captions under ``seed`` (each caption once before any repeats),
    and each prompt's truth."""
    from unireward_sdk.pairs import PromptRecord

    train, _ = split(setting.truths)
    rng = random.Random(seed + 1000)
    order: list[Any] = []
    while len(order) < n:
        order += rng.sample(train, len(train))
    prefix = "t2i" if setting.task == "image_generation" else "t2v"
    records = [PromptRecord(index=i, prompt_id=f"{prefix}-{i:03d}", task=setting.task, prompt=t.caption())
               for i, t in enumerate(order[:n])]
    return records, {r.prompt_id: t for r, t in zip(records, order)}


def validation_split(pairs: Sequence[Any], share: float = 0.25) -> tuple[list[Any], list[Any]]:
    """(training pairs, validation pairs): the pairs of every fourth prompt are held out to decide when to
    stop, so the validation pairs come from prompts the policy is not trained on."""
    prompts = sorted({p.prompt_id for p in pairs})
    every = max(2, round(1 / share))
    held = {pid for i, pid in enumerate(prompts) if i % every == every - 1}
    train = [p for p in pairs if p.prompt_id not in held]
    val = [p for p in pairs if p.prompt_id in held]
    return (train, val) if train and val else (list(pairs), [])


# What a check compares on the held-out pairs (``aligner.evaluate``), and which way is better. The mean
# DPO loss is convex in the margin, so it rises when the held-out margins merely spread out, with their
# mean unchanged; the mean margin and the accuracy are not biased that way. On the testbed's few held-out
# pairs none of the three followed the oracle (docs/testbed.md, "Objective and stopping"), so a run can
# instead train its whole step budget on every pair: ``stop_on = "budget"``.
STOP_CRITERIA = {"loss": -1.0, "margin": 1.0, "accuracy": 1.0}


def train_with_early_stopping(aligner: Any, train: Sequence[Any], val: Sequence[Any], *, max_steps: int,
                              checks: int = 5, patience: int = 2, seed: int = 0, stop_on: str = "loss"
                              ) -> dict[str, Any]:
    """Train in ``checks`` chunks up to ``max_steps``; after each, measure the held-out pairs
    (``aligner.evaluate``: DPO loss, mean implicit-reward margin and accuracy, the same noise draws every
    time) and keep the weights of the best check by ``stop_on`` (a key of :data:`STOP_CRITERIA`). Stops
    after ``patience`` checks without improvement. Step 0 (no training) is a candidate: if no check beats
    it, the policy is returned untrained and the results say so."""
    if val and stop_on not in STOP_CRITERIA:
        raise ValueError(f"stop_on must be one of {sorted(STOP_CRITERIA)}, got {stop_on!r}")
    sign = STOP_CRITERIA.get(stop_on, 1.0)
    chunk = max(1, max_steps // checks)
    module = aligner.unet
    curve = []

    def measure() -> dict[str, float] | None:
        if not val:
            return None
        result = aligner.evaluate(val, seed=seed, repeats=4)
        return {"val_loss": result.loss, "val_margin": result.margin, "val_accuracy": result.accuracy}

    def score(point: dict[str, float]) -> float:
        return sign * point[f"val_{stop_on}"]

    first = measure()
    best, best_state, best_step = first, copy.deepcopy(module.state_dict()), 0
    curve.append({"step": 0, **(first or {})})
    history: list[Any] = []
    waited = 0
    steps = 0
    while steps < max_steps:
        aligner.config.max_steps = min(chunk, max_steps - steps)
        summary = aligner.train(train)
        history += list(summary.history)
        steps += aligner.config.max_steps
        point = measure()
        curve.append({"step": steps, **(point or {})})
        if point is None or best is None:
            best_state, best_step = None, steps  # nothing to stop on: train the whole budget
            continue
        if score(point) > score(best) + 1e-4:
            best, best_state, best_step, waited = point, copy.deepcopy(module.state_dict()), steps, 0
        else:
            waited += 1
            if waited >= patience:
                break
    if best_state is not None:
        module.load_state_dict(best_state)
    return {"steps_run": steps, "kept_step": best_step, "val_pairs": len(val), "train_pairs": len(train),
            "stop_on": stop_on if val else None, "curve": curve,
            "final_loss": history[-1].loss if history else None,
            "final_margin": history[-1].margin if history else None,
            "first_margins": [round(h.margin, 4) for h in history[:3]]}


def run(
    *,
    setting: Setting,
    policy: str | Path,
    judge: Any,
    out_dir: str | Path,
    seeds: Sequence[int],
    strategies: Sequence[str],
    n_prompts: int,
    n_candidates: int,
    eval_samples: int,
    aligner_options: dict[str, Any],
    registry: Any,
    sft_baseline: bool = True,
    trained_strategies: Sequence[str] | None = None,
    patience: int = 2,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """The method (two-stage pairs, Diffusion-DPO), the selection ablation and the supervised baseline.
    ``trained_strategies``: the strategies whose pairs train a policy (default: all); the others' pairs are
    built and scored by the oracle only (their precision). ``patience``: checks without a better held-out
    loss before a run stops (see :func:`train_with_early_stopping`)."""
    from unireward_sdk.pairs import SamplerSource

    from . import pairs as P

    out_dir = Path(out_dir)
    stop_on = aligner_options.get("stop_on", "loss")
    options = aligner_settings(aligner_options)
    max_steps = int(options.pop("max_steps"))
    if trained_strategies is not None and not set(trained_strategies) <= set(strategies):
        raise ValueError(f"trained_strategies {sorted(trained_strategies)} must be among the strategies "
                         f"{sorted(strategies)}")
    if stop_on != "budget" and stop_on not in STOP_CRITERIA:
        raise ValueError(f"stop_on must be 'budget' or one of {sorted(STOP_CRITERIA)}, got {stop_on!r}")

    def aligner(seed: int, sample_dir: Path, **extra: Any) -> Any:
        return registry.aligner(setting.aligner, model=str(policy), output_dir=str(out_dir / "runs"),
                                sample_dir=str(sample_dir), seed=seed, max_steps=max_steps,
                                **{"lora": False, **options, **extra})

    _, held_out = split(setting.truths)
    evaluator = Evaluator(held_out, eval_samples, out_dir / "eval", steps=options.get("sample_steps"),
                          guidance=options.get("guidance_scale"))
    base = aligner(0, out_dir / "candidates")
    log(f"sampling {eval_samples} outputs for each of {len(held_out)} held-out captions from the pretrained policy")
    before = evaluator(base, "before")
    results: dict[str, Any] = {"before": before, "runs": {}, "eval_captions": len(held_out),
                               "train_captions": len(setting.truths) - len(held_out), "eval_samples": eval_samples,
                               "max_steps": max_steps, "beta": options.get("beta"), "stop_on": stop_on,
                               "objective": objective_label(options), "update": update_label(options)}
    for seed in seeds:
        prompts, truth = training_prompts(setting, seed, n_prompts)
        base.config.sample_dir = str(out_dir / "candidates" / f"seed{seed}")
        pool = P.SharedPool(SamplerSource(base, prompts, n=n_candidates, seed=seed))

        def quality(pair: Any, side: str) -> float:
            return oracle_score(getattr(pair, side).path, truth[pair.prompt_id])

        runs = [(s, s, {}) for s in strategies]
        if sft_baseline and "two_stage" in strategies:
            # the baseline is SFT alone: no DPO term, so no SFT weight on one either
            runs.append((SFT, "two_stage", {"objective": "sft", "sft_weight": 0.0}))
        built: dict[str, Any] = {}
        for name, strategy, extra in runs:
            if strategy not in built:
                log(f"seed {seed}: {strategy} pairs from {n_prompts} prompts x {n_candidates} candidates")
                job_dir = out_dir / "pairs" / f"{strategy}-seed{seed}"
                built[strategy] = (*P.build_pairs(setting.task, pool, judge, strategy, job_dir, seed=seed,
                                                  registry=registry), job_dir)
            pairs, summary, job_dir = built[strategy]
            run: dict[str, Any] = {"strategy": strategy, "objective": objective_label({**options, **extra}),
                                   "seed": seed, "pairs": len(pairs), "dropped": summary.get("dropped", {}),
                                   "pair_dir": str(job_dir), "agreement": P.pair_agreement(pairs, quality),
                                   "judge_answers": P.judge_answer_counts(summary)}
            if name == "two_stage":  # the method's pairs: what they can teach, per value a caption names
                run["pairs_by_value"] = pairs_by_caption_value(pairs, truth)
            if trained_strategies is not None and strategy not in trained_strategies:
                run["after"] = None
                run["note"] = "pairs built to measure their precision only: this profile does not train on them"
            elif len(pairs) >= MIN_PAIRS:
                # "budget": no pair is held out, the whole step budget is trained (see STOP_CRITERIA)
                train, val = validation_split(pairs) if stop_on != "budget" else (list(pairs), [])
                policy_run = aligner(seed, out_dir / "runs" / f"{name}-seed{seed}", **extra)
                what = "supervised fine-tuning on the chosen side of" if extra else "Diffusion-DPO on"
                held = f"{len(val)} held out to stop on" if val else f"all of them, {max_steps} steps"
                log(f"seed {seed}: {what} {len(train)} {strategy} pairs ({held})")
                run["train"] = train_with_early_stopping(policy_run, train, val, max_steps=max_steps, seed=seed,
                                                         patience=patience, stop_on=stop_on)
                run["after"], run["after_source"] = evaluate_after(evaluator, policy_run, f"{name}-seed{seed}",
                                                                   run["train"], before)
            else:
                run["after"] = None
                run["note"] = (f"{len(pairs)} pair(s) kept, fewer than {MIN_PAIRS}: too few to train on and hold "
                               "some out to stop on, so the policy was not trained")
            results["runs"][f"{name}/{seed}"] = run
        results.setdefault("candidates", {})[seed] = _candidate_quality(pool, truth)
    return results


def evaluate_after(evaluator: Evaluator, policy: Any, tag: str, train: dict[str, Any],
                   before: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """(the trained policy's evaluation, where it comes from). When early stopping kept step 0, the policy
    holds the pretrained weights exactly and the evaluator's sampling seeds are fixed, so its samples would be
    the pretrained policy's, file for file: the "before" evaluation is reused ("before") instead of drawn
    again ("sampled"). A video policy's evaluation takes about as long as ten training steps."""
    if train.get("kept_step") == 0:
        return before, "before"
    return evaluator(policy, tag), "sampled"


def aligner_settings(options: dict[str, Any]) -> dict[str, Any]:
    """A profile's generation options without the testbed's own keys (``stop_on``), for the aligner."""
    return {k: v for k, v in options.items() if k != "stop_on"}


def objective_label(options: dict[str, Any]) -> str:
    """What a run minimises, as the report names it: ``dpo``, ``sft``, or ``dpo + sft (weight w)``."""
    objective = options.get("objective", "dpo")
    weight = float(options.get("sft_weight") or 0.0)
    return f"{objective} + sft (weight {weight:g})" if objective == "dpo" and weight else objective


def update_label(options: dict[str, Any]) -> str:
    """Which weights a run trains, as the report names it: ``full fine-tuning`` or ``LoRA r8 on attn2.to_k,
    attn2.to_v``."""
    from unireward_sdk.alignment.config import AlignerConfig

    if not options.get("lora"):  # run() fine-tunes every weight unless the options ask for a LoRA
        return "full fine-tuning"
    targets = options.get("lora_target_modules") or ("the attention projections",)
    return f"LoRA r{options.get('lora_r', AlignerConfig.lora_r)} on {', '.join(targets)}"


def _candidate_quality(pool: Any, truth: dict[str, Any]) -> dict[str, float]:
    """Oracle score of every sampled candidate: the pool's mean and the mean of each prompt's best."""
    means, best = [], []
    for group in pool.all_groups():
        scores = [oracle_score(c.path, truth[group.prompt_id]) for c in group.candidates]
        means.append(sum(scores) / len(scores))
        best.append(max(scores))
    return {"mean": sum(means) / len(means), "best_of_n": sum(best) / len(best)} if means else {}
