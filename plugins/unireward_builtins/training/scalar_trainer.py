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

Pairs and points are mixed per step like the generative trainer's examples (task ratios, seeded): this
module is the head's :class:`~unireward_sdk.training.loop.JudgeLoss`, and the loop (batches, steps,
evaluation, saving, the report) is the one the generative trainer runs.
By default the judge is frozen and its features are computed once; ``scalar_finetune = true`` also trains
the judge (LoRA or full) through its last hidden state, and saves the merged judge next to the head.

Saved: ``<output_dir>/value_head/`` (``value_head.safetensors`` + ``value_head_config.json``), which the
``scalar`` head loads with ``value_head=<output_dir>/value_head``.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import torch

from unireward_sdk.errors import ConfigError
from unireward_sdk.options import validate_options
from unireward_sdk.training.callbacks import TrainingCallback
from unireward_sdk.training.config import JudgeTrainingConfig
from unireward_sdk.training.loop import JudgeLoss, Optimization, run_judge_training
from unireward_sdk.training.records import TrainingRecord
from unireward_sdk.training.report import TrainReport
from unireward_sdk.training.runtime import make_trainable, merged_model, save_judge, template_id

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


class ScalarLoss(JudgeLoss):
    """The value head's loss (pairs and points, see the module docstring) on frozen or fine-tuned features."""

    kind = "scalar"
    label = "scalar judge training"
    divergence_fix = "Lower [training.head_options] head_lr (or learning_rate)"

    @functools.cached_property
    def options(self) -> dict[str, Any]:
        """The trainer's settings from ``[training.head_options]``, checked against its schema, defaults filled."""
        return validate_options(TRAINER_OPTIONS, self.run.config.head_options,
                                who="scalar head trainer [training.head_options]", fill_defaults=True)

    def units(self, records: Sequence[TrainingRecord]) -> list[_Entry]:
        run = self.run
        self.features = _Features(run.registry, run.backend, run.config, run.media)
        entries: list[_Entry] = []
        self.dropped_ties = 0
        for r in records:
            if r.mode == "pairwise":
                if r.label == "tie" and self.options["ties"] == "drop":
                    self.dropped_ties += 1
                    continue
                entries.append(_Entry(r.task, "pair", r))
            else:
                head = self.features.feature_head(r.task)
                entries.append(_Entry(r.task, "point", r, _normalised(r, head.task.template(head.template_id))))
        if not entries:
            raise ConfigError("no training records left", who="scalar judge training",
                              fix="Check the data paths (and ties = 'drop' with only tie pairs)")
        self.entries = entries
        self.models_ties = self.options["ties"] == "rao_kupper" and any(
            e.kind == "pair" and e.record.label == "tie" for e in entries)
        return entries

    def describe(self, units: Sequence[_Entry]) -> str:
        return (f"{sum(e.kind == 'pair' for e in units)} pairs, {sum(e.kind == 'point' for e in units)} points"
                + (f", {self.dropped_ties} tie pairs dropped" if self.dropped_ties else "")
                + ("; ties modelled (Rao-Kupper)" if self.models_ties else ""))

    def setup(self, units: Sequence[_Entry], steps: int) -> Optimization:
        config, accelerator = self.run.config, self.run.accelerator
        entries = self.entries
        # features of the frozen judge, computed once: the whole training set (frozen) or the standardisation
        cached = self.cached = self.features.frozen(entries)
        self.offsets, row = [], 0
        for e in entries:
            self.offsets.append(row)
            row += 2 if e.kind == "pair" else 1
        has_points = any(e.kind == "point" for e in entries)
        head = self.head = ScalarValueHead(cached.shape[1], models_ties=self.models_ties,
                                           scale=(0.0, 1.0) if has_points else None,
                                           base_checkpoint=self.run.base_model)
        head.set_standardization(cached)
        if self.options["scalar_finetune"]:
            # one spread for every feature: per-feature spreads of a frozen judge can be tiny, and dividing by
            # them would turn the judge's small updates into huge reward swings
            with torch.no_grad():
                head.feature_std.fill_(float((cached - head.feature_mean).std().clamp_min(1e-4)))
        if has_points:
            with torch.no_grad():  # start at the mean target: steps go to the ordering, not the offset
                head.value.bias.fill_(sum(e.target for e in entries if e.kind == "point")
                                      / sum(e.kind == "point" for e in entries))
        head_params = [p for name, p in head.named_parameters() if self.models_ties or name != "tie_raw"]
        trainable = sum(p.numel() for p in head_params)
        self.model = None
        if not self.options["scalar_finetune"]:
            optimizer = torch.optim.Adam(head_params, lr=self.options["head_lr"], weight_decay=config.weight_decay)
            head.train()
            # no judge to accumulate through: one batch of every micro-batch's units per step
            return Optimization(optimizer, batch_size=config.batch_size * config.gradient_accumulation_steps,
                                trainable_parameters=trainable)
        model, judge_trainable = make_trainable(self.run.backend.model, config)
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": config.learning_rate},
                  {"params": head_params, "lr": self.options["head_lr"]}]
        optimizer = torch.optim.AdamW(groups, weight_decay=config.weight_decay)
        head.to(accelerator.device)
        self.model, optimizer = accelerator.prepare(model, optimizer)
        self.model.train()
        head.train()
        return Optimization(optimizer, batch_size=config.batch_size, micro_batches=config.gradient_accumulation_steps,
                            model=self.model, clip=[p for g in groups for p in g["params"]],
                            trainable_parameters=trainable + judge_trainable)

    def _batch_features(self, batch: Sequence[int]) -> torch.Tensor:
        if self.model is not None:
            with self.run.accelerator.autocast():
                return self.features.with_grad([self.entries[i] for i in batch])
        rows = []
        for i in batch:
            width = 2 if self.entries[i].kind == "pair" else 1
            rows.extend(range(self.offsets[i], self.offsets[i] + width))
        return self.cached[rows]

    def loss(self, batch: Sequence[int]) -> torch.Tensor:
        return _loss(self.head, [self.entries[i] for i in batch], self._batch_features(batch),
                     self.options["point_weight"])

    def learning_rate(self, optimization: Optimization) -> float:
        return self.options["head_lr"]

    def evaluation_head(self, task: str) -> Any:
        return self.features.head(task, value_head=self.head)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        self.head.eval()
        self.head.to("cpu")  # the scalar head scores features on the CPU
        if self.model is not None:
            self.model.eval()
        try:
            yield
        finally:
            self.head.train()
            if self.model is not None:
                self.head.to(self.run.accelerator.device)
                self.model.train()

    def finish(self) -> None:
        self.head.eval()
        self.head.to("cpu")
        if self.model is not None:
            backend = self.run.backend
            backend.model = merged_model(self.run.accelerator.unwrap_model(self.model), self.run.config)
            backend.model.eval()
            self.model = None

    def save(self, folder: Path) -> str:
        finetune = self.options["scalar_finetune"]
        if finetune:
            save_judge(self.run.backend.model, self.run.backend.processor, folder)
            self.head.base_checkpoint = str(folder)
        self.head.save_pretrained(folder / VALUE_HEAD_FOLDER)
        return (f"value head saved to {folder / VALUE_HEAD_FOLDER}"
                + (f" (judge saved to {folder})" if finetune else f" (features from {self.run.base_model})"))


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
    return run_judge_training(ScalarLoss, train, base_model, output_dir, config, eval_records=eval_records,
                              registry=registry, callback=callback, run_name=run_name, who="train_scalar_judge")
