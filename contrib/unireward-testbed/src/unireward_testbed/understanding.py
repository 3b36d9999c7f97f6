"""Image and video understanding in the testbed: the question-answering policy samples answers, the judge
builds pairs, DPO (the SDK's ``vlm_dpo`` aligner, trl) trains, and the answer grader measures accuracy.

One policy answers questions about images and about videos, as LLaVA-style policies do. Accuracy is
measured two ways on held-out questions: the mean correctness of answers *sampled* at temperature 1 (how
often the policy's answer distribution is right; what DPO moves first) and of the *greedy* answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .media import save_image, save_video
from .oracle import grade_answer
from .world import Question, World, render_motion, render_scene

TASKS = ("image_understanding", "video_understanding")


def questions(task: str, world_seed: int, n: int, media_dir: Path, prefix: str, *,
              exclude: frozenset = frozenset()) -> list[tuple[Any, Question]]:
    """``n`` questions of ``task`` as pair-job prompts (context media written under ``media_dir``), skipping
    any (truth, question) in ``exclude``: evaluation questions are never ones a pair was built from."""
    from unireward_sdk.pairs import PromptRecord

    world = World(world_seed)
    out = []
    i = 0
    while len(out) < n:
        truth, question = world.scene_question(i) if task == "image_understanding" else world.motion_question(i)
        i += 1
        if (repr(truth), question.text) in exclude:
            continue
        pid = f"{prefix}-{len(out):03d}"
        if task == "image_understanding":
            context = save_image(render_scene(truth), media_dir / f"{pid}.png")
        else:
            context = save_video(render_motion(truth), media_dir / f"{pid}.mp4")
        record = PromptRecord(index=len(out), prompt_id=pid, task=task, question=question.text, context=(context,),
                              meta={"truth": repr(truth)})
        out.append((record, question))
    return out


def _asked(items: Sequence[tuple[Any, Question]]) -> frozenset:
    """The (truth, question) combinations of ``items``, read back from the records."""
    return frozenset((r.meta["truth"], q.text) for r, q in items)


def evaluate(aligner: Any, items: Sequence[tuple[Any, Question]], *, k: int, seed: int = 4321) -> dict[str, Any]:
    """Sampled accuracy (mean over ``k`` answers per question) and greedy accuracy, per question."""
    from .policies import greedy_answers

    prompts = [r.question for r, _ in items]
    contexts = [list(r.context) for r, _ in items]
    sampled = aligner.sample(prompts, k, seed=seed, contexts=contexts)
    per_sampled = [sum(grade_answer(c.text, q) for c in row) / len(row) for row, (_, q) in zip(sampled, items)]
    greedy = greedy_answers(aligner.model, aligner.processor, prompts, [c[0] for c in contexts])
    per_greedy = [grade_answer(a, q) for a, (_, q) in zip(greedy, items)]
    examples = [{"question": r.question, "context": r.context[0], "gold": q.answer, "greedy": a,
                 "samples": [c.text for c in row]} for (r, q), a, row in zip(items[:6], greedy, sampled)]
    return {"sampled": per_sampled, "greedy": per_greedy, "examples": examples}


def run(
    *,
    policy: str | Path,
    judge_for: Callable[[str], Any],
    out_dir: str | Path,
    seed: int,
    n_prompts: int,
    n_candidates: int,
    n_eval: int,
    eval_samples: int,
    aligner_options: dict[str, Any],
    registry: Any,
    sft_baseline: bool = True,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Sample answers, build two-stage pairs per task, train one DPO policy on all pairs (and, with
    ``sft_baseline``, one SFT policy on their chosen answers), measure both tasks on held-out questions."""
    from unireward_sdk.pairs import SamplerSource

    from . import pairs as P

    out_dir = Path(out_dir)

    def aligner(name: str, **extra: Any) -> Any:
        return registry.aligner("vlm_dpo", model=str(policy), output_dir=str(out_dir / "runs" / name),
                                seed=seed, **{"lora": False, **aligner_options, **extra})

    policy_run = aligner("dpo")
    objective = " + ".join(policy_run.config.loss_type)
    train_items = {t: questions(t, seed + 2000 + i, n_prompts, out_dir / "media", f"{t[:5]}-train")
                   for i, t in enumerate(TASKS)}
    eval_items = {t: questions(t, seed + 3000 + i, n_eval, out_dir / "media", f"{t[:5]}-eval",
                               exclude=_asked(train_items[t]))
                  for i, t in enumerate(TASKS)}
    results: dict[str, Any] = {"tasks": {}, "objective": objective,
                               "held_out": "evaluation questions exclude every (media, question) a pair was built from"}
    log(f"measuring the QA policy on {n_eval} held-out questions per task")
    before = {t: evaluate(policy_run, eval_items[t], k=eval_samples) for t in TASKS}
    all_pairs = []
    for task in TASKS:
        truth = {r.prompt_id: q for r, q in train_items[task]}
        source = SamplerSource(policy_run, [r for r, _ in train_items[task]], n=n_candidates, seed=seed)
        pool = P.SharedPool(source)
        log(f"{task}: two-stage pairs from {n_prompts} questions x {n_candidates} sampled answers")
        pairs, summary = P.build_pairs(task, pool, judge_for(task), "two_stage", out_dir / "pairs" / task,
                                       seed=seed, registry=registry)

        def quality(pair: Any, side: str, truth=truth) -> float:
            return grade_answer(getattr(pair, side).text, truth[pair.prompt_id])

        candidate_acc = [grade_answer(c.text, truth[g.prompt_id]) for g in pool.all_groups() for c in g.candidates]
        results["tasks"][task] = {
            "pairs": len(pairs), "dropped": summary.get("dropped", {}), "pair_dir": str(out_dir / "pairs" / task),
            "agreement": P.pair_agreement(pairs, quality),
            "distinct_pairs": sum(p.chosen.text != p.rejected.text for p in pairs),
            "candidate_accuracy": sum(candidate_acc) / len(candidate_acc) if candidate_acc else None,
            "before": before[task],
        }
        all_pairs += pairs
    trainable = [p for p in all_pairs if p.chosen.text != p.rejected.text]
    results["pairs_trained"] = len(trainable)
    if not trainable:
        results["note"] = "no pair with two different answers was kept, so the policy was not trained"
        return results
    log(f"DPO ({objective}) on {len(trainable)} pairs (image and video questions together)")
    results["train"] = _train(policy_run, trainable)
    for task in TASKS:
        results["tasks"][task]["after"] = evaluate(policy_run, eval_items[task], k=eval_samples)
    if sft_baseline:
        del policy_run  # one policy in memory at a time
        baseline = aligner("sft", loss_type=("sft",), loss_weights=None)
        log(f"the supervised baseline: SFT on the chosen answers of the same {len(trainable)} pairs")
        results["sft_train"] = _train(baseline, trainable)
        results["sft_baseline"] = "sft"
        for task in TASKS:
            results["tasks"][task]["sft"] = evaluate(baseline, eval_items[task], k=eval_samples)
    return results


def _train(policy_run: Any, pairs: Sequence[Any]) -> dict[str, Any]:
    summary = policy_run.train(pairs)
    history = summary.history
    return {"steps": summary.steps, "final_loss": history[-1].loss if history else None,
            "final_accuracy": history[-1].accuracy if history else None,
            "final_margin": history[-1].margin if history else None}
