"""Image and video understanding in the testbed: the question-answering policy samples answers, the judge
builds pairs, DPO (the SDK's ``vlm_dpo`` aligner, trl) trains, and the answer grader measures accuracy.

One policy answers questions about images and about videos, as LLaVA-style policies do. Accuracy is
measured two ways on held-out questions: the mean correctness of answers *sampled* at temperature 1 (how
often the policy's answer distribution is right; what DPO moves first) and of the *greedy* answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from .media import save_image, save_video
from .oracle import grade_answer
from .pairs import PAIR_KINDS, pair_kind
from .preferences import PAIRED_ANSWER_CHECKS, winner_by_checks
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


def split(seeds: Sequence[int], eval_seed: int, n_prompts: int, n_eval: int, media_dir: Path) -> tuple[dict, dict]:
    """Training questions per policy seed and task, and the held-out questions per task (drawn under
    ``eval_seed``), which exclude every training question of every seed."""
    train = {s: {t: questions(t, s + 2000 + i, n_prompts, media_dir, f"{t[:5]}-s{s}-train")
                 for i, t in enumerate(TASKS)} for s in seeds}
    asked = {t: frozenset().union(*(_asked(train[s][t]) for s in seeds)) for t in TASKS}
    held_out = {t: questions(t, eval_seed + 3000 + i, n_eval, media_dir, f"{t[:5]}-eval", exclude=asked[t])
                for i, t in enumerate(TASKS)}
    return train, held_out


def pairs_by_answer(pairs: Sequence[Any], truth: dict[str, Question]) -> dict[str, dict[str, int]]:
    """Per gold answer, how many pairs have the chosen answer right, the rejected one right, both or
    neither (``PAIR_KINDS``). A judge that gets one value wrong (a colour, a position) shows up here as
    pairs that prefer the wrong answer for that gold answer, and DPO on them teaches the policy the
    judge's mistake; the overall pair precision hides that."""
    out: dict[str, dict[str, int]] = {}
    for pair in pairs:
        question = truth[pair.prompt_id]
        kind = pair_kind(grade_answer(pair.chosen.text, question) == 1.0,
                         grade_answer(pair.rejected.text, question) == 1.0)
        out.setdefault(question.answer, dict.fromkeys(PAIR_KINDS, 0))[kind] += 1
    return dict(sorted(out.items()))


_RANKED = re.compile(r"#rank:(\d+)-(\d+)$")  # the pair_ranking filter's item id: candidates A and B
CHECK_COUNTS = ("ranked", "verdict_right", "checks_decisive", "checks_right", "comparisons", "contradicting")


def verdicts_against_checks(rows: Iterable[Mapping[str, Any]], truth: Mapping[str, Question]) -> dict[str, int]:
    """The judge's pair-ranking verdicts against the verdict its own written checks imply.

    ``rows`` are a pair dataset's records (``PairDataset(dir).rows()``). Over the ranked pairs with exactly
    one right answer (``ranked``): how often the judge's own verdict picks it (``verdict_right``); how often the two
    checks disagree, one answer's named value matching the value the judge says is shown and the other's
    not (``checks_decisive``), and how often that implied verdict picks the right answer (``checks_right``).
    Over every check written (``comparisons``): how often its yes / no contradicts the two values just
    before it (``contradicting``). A judge that perceives but cannot compare shows a high ``checks_right``
    next to a low ``verdict_right``."""
    counts = dict.fromkeys(CHECK_COUNTS, 0)
    for row in rows:
        question = truth[row["prompt_id"]]
        texts = [c.get("text") or "" for c in row["candidates"]]
        for verdict in row["record"].get("verdicts") or ():
            raw = verdict.get("raw") or ""
            for _, named, shown, said in PAIRED_ANSWER_CHECKS.findall(raw):
                counts["comparisons"] += 1
                counts["contradicting"] += (said == "yes") != (named == shown)
            ranked = _RANKED.search(verdict.get("item_id") or "")
            if ranked is None:
                continue
            right = [grade_answer(texts[int(i)], question) == 1.0 for i in ranked.groups()]
            if right[0] == right[1]:
                continue  # both right or both wrong: no verdict is right
            counts["ranked"] += 1
            truth_label = "A" if right[0] else "B"
            # the judge's own verdict, also when a readout decided from its checks (judges.ChecksReadout)
            own = ((verdict.get("provenance") or {}).get("extra") or {}).get("judge_winner", verdict.get("winner"))
            counts["verdict_right"] += own == truth_label
            implied = winner_by_checks(raw)
            if implied is not None:
                counts["checks_decisive"] += 1
                counts["checks_right"] += implied == truth_label
    return counts


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
    seeds: Sequence[int] | None = None,
    sft_baseline: bool = True,
    log: Callable[[str], None] = lambda _m: None,
) -> dict[str, Any]:
    """Per policy seed: sample answers, build two-stage pairs per task, train one DPO policy on all pairs
    (and, with ``sft_baseline``, one SFT policy on their chosen answers). Every seed is measured on the same
    held-out questions of both tasks, drawn under ``seed``.

    A policy seed draws its own training questions and samples its own candidates, and seeds the training
    run: what changes between seeds is what a rerun of the recipe would change. ``seeds`` defaults to
    ``(seed,)``.
    """
    out_dir = Path(out_dir)
    seeds = list(seeds) if seeds is not None else [seed]

    def aligner(name: str, run_seed: int, **extra: Any) -> Any:
        return registry.aligner("vlm_dpo", model=str(policy), output_dir=str(out_dir / "runs" / name),
                                seed=run_seed, **{"lora": False, **aligner_options, **extra})

    train_items, eval_items = split(seeds, seed, n_prompts, n_eval, out_dir / "media")
    policy_run = aligner(f"dpo-seed{seeds[0]}", seeds[0])  # the untrained policy: measured once, then seed 0's run
    objective = " + ".join(policy_run.config.loss_type)
    results: dict[str, Any] = {
        "objective": objective, "seeds": seeds, "runs": {},
        "held_out": "evaluation questions exclude every (media, question) a pair was built from, for every seed",
    }
    log(f"measuring the QA policy on {n_eval} held-out questions per task")
    results["before"] = {t: evaluate(policy_run, eval_items[t], k=eval_samples) for t in TASKS}
    for s in seeds:
        if policy_run is None:
            policy_run = aligner(f"dpo-seed{s}", s)
        results["runs"][s], trainable = _run_seed(
            policy_run, train_items[s], eval_items, s, out_dir / "pairs" / f"seed{s}", judge_for=judge_for,
            n_candidates=n_candidates, eval_samples=eval_samples, registry=registry, log=log)
        policy_run = None  # one policy in memory at a time
        if sft_baseline and trainable:
            baseline = aligner(f"sft-seed{s}", s, loss_type=("sft",), loss_weights=None)
            log(f"seed {s}: the supervised baseline, SFT on the chosen answers of the same {len(trainable)} pairs")
            results["runs"][s]["sft_train"] = _train(baseline, trainable)
            results["runs"][s]["sft"] = {t: evaluate(baseline, eval_items[t], k=eval_samples) for t in TASKS}
            del baseline
    return results


