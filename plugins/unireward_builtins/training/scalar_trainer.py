"""Training the ``scalar`` head's value head on multi-task records: Bradley-Terry on pairs, regression on points.

Features are the judge's final-layer state of each candidate's *pointwise* prompt (what the ``scalar``
head reads at judging time), so a pair is two pointwise prompts and position plays no part. Losses, all
from :mod:`unireward_builtins.heads.scalar_losses`:

- pairs: Bradley-Terry, -log sigmoid(r_chosen - r_rejected). Tie labels (``[training.head_options]``):
  ``ties = "rao_kupper"`` (default)
  fits Bradley-Terry with ties in Rao-Kupper form with a learned tie threshold, so ties are information,
  not noise; ``ties = "drop"`` leaves tie pairs out.
- points: mean squared error against the score normalised to [0, 1] by the record's ``scale`` (else the
  pointwise template's range), so tasks with 1-5, 1-10 and 0-100 scales share one head. The saved head
  records ``scale = (0, 1)``.

Pairs and points are mixed per step like the generative trainer's examples (task ratios, seeded).
By default the judge is frozen and its features are computed once; ``scalar_finetune = true`` also trains
the judge (LoRA or full) through its last hidden state, and saves the merged judge next to the head.

Saved: ``<output_dir>/value_head/`` (``value_head.safetensors`` + ``value_head_config.json``), which the
``scalar`` head loads with ``value_head=<output_dir>/value_head``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch

from unireward_sdk.errors import ConfigError, UniRewardError
from unireward_sdk.options import validate_options
from unireward_sdk.training.callbacks import TrainingCallback
from unireward_sdk.training.config import JudgeTrainingConfig
from unireward_sdk.training.evaluate import TaskScore, evaluate_records
from unireward_sdk.training.examples import mixture_stream
from unireward_sdk.training.records import TrainingRecord, tasks_in
from unireward_sdk.training.report import TrainReport
from unireward_sdk.training.runtime import (
    as_records,
    count_by_task,
    load_backend,
    make_accelerator,
    make_trainable,
    merged_model,
    save_judge,
    template_id,
)

from ..heads.scalar_losses import bradley_terry_loss, rao_kupper_loss, regression_loss
from ..heads.scalar_model import ScalarValueHead
from .scalar_options import TRAINER_OPTIONS

VALUE_HEAD_FOLDER = "value_head"


@attrs.define
class _Entry:
    """One training unit: a pair (chosen, rejected, tie?) or a point (target in [0, 1])."""

    task: str
    kind: str  # "pair" | "point"
    record: TrainingRecord
    target: float = 0.0


def _normalised(record: TrainingRecord, template: Any) -> float:
    lo, hi = record.scale or template.score_range or (None, None)
    if lo is None or hi is None or hi == lo:
        raise ConfigError("a pointwise record needs a 'scale' (its template has no score range)",
                          who=record.source or record.id,
                          fix='Add "scale": [lo, hi] to the record, or use a template with a score_range')
    return (float(record.score) - lo) / (hi - lo)


class _Features:
    """Builds the ``scalar`` head's pointwise requests and reads hidden states (with or without gradients)."""

    def __init__(self, registry: Any, backend: Any, config: JudgeTrainingConfig, media: Any):
        self.registry, self.backend, self.config, self.media = registry, backend, config, media
        self.heads: dict[str, Any] = {}

    def head(self, task: str, value_head: Any = None) -> Any:
        template = template_id(self.registry, task, "pointwise", self.backend.family, self.config)
        return self.registry.reward_head("scalar", backend=self.backend, task=task, pointwise_template=template,
                                         batch_size=self.config.eval_batch_size, registry=self.registry,
                                         media=self.media, value_head=value_head)

    def feature_head(self, task: str) -> Any:
        if task not in self.heads:
            self.heads[task] = self.head(task)
        return self.heads[task]

    def requests(self, entries: Sequence[_Entry]) -> list[Any]:
        """Pointwise requests: A then B for a pair, the candidate for a point."""
        out = []
        for e in entries:
            head = self.feature_head(e.task)
            item = e.record.item()
            sides = [item] if e.kind == "point" else [
                attrs.evolve(item, id=f"{item.id}#{s}", candidates=(c,)) for s, c in zip("AB", item.candidates)]
            out.extend(head.task.build_request(side, head.template_id, self.media) for side in sides)
        return out

    def frozen(self, entries: Sequence[_Entry]) -> torch.Tensor:
        """Features of every request of ``entries`` (no gradients), in request order."""
        requests = self.requests(entries)
        size = self.config.eval_batch_size
        chunks = [self.backend.last_hidden_states(requests[s:s + size]) for s in range(0, len(requests), size)]
        return torch.cat(chunks).float()

    def with_grad(self, entries: Sequence[_Entry]) -> torch.Tensor:
        """The same features through the trainable judge, keeping the graph (joint fine-tuning)."""
        batch = self.backend.encode(self.requests(entries))
        hidden = self.backend.model.model(**batch, use_cache=False).last_hidden_state
        return hidden[:, -1, :].float()


