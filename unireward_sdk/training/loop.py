"""The loop every judge trainer shares; each reward head brings only its loss.

:func:`run_judge_training` does what does not depend on the head: reading the records, accelerate and the
seed, loading the judge through a backend, drawing task-mixed batches (``mix`` ratios, seeded), the
optimizer steps with gradient accumulation and clipping, evaluation every ``eval_every`` steps and at the
end, progress callbacks, resumable checkpoints (``save_every``, ``resume_from_checkpoint``), saving and the
:class:`~unireward_sdk.training.report.TrainReport`. A head's
:class:`JudgeLoss` says what one training unit is, what it trains (model, optimizer), how a batch of units
becomes a loss, which head evaluates, and what is saved. The generative SFT trainer
(:mod:`unireward_sdk.training.sft`) and the built-in ``scalar`` head's value-head trainer are two such
losses::

    class MyLoss(JudgeLoss):
        kind = "my_head"
        ...
    report = run_judge_training(MyLoss, "train.jsonl", "base_judge", "out", config)
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import attrs

from ..checkpoints import CHECKPOINT_PREFIX, find_checkpoint, restore_rng, rng_state
from ..errors import ConfigError, UniRewardError
from .callbacks import TrainingCallback
from .config import JudgeTrainingConfig
from .evaluate import TaskScore, evaluate_records
from .examples import mixture_stream
from .records import TrainingRecord, tasks_in
from .report import TrainReport
from .runtime import as_records, count_by_task, load_backend, make_accelerator


@attrs.frozen
class JudgeRun:
    """What the loop set up before the head's loss takes over (one training run)."""

    config: JudgeTrainingConfig
    registry: Any
    callback: TrainingCallback
    run_name: str
    base_model: str
    accelerator: Any
    backend: Any
    media: Any
    records: tuple[TrainingRecord, ...] = attrs.field(converter=tuple)


@attrs.frozen
class Optimization:
    """How the loop steps a head's parameters.

    ``model`` set: the accelerate-prepared model, stepped inside ``accelerator.accumulate`` with gradient
    clipping over ``clip`` (``max_grad_norm``) and the optional ``scheduler``; one optimizer step is
    ``micro_batches`` batches of ``batch_size`` units. ``model`` None: a plain torch step on one batch
    (parameters outside any accelerate-prepared model, such as a value head on cached features).
    """

    optimizer: Any
    batch_size: int
    micro_batches: int = 1
    model: Any = None
    scheduler: Any = None
    clip: tuple[Any, ...] = attrs.field(default=(), converter=tuple)
    trainable_parameters: int = 0


class JudgeLoss:
    """One head's part of judge training; the loop calls the methods in the order they are listed.

    A unit (a training example, a pair or a point) is anything with a ``task``; the loop draws unit
    indices, task-mixed. Subclasses set the class variables and implement the methods that raise here.
    """

    kind: ClassVar[str] = ""  # the report's kind ("generative", "scalar", ...)
    label: ClassVar[str] = "judge training"  # names the trainer in errors
    divergence_fix: ClassVar[str] = "Lower lr"  # what to do when the loss is not finite
    refusal: ClassVar[tuple[str, str]] = ("every training unit was refused", "Check the training data")

    def __init__(self, run: JudgeRun):
        self.run = run

    def units(self, records: Sequence[TrainingRecord]) -> Sequence[Any]:
        """The training units of ``records`` (each with a ``task``); raise when none is left."""
        raise NotImplementedError

    def describe(self, units: Sequence[Any]) -> str:
        """One line for the callback before training: what the units are and how the judge trains."""
        raise NotImplementedError

    def setup(self, units: Sequence[Any], steps: int) -> Optimization:
        """Make the trainable parts and their optimizer, for ``steps`` optimizer steps; leave them training."""
        raise NotImplementedError

    def prepare(self, indices: Sequence[int]) -> tuple[Any, Sequence[int]]:
        """(batch, refused): the batch of the units at ``indices``, or the indices this loss refuses (left
        out from then on, counted in the report; the loop draws again)."""
        return indices, ()

    def loss(self, batch: Any) -> Any:
        """The scalar loss tensor of one prepared batch (inside ``accelerator.accumulate`` when accelerated)."""
        raise NotImplementedError

    def learning_rate(self, optimization: Optimization) -> float:
        """The learning rate the callback reports after a step."""
        return float(optimization.optimizer.param_groups[0]["lr"])

    def evaluation_head(self, task: str) -> Any:
        """The reward head that judges ``task``'s evaluation records with the weights being trained."""
        raise NotImplementedError

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        """Around each evaluation: eval mode in, training mode back out."""
        yield

    def finish(self) -> None:
        """After the last step, before the final evaluation: make the backend hold the weights to save."""

    def save(self, folder: Path) -> str:
        """Write what was trained under ``folder``; returns the line the callback shows."""
        raise NotImplementedError

    def balance(self, units: Sequence[Any]) -> Mapping[str, Mapping[str, int]]:
        """The report's pairwise target balance (A / B / tie per task); empty when it does not apply."""
        return {}


