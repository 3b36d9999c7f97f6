"""From records to chat examples: template choice, seeded A/B balancing, target answers, task mixing.

A :class:`TrainingExample` is one record rendered for one template: the item *as the judge sees it*
(candidates possibly exchanged), the assistant target and the label or score it encodes. The user turn is
what :meth:`~unireward_sdk.tasks.TemplateTask.build_request` builds for scoring (media parts first, then
the rendered template text), so a judge is trained on exactly the prompts it is later asked.

**A/B balance.** Per task, the non-tie pairwise records are shuffled under the seed and the first half is
shown with the preferred candidate first, the second half with it second (candidates exchanged and the
label mirrored as needed). A judge therefore sees "1 is better" and "2 is better" equally often whatever
the data's own order, and cannot profit from learning a position. Ties are exchanged by a seeded coin.

**Mixing.** :func:`mixture_schedule` draws the stream of examples the trainer consumes: each draw picks a
task with probability proportional to its ratio (default: to its number of examples, i.e. plain uniform
sampling), then the next example of that task's seeded shuffle (reshuffled once used up).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from attrs import frozen

from ..errors import ConfigError, TemplateError
from ..records import JudgeItem
from .records import TrainingRecord
from .targets import render_checked, to_template_scale


@frozen
class TrainingExample:
    """One record rendered for training: item as shown, template, target answer, and what it encodes."""

    id: str
    task: str
    mode: str
    template_id: str
    item: JudgeItem
    target: str
    label: str | None = None  # pairwise, as shown
    score: float | None = None  # pointwise, on the template's scale
    swapped: bool = False
    record_index: int = 0


def choose_template(task: Any, record: TrainingRecord, family: str,
                    overrides: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """The record's ``template``, else the configured one for (task, mode), else the task's default."""
    if record.template:
        return record.template
    chosen = (overrides or {}).get(record.task, {}).get(record.mode)
    return chosen or task.default_template(record.mode, family)


def balanced_swaps(records: Sequence[TrainingRecord], seed: int) -> list[bool]:
    """Per record: exchange A and B? Balanced per task so half the decisive pairs are shown 'A wins'.

    A pairwise record with a record-level ``reasoning`` keeps its order: the text names the candidates by
    position, and exchanging them would teach a verdict that contradicts it (per-candidate notes move with
    their candidates, so records that use those are balanced like any other)."""
    swaps = [False] * len(records)
    by_task: dict[str, list[int]] = {}
    ties: list[int] = []
    for i, r in enumerate(records):
        if r.mode != "pairwise" or r.extra.get("reasoning"):
            continue
        if r.label == "tie":
            ties.append(i)
        else:
            by_task.setdefault(r.task, []).append(i)
    for task in sorted(by_task):
        indices = by_task[task]
        rng = random.Random(f"{seed}/ab/{task}")
        order = indices[:]
        rng.shuffle(order)
        # an odd count gets the spare 'A' on a seeded coin, so no side is favoured across seeds
        first_half = len(order) // 2 + (len(order) % 2 if rng.random() < 0.5 else 0)
        for rank, i in enumerate(order):
            shown = "A" if rank < first_half else "B"
            swaps[i] = records[i].label != shown
    rng = random.Random(f"{seed}/ab/ties")
    for i in ties:
        swaps[i] = rng.random() < 0.5
    return swaps


def build_examples(
    records: Sequence[TrainingRecord],
    *,
    registry: Any,
    family: str,
    seed: int = 0,
    randomize_order: bool = True,
    templates: Mapping[str, Mapping[str, str]] | None = None,
    drop_ties: bool = False,
) -> list[TrainingExample]:
    """Render every record into a :class:`TrainingExample` (see the module docstring).

    ``templates`` maps task -> {"pairwise": id, "pointwise": id} to override the family's defaults.
    ``drop_ties`` leaves out tie records (needed for templates without a tie phrase). A record that
    cannot be rendered raises, naming the record's file and line.
    """
    records = [r for r in records if not (drop_ties and r.mode == "pairwise" and r.label == "tie")]
    swaps = balanced_swaps(records, seed) if randomize_order else [False] * len(records)
    tasks: dict[str, Any] = {}
    out = []
    for index, (record, swap) in enumerate(zip(records, swaps)):
        task = tasks.get(record.task)
        if task is None:
            task = tasks[record.task] = registry.task(record.task)
        shown = record.swapped() if swap else record
        try:
            template_id = choose_template(task, shown, family, templates)
            template = task.template(template_id)
            if template.judging_mode != shown.mode:
                raise ConfigError(f"template '{template_id}' judges {template.judging_mode} items, the record is "
                                  f"{shown.mode}", fix="Pick a template of the record's mode")
            target = render_checked(template, label=shown.label, score=shown.score, scale=shown.scale,
                                    dimensions=shown.dimensions, reasoning=shown.extra.get("reasoning"),
                                    notes=tuple(c.get("note") for c in shown.candidates))
            score = (to_template_scale(shown.score, shown.scale, template)
                     if shown.mode == "pointwise" and shown.score is not None and template.score_range else None)
        except (ConfigError, TemplateError) as exc:
            raise ConfigError(f"cannot render a training target: {exc}", who=record.source or record.id,
                              fix=getattr(exc, "fix", None)) from exc
        out.append(TrainingExample(
            id=record.id, task=record.task, mode=record.mode, template_id=template_id,
            item=shown.item(record.id), target=target, label=shown.label, score=score, swapped=swap,
            record_index=index,
        ))
    return out


def chat_messages(request: Any, target: str | None = None) -> list[dict]:
    """The conversation a judge is trained on: one user turn (media parts first, then the text), then the
    assistant's target. ``request`` is a :class:`~unireward_sdk.interfaces.JudgeRequest`."""
    content = [{"type": "text", "text": v} if k == "text" else {"type": k} for k, v in request.parts]
    messages = [{"role": "user", "content": content}]
    if target is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": target}]})
    return messages


