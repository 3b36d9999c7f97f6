"""Judges in the testbed: simulated preference data, the joint-vs-single-task comparison, and the judge that
builds pairs.

Training goes through the SDK's judge trainer (:func:`unireward_sdk.training.run_ablation`, which trains
every judge with :func:`~unireward_sdk.training.train_generative_judge` on a matched budget). Accuracy is
measured against the simulator's kept truth, not its noisy labels. Each judge is then re-judged on the same
held-out pairs, in the same seeded order, with the evaluation harness, so that per-pair correctness is at
hand for a paired bootstrap of the joint-minus-single difference.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from unireward_sdk.records import ParseStatus

from .preferences import ANSWER_CHECK, TASKS, PreferenceSimulator, winner_by_checks
from .vlm import JUDGE_FAMILY


def write_preferences(root: str | Path, *, seed: int, noise: float, n_train: int, n_eval: int,
                      tasks: Sequence[str] = TASKS, reasoning: bool = True) -> tuple[Path, Path]:
    """Training records (pairwise and pointwise, alternating) and pairwise evaluation records, as JSONL.

    Train and eval use disjoint world indices (the simulator's splits). ``reasoning``: the records carry
    the annotator's checks, written by the judge before its answer (see :mod:`.preferences`)."""
    root = Path(root)
    sim = PreferenceSimulator(root, seed=seed, noise=noise, reasoning=reasoning)
    train = sim.write(root / "train.jsonl", tasks=tasks, n_per_task=n_train, split="train")
    evals = sim.write(root / "eval.jsonl", tasks=tasks, n_per_task=n_eval, split="eval", mode="pairwise")
    return train, evals


def training_config(*, steps: int, batch_size: int, lr: float, seed: int, **extra: Any):
    """The trainer settings the testbed uses: full fine-tuning of the tiny judge (LoRA adapters on a
    0.8M-parameter model only slow learning down), vision tower frozen, pairwise evaluation with the
    generative head (the judge writes its checks before the verdict, which a single-pass readout skips)."""
    from unireward_sdk.training import JudgeTrainingConfig

    settings = {"eval_head": "generative", **extra}
    return JudgeTrainingConfig(max_steps=steps, batch_size=batch_size, learning_rate=lr, seed=seed, lora=False,
                               freeze_vision=True, family=JUDGE_FAMILY, lr_scheduler_type="linear",
                               warmup_steps=max(1, steps // 10), eval_pointwise=False, eval_batch_size=32,
                               log_every=max(1, steps // 5), **settings)


def judge_head(checkpoint: str | Path, task: str, *, head: str = "generative", registry: Any = None,
               backend: Any = None, batch_size: int = 32) -> Any:
    """A reward head over a testbed judge (the transformers backend, CPU unless a GPU is present);
    generative by default, as the judges reason before they answer."""
    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    if backend is None:
        backend = registry.backend("transformers", checkpoint=str(checkpoint), family=JUDGE_FAMILY,
                                   batch_size=batch_size)
    return registry.reward_head(head, backend=backend, task=task, registry=registry, batch_size=batch_size)


VERDICT_KINDS = ("A", "B", "tie", "failed")  # a judge's possible answers on a held-out pair


def held_out_verdicts(checkpoint: str | Path, eval_file: str | Path, tasks: Sequence[str], *, seed: int,
                      registry: Any = None) -> dict[str, dict[str, Any]]:
    """Per task: whether the judge's verdict on each held-out pair matches the truth (the trainer's order),
    and how often it answered A, B, tie or nothing parseable: a judge that says the same thing for every
    pair scores the share of that label in the truth, and the mix shows it."""
    from collections import Counter

    from unireward_sdk.evaluation import metrics as M
    from unireward_sdk.evaluation.benchmarks import BenchmarkExample
    from unireward_sdk.evaluation.runner import evaluate_pairwise
    from unireward_sdk.training import load_records

    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    records = [r for r in load_records(eval_file) if r.mode == "pairwise"]
    backend = registry.backend("transformers", checkpoint=str(checkpoint), family=JUDGE_FAMILY, batch_size=32)
    out = {}
    for task in tasks:
        mine = [r for r in records if r.task == task]
        examples = [BenchmarkExample(item=r.item(f"{r.id}#{i}"), label=r.truth) for i, r in enumerate(mine)]
        head = judge_head(checkpoint, task, registry=registry, backend=backend)
        judged = evaluate_pairwise(head, examples, seed=seed, chunk_size=32)
        predictions = [j.prediction for j in judged]
        labels = [j.label for j in judged]
        mix = Counter("failed" if p is None else p for p in predictions)
        # the best constant answer on these pairs: what a judge that learned nothing but the label mix scores
        constant = Counter(labels).most_common(1)[0][0] if labels else None
        out[task] = {"correct": M.correct_flags(predictions, labels),
                     "constant_correct": [float(label == constant) for label in labels],
                     "verdicts": {k: mix.get(k, 0) for k in VERDICT_KINDS}}
    return out


def measure_shipped_judges(checkpoints: str | Path | None, eval_file: Path, *, seed: int, registry: Any = None,
                           log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The build command's joint judge and single-task judges (``judge`` and ``judge_single/<task>``, same
    recipe and steps), each judged on the held-out pairs of ``eval_file`` like
    :func:`compare_joint_and_single` judges the ones it trains."""
    from . import checkpoints as C

    tasks = [t for t in TASKS if any(True for _ in _records_of(eval_file, t))]
    joint = C.require("judge", checkpoints)
    if log:
        log(f"judging {len(tasks)} tasks' held-out pairs with the shipped joint judge")
    judged = {"joint": held_out_verdicts(joint, eval_file, tasks, seed=seed, registry=registry)}
    for task in tasks:
        if log:
            log(f"judging the {task} pairs with the shipped {task} judge")
        judged[task] = held_out_verdicts(C.require(f"judge_single/{task}", checkpoints), eval_file, [task], seed=seed,
                                         registry=registry)
    return {"judged": judged, "tasks": tasks, "joint_dir": None}


def _records_of(eval_file: Path, task: str):
    from unireward_sdk.training import load_records

    return (r for r in load_records(eval_file) if r.task == task and r.mode == "pairwise")


def compare_joint_and_single(train_file: Path, eval_file: Path, base_model: str | Path, out_dir: Path, *,
                             steps: int, batch_size: int, lr: float, seed: int, registry: Any = None,
                             log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Train the single-task judges and the joint judge (matched steps) and measure each on every task.

    Returns the trainer's report, each judge's held-out verdicts per task (per-pair correctness and the
    verdict mix, see :func:`held_out_verdicts`), and where the joint judge was saved."""
    from unireward_sdk.training import TrainingCallback, run_ablation

    class _Log(TrainingCallback):
        def on_start(self, run: str, total_steps: int) -> None:
            log(f"training the {run} judge ({total_steps} steps)")

        def on_eval(self, run: str, step: int, scores: Any) -> None:
            parts = [f"{t} {100 * s.accuracy:.0f}%" for t, s in scores.items() if s.accuracy is not None]
            log(f"{run} judge: " + ", ".join(parts))

    config = training_config(steps=steps, batch_size=batch_size, lr=lr, seed=seed)
    report = run_ablation(train_file, eval_file, base_model, out_dir, config, judge="generative",
                          registry=registry, callback=_Log() if log else None)
    tasks = list(report.tasks)
    judged = {"joint": held_out_verdicts(out_dir / "joint", eval_file, tasks, seed=seed, registry=registry)}
    for task in tasks:
        judged[task] = held_out_verdicts(out_dir / "single" / task, eval_file, [task], seed=seed, registry=registry)
    return {"report": report, "judged": judged, "joint_dir": out_dir / "joint", "tasks": tasks}


_BACKENDS: dict[str, Any] = {}


# How a pair-building judge's answer is read: "verdict", the verdict or score the judge writes last (the
# paper's readout), or "checks", decided from the values it wrote in its checks (understanding tasks only)
READOUTS = ("verdict", "checks")
CHECKS_TASKS = ("image_understanding", "video_understanding")


def pair_head(checkpoint: str | Path, task: str, *, registry: Any = None, readout: str = "verdict") -> Any:
    """The judge that builds pairs: the generative head (the testbed judges write their checks before the
    verdict or score, so a single-pass readout would skip what decides it); one loaded backend per
    checkpoint. ``readout = "checks"`` wraps it in :class:`ChecksReadout`."""
    if readout not in READOUTS:
        raise ValueError(f"unknown readout {readout!r}; choose one of {', '.join(READOUTS)}")
    if readout == "checks" and task not in CHECKS_TASKS:
        raise ValueError(f"the checks readout reads answer checks, which only {' and '.join(CHECKS_TASKS)} "
                         f"judges write; {task} has no such checks")
    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    key = str(Path(checkpoint).resolve())
    backend = _BACKENDS.get(key)
    if backend is None:
        backend = _BACKENDS[key] = registry.backend("transformers", checkpoint=str(checkpoint), family=JUDGE_FAMILY,
                                                    batch_size=32)
    head = judge_head(checkpoint, task, registry=registry, backend=backend)
    return ChecksReadout(head) if readout == "checks" else head


class ChecksReadout:
    """A pair-building judge whose understanding verdicts and scores are decided from its own checks.

    The testbed judges write, for each answer, the value it names and the value they see, then yes or no,
    then the verdict. They read both values well but compare them badly: their yes / no and verdict
    contradict the two values in about 40% of checks (``understanding.verdicts_against_checks``). This
    readout does the comparison in code: a pair goes to the answer whose named value matches the value
    shown, when exactly one does; a score is the top of the scale when they match, the bottom when they do
    not. Perception stays the judge's; only the comparison moves. It is not the paper's readout, so the
    demo reports which one ran. When the checks decide nothing, or the answer failed to parse, the judge's
    own result stands; a changed result keeps the judge's in ``provenance.extra`` (``judge_winner``,
    ``judge_value``).
    """

    def __init__(self, head: Any):
        self.head = head

    def __getattr__(self, name: str) -> Any:
        return getattr(self.head, name)  # everything else (task, backend, templates) is the judge's

    def judge_pairwise(self, items: Sequence[Any]) -> list[Any]:
        return [self._verdict(v) for v in self.head.judge_pairwise(items)]

    def score_pointwise(self, items: Sequence[Any]) -> list[Any]:
        return [self._score(s) for s in self.head.score_pointwise(items)]

    @staticmethod
    def _verdict(verdict: Any) -> Any:
        winner = winner_by_checks(verdict.raw or "")
        if verdict.status != ParseStatus.OK or winner is None:
            return verdict
        extra = {**verdict.provenance.extra, "readout": "checks", "judge_winner": verdict.winner}
        return attrs.evolve(verdict, winner=winner, provenance=attrs.evolve(verdict.provenance, extra=extra))

    @staticmethod
    def _score(score: Any) -> Any:
        check = ANSWER_CHECK.match(score.raw or "")
        if score.status != ParseStatus.OK or check is None or not score.scale:
            return score
        value = float(score.scale[1] if check.group(1) == check.group(2) else score.scale[0])
        extra = {**score.provenance.extra, "readout": "checks", "judge_value": score.value}
        return attrs.evolve(score, value=value, provenance=attrs.evolve(score.provenance, extra=extra))