def run_judge_training(
    loss_class: type[JudgeLoss],
    train: Any,
    base_model: str | Path,
    output_dir: str | Path | None = None,
    config: JudgeTrainingConfig | None = None,
    *,
    eval_records: Any = None,
    registry: Any = None,
    callback: TrainingCallback | None = None,
    run_name: str = "judge",
    who: str = "judge training",
) -> TrainReport:
    """Train a judge with ``loss_class`` on ``train`` records and save it to ``output_dir`` (see the module
    docstring). ``who`` names the caller in the error for empty training data."""
    import torch
    from accelerate.utils import set_seed

    from ..media import MediaCache, VideoSampling

    config = config or JudgeTrainingConfig()
    callback = callback or TrainingCallback()
    if registry is None:
        from ..registry import get_registry

        registry = get_registry()
    started = time.monotonic()
    records, evals = as_records(train), as_records(eval_records)
    if not records:
        raise ConfigError("no training records", who=who, fix="Check the training data paths")

    accelerator = make_accelerator(config)
    set_seed(config.seed)
    backend = load_backend(registry, str(base_model), config, accelerator.device)
    media = MediaCache(registry=registry, video_policy=VideoSampling(frames=config.frames))
    loss = loss_class(JudgeRun(config, registry, callback, run_name, str(base_model), accelerator, backend, media,
                               records))
    units = loss.units(records)
    steps = config.optimizer_steps(len(units))
    callback.on_message(run_name, loss.describe(units))
    plan = loss.setup(units, steps)

    eval_tasks = tasks_in(evals, tasks_in(records))

    def evaluate(step: int) -> dict[str, TaskScore]:
        with loss.evaluating():
            scores = evaluate_records(loss.evaluation_head, evals, tasks=eval_tasks, seed=config.seed,
                                      bootstrap=config.bootstrap, pointwise=config.eval_pointwise,
                                      limit=config.eval_limit, batch_size=config.eval_batch_size)
        callback.on_eval(run_name, step, scores)
        return scores

    stream = _Counted(mixture_stream([u.task for u in units], seed=config.seed, ratios=config.mix))
    refused: set[int] = set()
    losses: list[tuple[int, float]] = []
    start = 0
    if config.resume_from_checkpoint is not None:
        if output_dir is None:
            raise ConfigError("resume_from_checkpoint needs the output folder the checkpoints are in", who=who,
                              fix="Give the run an output folder (the one whose checkpoint-<step> folders to use)")
        folder = find_checkpoint(config.resume_from_checkpoint, output_dir, marker=LOOP_STATE, who=who)
        start, losses = _resume(folder, plan, stream, refused, steps, who=who)
        callback.on_message(run_name, f"resumed from {folder} at step {start} of {steps}")

    def micro_step() -> float:
        while True:
            batch, left_out = loss.prepare(_draw(stream, plan.batch_size, refused, len(units), loss))
            if not left_out:
                break
            refused.update(left_out)
        if plan.model is None:
            value = loss.loss(batch)
            plan.optimizer.zero_grad()
            value.backward()
            plan.optimizer.step()
        else:
            with accelerator.accumulate(plan.model):
                value = loss.loss(batch)
                accelerator.backward(value)
                if accelerator.sync_gradients and config.max_grad_norm:
                    accelerator.clip_grad_norm_(list(plan.clip), config.max_grad_norm)
                plan.optimizer.step()
                if plan.scheduler is not None:
                    plan.scheduler.step()
                plan.optimizer.zero_grad()
        return float(value.detach())

    evaluations: list[tuple[int, Mapping[str, TaskScore]]] = []
    callback.on_start(run_name, steps)
    for step in range(start + 1, steps + 1):
        micro = [micro_step() for _ in range(plan.micro_batches)]
        value = sum(micro) / len(micro)
        if not torch.isfinite(torch.tensor(value)):
            raise UniRewardError(f"the loss became {value} at step {step}", who=f"{loss.label} ({run_name})",
                                 fix=loss.divergence_fix)
        losses.append((step, value))
        callback.on_step(run_name, step, steps, value, loss.learning_rate(plan))
        if evals and config.eval_every and step % config.eval_every == 0 and step < steps:
            evaluations.append((step, evaluate(step)))
        if output_dir is not None and config.save_every and step % config.save_every == 0:
            _checkpoint(Path(output_dir) / f"{CHECKPOINT_PREFIX}{step}", step, plan, losses, stream.drawn, refused)

    loss.finish()
    if evals:
        evaluations.append((steps, evaluate(steps)))
    out = Path(output_dir) if output_dir is not None else None
    if out is not None and config.save:
        callback.on_message(run_name, loss.save(out))
    report = TrainReport(
        kind=loss.kind, base_model=str(base_model), output_dir=str(out) if out is not None and config.save else None,
        family=backend.family, steps=steps, examples=count_by_task([u.task for u in units]),
        balance=loss.balance(units), losses=losses, evaluations=evaluations, skipped_too_long=len(refused),
        seconds=time.monotonic() - started,
        config={**config.to_dict(), "device_used": str(accelerator.device),
                "mixed_precision_used": accelerator.mixed_precision},
        trainable_parameters=plan.trainable_parameters,
    )
    if out is not None:
        report.write(out)
    return report