def chat_rows(examples: Sequence[TrainingExample], *, registry: Any, media: Any) -> list[dict]:
    """Examples as conversational rows (``messages``, ``images``, ``videos``): the layout trl's SFT trainer
    and ``datasets.Dataset.from_list`` take, for training with other tools."""
    rows = []
    for ex in examples:
        request = registry.task(ex.task).build_request(ex.item, ex.template_id, media)
        rows.append({
            "id": ex.id, "task": ex.task, "template": ex.template_id,
            "messages": chat_messages(request, ex.target),
            "images": [v for k, v in request.parts if k == "image"],
            "videos": [v for k, v in request.parts if k == "video"],
        })
    return rows


def position_balance(examples: Sequence[TrainingExample]) -> dict[str, dict[str, int]]:
    """Per task, how many pairwise targets say A, B and tie (what the A/B balancing guarantees)."""
    out: dict[str, dict[str, int]] = {}
    for ex in examples:
        if ex.mode == "pairwise" and ex.label is not None:
            counts = out.setdefault(ex.task, {"A": 0, "B": 0, "tie": 0})
            counts[ex.label] += 1
    return out


def task_weights(tasks: Sequence[str], ratios: Mapping[str, float] | None = None) -> dict[str, float]:
    """Normalised sampling weight per task of ``tasks`` (one entry per example; ``ratios`` empty or None:
    proportional to each task's number of examples)."""
    counts: dict[str, int] = {}
    for task in tasks:
        counts[task] = counts.get(task, 0) + 1
    if not counts:
        raise ConfigError("no training examples", fix="Check the training data paths and their tasks")
    if not ratios:
        weights = {t: float(n) for t, n in counts.items()}
    else:
        unknown = [t for t in ratios if t not in counts and ratios[t] > 0]
        if unknown:
            raise ConfigError(f"mixing ratios name task(s) without training examples: {', '.join(unknown)}",
                              who="mix", fix=f"Tasks in the data: {', '.join(sorted(counts))}")
        if any(float(v) < 0 for v in ratios.values()):
            raise ConfigError("mixing ratios must be >= 0", who="mix",
                              fix="Give every task in [training.mix] a ratio of 0 or more")
        weights = {t: float(ratios.get(t, 0.0)) for t in counts}
    total = sum(weights.values())
    if total <= 0:
        raise ConfigError("mixing ratios are all zero", who="mix",
                          fix=f"Give at least one of {', '.join(sorted(counts))} a ratio > 0 in [training.mix], "
                              "or leave [training.mix] out to sample by example count")
    return {t: w / total for t, w in weights.items() if w > 0}


def mixture_stream(tasks: Sequence[str], *, seed: int = 0, ratios: Mapping[str, float] | None = None
                   ) -> Iterator[int]:
    """Endless indices into a list whose i-th element belongs to ``tasks[i]``: a task drawn by weight, then
    the next element of that task's seeded shuffle (reshuffled once used up)."""
    weights = task_weights(tasks, ratios)
    by_task: dict[str, list[int]] = {}
    for i, task in enumerate(tasks):
        if task in weights:
            by_task.setdefault(task, []).append(i)
    rng = random.Random(f"{seed}/mix")
    queues: dict[str, list[int]] = {t: [] for t in by_task}
    names = sorted(by_task)
    probabilities = [weights[t] for t in names]
    while True:
        task = rng.choices(names, weights=probabilities)[0]
        if not queues[task]:
            queues[task] = by_task[task][:]
            rng.shuffle(queues[task])
        yield queues[task].pop()


def mixture_schedule(examples: Sequence[TrainingExample], total: int, *, seed: int = 0,
                     ratios: Mapping[str, float] | None = None) -> list[int]:
    """The first ``total`` indices of :func:`mixture_stream` over ``examples``."""
    return list(itertools.islice(mixture_stream([ex.task for ex in examples], seed=seed, ratios=ratios), total))
