"""Image generation in the testbed: the text-to-image policy samples, the judge builds pairs, Diffusion-DPO
trains, and the pixel oracle measures the policy before and after.

The policy is trained and sampled by the SDK's ``diffusion_dpo`` aligner. Evaluation covers every caption
of the world (48 shape x colour x place combinations) with fixed sampling seeds, so "before" and "after"
see the same starting noise and differ only by the policy's weights.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .oracle import judge_image
from .world import COLOURS, POSITIONS, SHAPES, Scene, World

TASK = "image_generation"


def all_scenes() -> list[Scene]:
    """Every single-shape caption of the world, in a fixed order."""
    return [Scene(shape, colour, position) for shape, colour, position in itertools.product(SHAPES, COLOURS, POSITIONS)]


def oracle_score(path: str, scene: Scene) -> float:
    from PIL import Image

    with Image.open(path) as img:
        return judge_image(img.convert("RGB"), scene).score


class T2IEvaluator:
    """Samples ``k`` images for each evaluation caption with fixed seeds and scores them with the oracle."""

    def __init__(self, scenes: Sequence[Scene], k: int, out_dir: str | Path, *, seed: int = 12345,
                 steps: int | None = None, guidance: float | None = None):
        self.scenes = list(scenes)
        self.k = k
        self.out_dir = Path(out_dir)
        self.seed = seed
        self.steps = steps
        self.guidance = guidance

    def __call__(self, aligner: Any, tag: str) -> dict[str, Any]:
        rows = aligner.sample([s.caption() for s in self.scenes], self.k, seed=self.seed,
                              out_dir=self.out_dir / tag, num_inference_steps=self.steps,
                              guidance_scale=self.guidance)
        per_prompt, attributes, paths = [], {}, []
        for scene, row in zip(self.scenes, rows):
            scores = []
            for candidate in row:
                from PIL import Image

                with Image.open(candidate.path) as img:
                    judgement = judge_image(img.convert("RGB"), scene)
                scores.append(judgement.score)
                for name, ok in judgement.matches.items():
                    attributes.setdefault(name, []).append(float(ok))
            per_prompt.append(sum(scores) / len(scores))
            paths.append([c.path for c in row])
        return {"per_prompt": per_prompt, "attributes": {a: sum(v) / len(v) for a, v in attributes.items()},
                "paths": paths, "captions": [s.caption() for s in self.scenes]}


def training_prompts(seed: int, n: int) -> tuple[list[Any], dict[str, Scene]]:
    """``n`` captions drawn from the world under ``seed``, as pair-job prompts, and each prompt's truth."""
    from unireward_sdk.pairs import PromptRecord

    scenes = World(seed + 1000).scenes(n)
    records = [PromptRecord(index=i, prompt_id=f"t2i-{i:03d}", task=TASK, prompt=s.caption())
               for i, s in enumerate(scenes)]
    return records, {r.prompt_id: s for r, s in zip(records, scenes)}


def run(
    *,
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
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """The method (two-stage pairs, DPO) and the selection ablation on the text-to-image policy."""
    from unireward_sdk.pairs import SamplerSource

    from . import pairs as P

    out_dir = Path(out_dir)
    options = dict(aligner_options)

    def aligner(seed: int, sample_dir: Path) -> Any:
        return registry.aligner("diffusion_dpo", model=str(policy), output_dir=str(out_dir / "runs"),
                                sample_dir=str(sample_dir), lora=False, seed=seed, **options)

    evaluator = T2IEvaluator(all_scenes(), eval_samples, out_dir / "eval", steps=options.get("sample_steps"),
                             guidance=options.get("guidance_scale"))
    base = aligner(0, out_dir / "candidates")
    log(f"sampling {eval_samples} images for each of {len(evaluator.scenes)} captions from the pretrained policy")
    before = evaluator(base, "before")
    results: dict[str, Any] = {"before": before, "runs": {}, "eval_captions": len(evaluator.scenes),
                               "eval_samples": eval_samples}
    for seed in seeds:
        prompts, truth = training_prompts(seed, n_prompts)
        base.config.sample_dir = str(out_dir / "candidates" / f"seed{seed}")
        pool = P.SharedPool(SamplerSource(base, prompts, n=n_candidates, seed=seed))

        def quality(pair: Any, side: str) -> float:
            return oracle_score(getattr(pair, side).path, truth[pair.prompt_id])

        for strategy in strategies:
            log(f"seed {seed}: {strategy} pairs from {n_prompts} prompts x {n_candidates} candidates")
            job_dir = out_dir / "pairs" / f"{strategy}-seed{seed}"
            pairs, summary = P.build_pairs(TASK, pool, judge, strategy, job_dir, seed=seed, registry=registry)
            run: dict[str, Any] = {"strategy": strategy, "seed": seed, "pairs": len(pairs),
                                   "dropped": summary.get("dropped", {}), "pair_dir": str(job_dir),
                                   "agreement": P.pair_agreement(pairs, quality)}
            if pairs:
                policy_run = aligner(seed, out_dir / "runs" / f"{strategy}-seed{seed}")
                log(f"seed {seed}: Diffusion-DPO on {len(pairs)} {strategy} pairs")
                trained = policy_run.train(pairs)
                run["train"] = {"steps": len(trained.history) if hasattr(trained, "history") else None,
                                "final_loss": _last(trained, "loss"), "final_accuracy": _last(trained, "accuracy")}
                run["after"] = evaluator(policy_run, f"{strategy}-seed{seed}")
            else:
                run["after"] = None
                run["note"] = "no pairs were kept, so the policy was not trained"
            results["runs"][f"{strategy}/{seed}"] = run
        results.setdefault("candidates", {})[seed] = _candidate_quality(pool, truth)
    return results


def _last(summary: Any, name: str) -> float | None:
    history = getattr(summary, "history", None) or []
    return float(getattr(history[-1], name)) if history else None


def _candidate_quality(pool: Any, truth: dict[str, Scene]) -> dict[str, float]:
    """Oracle score of every sampled candidate: the pool's mean and the mean of each prompt's best."""
    means, best = [], []
    for group in pool.all_groups():
        scores = [oracle_score(c.path, truth[group.prompt_id]) for c in group.candidates]
        means.append(sum(scores) / len(scores))
        best.append(max(scores))
    return {"mean": sum(means) / len(means), "best_of_n": sum(best) / len(best)} if means else {}