def _draw(stream: Iterator[int], size: int, excluded: set[int], available: int, loss: JudgeLoss) -> list[int]:
    if len(excluded) >= available:
        message, fix = loss.refusal
        raise ConfigError(message, who=loss.label, fix=fix)
    chosen: list[int] = []
    while len(chosen) < size:
        index = next(stream)
        if index not in excluded:
            chosen.append(index)
    return chosen


# --- resumable checkpoints ------------------------------------------------------------------------------
#
# A checkpoint holds what the optimizer trains (its parameters, in the optimizer's order, which the same
# head's setup rebuilds), the optimizer's and scheduler's state, the random generators, the losses so far and
# how far the task-mixed draw had gone. It works for any head's loss: whatever the head trains, its optimizer
# holds it.

LOOP_STATE = "trainer_state.json"
PARAMETERS = "trained_parameters.safetensors"
OPTIMIZER = "optimizer.pt"


class _Counted:
    """An iterator that counts what it has handed out (to replay a seeded draw up to the same point)."""

    def __init__(self, inner: Iterator[int]):
        self.inner, self.drawn = inner, 0

    def __iter__(self) -> _Counted:
        return self

    def __next__(self) -> int:
        self.drawn += 1
        return next(self.inner)


def _trained(plan: Optimization) -> list[Any]:
    return [p for group in plan.optimizer.param_groups for p in group["params"]]


def _checkpoint(folder: Path, step: int, plan: Optimization, losses: list[tuple[int, float]], drawn: int,
                refused: set[int]) -> None:
    import json

    import torch
    from safetensors.torch import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file({f"{i}": p.detach().cpu().contiguous() for i, p in enumerate(_trained(plan))}, str(folder / PARAMETERS))
    plain, tensors = rng_state()
    torch.save({"optimizer": plan.optimizer.state_dict(),
                "scheduler": plan.scheduler.state_dict() if plan.scheduler is not None else None,
                "rng": tensors}, folder / OPTIMIZER)
    # written last: a folder with this file is complete
    (folder / LOOP_STATE).write_text(json.dumps({"step": step, "losses": losses, "drawn": drawn,
                                                 "refused": sorted(refused), "rng": plain}), encoding="utf-8")


def _resume(folder: Path, plan: Optimization, stream: _Counted, refused: set[int], steps: int, *,
            who: str) -> tuple[int, list[tuple[int, float]]]:
    """Load a checkpoint into the freshly set-up ``plan``; returns (its step, the losses so far)."""
    import json

    import torch
    from safetensors.torch import load_file

    state = json.loads((folder / LOOP_STATE).read_text(encoding="utf-8"))
    params, saved = _trained(plan), load_file(str(folder / PARAMETERS))
    if len(saved) != len(params) or any(saved[f"{i}"].shape != p.shape for i, p in enumerate(params)):
        raise ConfigError(f"{folder} was written by another setup ({len(saved)} trained tensors, this run has "
                          f"{len(params)})", who=who,
                          fix="Resume with the settings the checkpoint was written with (same base model, head, "
                              "lora settings)")
    if state["step"] > steps:
        raise ConfigError(f"{folder} is at step {state['step']}, past this run's {steps} steps", who=who,
                          fix="Raise max_steps, or resume from an earlier checkpoint")
    with torch.no_grad():
        for i, p in enumerate(params):
            p.copy_(saved[f"{i}"].to(p.device, p.dtype))
    other = torch.load(folder / OPTIMIZER, weights_only=True)
    plan.optimizer.load_state_dict(other["optimizer"])
    if plan.scheduler is not None and other["scheduler"] is not None:
        plan.scheduler.load_state_dict(other["scheduler"])
    for _ in range(state["drawn"]):
        next(stream)
    refused.update(state["refused"])
    restore_rng(state["rng"], other["rng"])
    return state["step"], [(int(s), float(v)) for s, v in state["losses"]]