def _loss(head: ScalarValueHead, entries: Sequence[_Entry], features: torch.Tensor, point_weight: float):
    """Pairwise (BT or Rao-Kupper) plus weighted pointwise regression over one batch of entries."""
    rows, chosen, rejected, ties, points, targets = 0, [], [], [], [], []
    for e in entries:
        if e.kind == "pair":
            a, b = rows, rows + 1
            rows += 2
            b_won = e.record.label == "B"
            chosen.append(b if b_won else a)
            rejected.append(a if b_won else b)
            ties.append(e.record.label == "tie")
        else:
            points.append(rows)
            targets.append(e.target)
            rows += 1
    rewards = head(features)
    terms = []
    if chosen:
        r_c, r_r = rewards[chosen], rewards[rejected]
        tie = torch.tensor(ties, device=rewards.device)
        terms.append(rao_kupper_loss(r_c, r_r, tie, head.eta) if head.models_ties
                     else bradley_terry_loss(r_c, r_r))
    if points:
        target = torch.tensor(targets, dtype=rewards.dtype, device=rewards.device)
        terms.append(point_weight * regression_loss(rewards[points], target))
    return sum(terms)


def train_scalar_judge(
    train: Any,
    base_model: str | Path,
    output_dir: str | Path | None = None,
    config: JudgeTrainingConfig | None = None,
    *,
    eval_records: Any = None,
    registry: Any = None,
    callback: TrainingCallback | None = None,
    run_name: str = "judge",
) -> TrainReport:
    """Fit a value head (and optionally the judge) on ``train`` records; see the module docstring."""
    from accelerate.utils import set_seed

    from unireward_sdk.media import MediaCache, VideoSampling

    config = config or JudgeTrainingConfig()
    options = validate_options(TRAINER_OPTIONS, config.head_options, who="scalar head trainer [training.head_options]",
                               fill_defaults=True)
    callback = callback or TrainingCallback()
    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    started = time.monotonic()
    records, evals = as_records(train), as_records(eval_records)
    accelerator = make_accelerator(config)
    set_seed(config.seed)
    backend = load_backend(registry, str(base_model), config, accelerator.device)
    media = MediaCache(registry=registry, video_policy=VideoSampling(frames=config.frames))
    features = _Features(registry, backend, config, media)

    entries: list[_Entry] = []
    dropped_ties = 0
    for r in records:
        if r.mode == "pairwise":
            if r.label == "tie" and options["ties"] == "drop":
                dropped_ties += 1
                continue
            entries.append(_Entry(r.task, "pair", r))
        else:
            template = features.feature_head(r.task).task.template(features.feature_head(r.task).template_id)
            entries.append(_Entry(r.task, "point", r, _normalised(r, template)))
    if not entries:
        raise ConfigError("no training records left", who="scalar judge training",
                          fix="Check the data paths (and ties = 'drop' with only tie pairs)")
    steps = config.optimizer_steps(len(entries))
    models_ties = options["ties"] == "rao_kupper" and any(e.kind == "pair" and e.record.label == "tie" for e in entries)
    callback.on_message(run_name, f"{sum(e.kind == 'pair' for e in entries)} pairs, "
                        f"{sum(e.kind == 'point' for e in entries)} points"
                        + (f", {dropped_ties} tie pairs dropped" if dropped_ties else "")
                        + ("; ties modelled (Rao-Kupper)" if models_ties else ""))

    # features of the frozen judge, computed once: the whole training set (frozen) or the standardisation
    cached = features.frozen(entries)
    offsets, row = [], 0
    for e in entries:
        offsets.append(row)
        row += 2 if e.kind == "pair" else 1
    has_points = any(e.kind == "point" for e in entries)
    head = ScalarValueHead(cached.shape[1], models_ties=models_ties, scale=(0.0, 1.0) if has_points else None,
                           base_checkpoint=str(base_model))
    head.set_standardization(cached)
    if options["scalar_finetune"]:
        # one spread for every feature: per-feature spreads of a frozen judge can be tiny, and dividing by
        # them would turn the judge's small updates into huge reward swings
        with torch.no_grad():
            head.feature_std.fill_(float((cached - head.feature_mean).std().clamp_min(1e-4)))
    if has_points:
        with torch.no_grad():  # start at the mean target: steps go to the ordering, not the offset
            head.value.bias.fill_(sum(e.target for e in entries if e.kind == "point")
                                  / sum(e.kind == "point" for e in entries))
    head_params = [p for name, p in head.named_parameters() if models_ties or name != "tie_raw"]
    trainable = sum(p.numel() for p in head_params)
    finetune = options["scalar_finetune"]
    if finetune:
        model, judge_trainable = make_trainable(backend.model, config)
        trainable += judge_trainable
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.learning_rate},
                  {"params": head_params, "lr": options["head_lr"]}]
        optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
        head.to(accelerator.device)
        model, optimizer = accelerator.prepare(model, optimizer)
        model.train()
    else:
        model = None
        optimizer = torch.optim.Adam(head_params, lr=options["head_lr"], weight_decay=config.weight_decay)

    def batch_features(batch: Sequence[int]) -> torch.Tensor:
        if finetune:
            with accelerator.autocast():
                return features.with_grad([entries[i] for i in batch])
        rows = []
        for i in batch:
            width = 2 if entries[i].kind == "pair" else 1
            rows.extend(range(offsets[i], offsets[i] + width))
        return cached[rows]

    def make_eval_head(task: str) -> Any:
        return features.head(task, value_head=head)

    def evaluate(step: int) -> dict[str, TaskScore]:
        head.eval()
        head.to("cpu")  # the scalar head scores features on the CPU
        if model is not None:
            model.eval()
        try:
            scores = evaluate_records(make_eval_head, evals, tasks=tasks_in(evals, tasks_in(records)), seed=config.seed,
                                      bootstrap=config.bootstrap, pointwise=config.eval_pointwise,
                                      limit=config.eval_limit, batch_size=config.eval_batch_size)
        finally:
            head.train()
            if model is not None:
                head.to(accelerator.device)
                model.train()
        callback.on_eval(run_name, step, scores)
        return scores

    stream = mixture_stream([e.task for e in entries], seed=config.seed, ratios=config.mix)
    per_step = config.batch_size * config.gradient_accumulation_steps
    losses: list[tuple[int, float]] = []
    evaluations: list[tuple[int, Mapping[str, TaskScore]]] = []
    head.train()
    callback.on_start(run_name, steps)
    for step in range(1, steps + 1):
        if finetune:
            total = 0.0
            for _ in range(config.gradient_accumulation_steps):
                batch = [next(stream) for _ in range(config.batch_size)]
                with accelerator.accumulate(model):
                    loss = _loss(head, [entries[i] for i in batch], batch_features(batch), options["point_weight"])
                    accelerator.backward(loss)
                    if accelerator.sync_gradients and config.max_grad_norm:
                        accelerator.clip_grad_norm_([p for g in groups for p in g["params"]], config.max_grad_norm)
                    optimizer.step()
                    optimizer.zero_grad()
                total += float(loss.detach())
            value = total / config.gradient_accumulation_steps
        else:
            batch = [next(stream) for _ in range(per_step)]
            loss = _loss(head, [entries[i] for i in batch], batch_features(batch), options["point_weight"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            value = float(loss.detach())
        if not torch.isfinite(torch.tensor(value)):
            raise UniRewardError(f"the loss became {value} at step {step}", who=f"scalar judge training ({run_name})",
                                 fix="Lower head_lr (or lr)")
        losses.append((step, value))
        callback.on_step(run_name, step, steps, value, options["head_lr"])
        if evals and config.eval_every and step % config.eval_every == 0 and step < steps:
            evaluations.append((step, evaluate(step)))

    head.eval()
    head.to("cpu")
    if finetune:
        backend.model = merged_model(accelerator.unwrap_model(model), config)
        backend.model.eval()
        model = None
    if evals:
        evaluations.append((steps, evaluate(steps)))
    out = Path(output_dir) if output_dir is not None else None
    if out is not None and config.save:
        if finetune:
            save_judge(backend.model, backend.processor, out)
            head.base_checkpoint = str(out)
        head.save_pretrained(out / VALUE_HEAD_FOLDER)
        callback.on_message(run_name, f"value head saved to {out / VALUE_HEAD_FOLDER}"
                            + (f" (judge saved to {out})" if finetune else f" (features from {base_model})"))
    report = TrainReport(
        kind="scalar", base_model=str(base_model), output_dir=str(out) if out is not None and config.save else None,
        family=backend.family, steps=steps, examples=count_by_task([e.task for e in entries]), losses=losses,
        evaluations=evaluations, seconds=time.monotonic() - started, config={**config.to_dict(), "device_used": str(accelerator.device),
                "mixed_precision_used": accelerator.mixed_precision},
        trainable_parameters=trainable,
    )
    if out is not None:
        report.write(out)
    return report