def _run_seed(policy_run: Any, train_items: dict[str, Any], eval_items: dict[str, Any], seed: int, pair_root: Path, *,
              judge_for: Callable[[str], Any], n_candidates: int, eval_samples: int, registry: Any,
              log: Callable[[str], None]) -> tuple[dict[str, Any], list[Any]]:
    """One policy seed: pairs for both tasks from the untrained policy's answers, DPO on all of them.
    Returns the seed's figures and the pairs it trained on (for the SFT baseline)."""
    from unireward_sdk.pairs import SamplerSource
    from unireward_sdk.pairs.store import PairDataset

    from . import pairs as P

    out: dict[str, Any] = {"tasks": {}}
    all_pairs = []
    for task in TASKS:
        truth = {r.prompt_id: q for r, q in train_items[task]}
        source = SamplerSource(policy_run, [r for r, _ in train_items[task]], n=n_candidates, seed=seed)
        pool = P.SharedPool(source)
        log(f"seed {seed}, {task}: two-stage pairs from {len(truth)} questions x {n_candidates} sampled answers")
        pairs, summary = P.build_pairs(task, pool, judge_for(task), "two_stage", pair_root / task, seed=seed,
                                       registry=registry)

        def quality(pair: Any, side: str, truth=truth) -> float:
            return grade_answer(getattr(pair, side).text, truth[pair.prompt_id])

        candidate_acc = [grade_answer(c.text, truth[g.prompt_id]) for g in pool.all_groups() for c in g.candidates]
        out["tasks"][task] = {
            "pairs": len(pairs), "dropped": summary.get("dropped", {}), "pair_dir": str(pair_root / task),
            "agreement": P.pair_agreement(pairs, quality),
            "distinct_pairs": sum(p.chosen.text != p.rejected.text for p in pairs),
            "candidate_accuracy": sum(candidate_acc) / len(candidate_acc) if candidate_acc else None,
            "by_answer": pairs_by_answer(pairs, truth),
            "checks": verdicts_against_checks(PairDataset(pair_root / task).rows(), truth),
        }
        all_pairs += pairs
    trainable = [p for p in all_pairs if p.chosen.text != p.rejected.text]
    out["pairs_trained"] = len(trainable)
    if not trainable:
        out["note"] = "no pair with two different answers was kept, so the policy was not trained"
        return out, trainable
    log(f"seed {seed}: DPO ({' + '.join(policy_run.config.loss_type)}) on {len(trainable)} pairs "
        "(image and video questions together)")
    out["train"] = _train(policy_run, trainable)
    out["after"] = {t: evaluate(policy_run, eval_items[t], k=eval_samples) for t in TASKS}
    return out, trainable


def _train(policy_run: Any, pairs: Sequence[Any]) -> dict[str, Any]:
    summary = policy_run.train(pairs)
    history = summary.history
    return {"steps": summary.steps, "final_loss": history[-1].loss if history else None,
            "final_accuracy": history[-1].accuracy if history else None,
            "final_margin": history[-1].margin if history else None}
