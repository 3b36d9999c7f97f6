"""Generative SFT of a unified judge: cross-entropy on the answer tokens of template-rendered chat examples.

Each example is one user turn exactly as ``unireward score`` sends it (media parts first, then the
template text, through the checkpoint's own chat template) followed by the target answer and the chat
format's end-of-turn token. Labels are -100 everywhere except on the answer and end-of-turn tokens, so
the judge learns to answer, not to predict prompts or padding. LoRA (peft) or full fine-tuning; accelerate
handles device placement, gradient accumulation and bf16 on a GPU (fp32 on the CPU).

The saved judge (LoRA merged, safetensors, processor with its chat template) loads through the same
``from_pretrained`` path as a released checkpoint::

    report = train_generative_judge("train.jsonl", "runs/base", "runs/judge", JudgeTrainingConfig(max_steps=300),
                                    eval_records="eval.jsonl")
    # unireward score --model runs/judge --task image_generation --mode pairwise ...
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UniRewardError
from .callbacks import TrainingCallback
from .config import JudgeTrainingConfig
from .evaluate import TaskScore, evaluate_records
from .examples import TrainingExample, build_examples, mixture_stream, position_balance
from .records import tasks_in
from .report import TrainReport
from .runtime import (
    as_records,
    count_by_task,
    evaluation_head,
    load_backend,
    make_accelerator,
    make_trainable,
    merged_model,
    save_judge,
    scheduler,
)

_SENTINEL = "UNIREWARD_ANSWER_SENTINEL"


def special_strings(tokenizer: Any) -> tuple[str, ...]:
    """Every special token's text (they are never merged with neighbouring text by the tokenizer)."""
    specials = {str(t) for t in tokenizer.all_special_tokens}
    decoder = getattr(tokenizer, "added_tokens_decoder", {}) or {}
    specials |= {getattr(t, "content", str(t)) for t in decoder.values() if getattr(t, "special", False)}
    return tuple(sorted((s for s in specials if s), key=len, reverse=True))


def turn_end(processor: Any) -> str:
    """What the chat template writes after an assistant answer, up to its first special token
    (``<|im_end|>`` for ChatML judges): the end-of-turn the judge must learn to emit."""
    tokenizer = getattr(processor, "tokenizer", processor)
    messages = [{"role": "user", "content": [{"type": "text", "text": "q"}]},
                {"role": "assistant", "content": [{"type": "text", "text": _SENTINEL}]}]
    try:
        rendered = processor.apply_chat_template(messages, tokenize=False)
        after = rendered.split(_SENTINEL, 1)[1]
    except Exception:  # noqa: BLE001 - a template without assistant turns: fall back to the EOS token
        return tokenizer.eos_token
    found = [(after.find(s), s) for s in special_strings(tokenizer) if after.find(s) >= 0]
    if not found:
        return tokenizer.eos_token
    position, special = min(found)
    return after[: position + len(special)]


def answer_token_ids(tokenizer: Any, prompt: str, answer: str, specials: Sequence[str]) -> list[int]:
    """The token ids ``answer`` adds after ``prompt`` (tokenised in context, as in the training batch).

    Only the prompt's text after its last special token can merge with the answer, so only that tail is
    tokenised.
    """
    ends = [i + len(s) for s in specials if (i := prompt.rfind(s)) >= 0]
    tail = prompt[max(ends, default=0):]
    base = tokenizer(tail, add_special_tokens=False)["input_ids"]
    full = tokenizer(tail + answer, add_special_tokens=False)["input_ids"]
    k = 0
    while k < min(len(base), len(full)) and base[k] == full[k]:
        k += 1
    return list(full[k:])


class ExampleEncoder:
    """Turns training examples into a padded batch with answer-only labels, through the backend's own
    prompt rendering and processor call (so training and scoring prompts are identical)."""

    def __init__(self, backend: Any, registry: Any, media: Any):
        self.backend = backend
        self.registry = registry
        self.media = media
        self.tokenizer = backend.processor.tokenizer
        self.turn_end = turn_end(backend.processor)
        self.specials = special_strings(self.tokenizer)
        self._answers: dict[tuple[str, str], list[int]] = {}

    def request(self, example: TrainingExample):
        return self.registry.task(example.task).build_request(example.item, example.template_id, self.media)

    def prompt(self, example: TrainingExample) -> str:
        return self.backend.prompt_text(self.request(example))

    def encode(self, examples: Sequence[TrainingExample]) -> tuple[dict, Any]:
        """(batch on the model's device, labels) for ``examples``; labels cover answer + end-of-turn only."""
        import torch

        requests = [self.request(ex) for ex in examples]
        prompts = [self.backend.prompt_text(r) for r in requests]
        answers = [ex.target + self.turn_end for ex in examples]
        batch = self.backend.encode(requests, suffixes=answers, prompts=prompts)
        ids = batch["input_ids"]
        labels = torch.full_like(ids, -100)
        tail = ids.cpu()
        for row, (ex, prompt, answer) in enumerate(zip(examples, prompts, answers)):
            key = (prompt[-200:], answer)
            wanted = self._answers.get(key)
            if wanted is None:
                wanted = self._answers[key] = answer_token_ids(self.tokenizer, prompt, answer, self.specials)
            n = len(wanted)
            # left padding: every row ends with its answer; check it tokenised as expected before training on it
            if n == 0 or tail[row, -n:].tolist() != wanted:
                raise UniRewardError(f"the answer of example '{ex.id}' did not tokenise at the end of its row",
                                     who="judge SFT", fix="Report this with the template id " + ex.template_id)
            labels[row, -n:] = ids[row, -n:]
        return batch, labels


def _lr(optimizer: Any) -> float:
    return float(optimizer.param_groups[0]["lr"])


def train_generative_judge(
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
    """Fine-tune ``base_model`` on ``train`` records (see the module docstring) and save it to ``output_dir``.

    ``train`` / ``eval_records``: paths (.jsonl/.json/.parquet), a ``datasets.Dataset``, dicts or
    :class:`~unireward_sdk.training.records.TrainingRecord`. Evaluation runs every ``eval_every`` steps and
    at the end when ``eval_records`` are given. Returns a :class:`TrainReport` (also written next to the
    judge as ``training_report.json`` / ``.md``).
    """
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
        raise ConfigError("no training records", who="train_generative_judge", fix="Check the training data paths")

    accelerator = make_accelerator(config)
    set_seed(config.seed)
    backend = load_backend(registry, str(base_model), config, accelerator.device)
    media = MediaCache(registry=registry, video_policy=VideoSampling(frames=config.frames))
    examples = build_examples(records, registry=registry, family=backend.family, seed=config.seed,
                              randomize_order=config.randomize_order, templates=config.templates,
                              drop_ties=config.drop_ties)
    encoder = ExampleEncoder(backend, registry, media)
    steps = config.optimizer_steps(len(examples))
    callback.on_message(run_name, f"{len(examples)} examples ({', '.join(f'{t} {n}' for t, n in count_by_task([e.task for e in examples]).items())}); "
                        f"family {backend.family}; {'LoRA' if config.lora else 'full fine-tuning'}; "
                        f"device {accelerator.device}, precision {accelerator.mixed_precision}")

    model, trainable = make_trainable(backend.model, config)
    parameters = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
    lr_schedule = scheduler(optimizer, config, steps)
    model, optimizer, lr_schedule = accelerator.prepare(model, optimizer, lr_schedule)

    eval_tasks = tasks_in(evals, tasks_in(records))

    def evaluate(step: int) -> dict[str, TaskScore]:
        model.eval()
        try:
            scores = evaluate_records(
                lambda task: evaluation_head(registry, backend, task, config, media, backend.family),
                evals, tasks=eval_tasks, seed=config.seed, bootstrap=config.bootstrap,
                pointwise=config.eval_pointwise, limit=config.eval_limit, batch_size=config.eval_batch_size,
            )
        finally:
            model.train()
        callback.on_eval(run_name, step, scores)
        return scores

    stream = mixture_stream([ex.task for ex in examples], seed=config.seed, ratios=config.mix)
    too_long: set[int] = set()
    losses: list[tuple[int, float]] = []
    evaluations: list[tuple[int, Mapping[str, TaskScore]]] = []
    running: list[float] = []
    step = 0
    model.train()
    callback.on_start(run_name, steps)
    while step < steps:
        chosen = _draw(stream, config.batch_size, too_long, len(examples))
        batch, labels = encoder.encode([examples[i] for i in chosen])
        if config.max_length is not None:
            lengths = batch["attention_mask"].sum(dim=1).tolist()
            over = [i for i, n in zip(chosen, lengths) if n > config.max_length]
            if over:
                too_long.update(over)  # left out from now on, counted in the report
                continue
        with accelerator.accumulate(model):
            loss = model(**batch, labels=labels).loss
            accelerator.backward(loss)
            if accelerator.sync_gradients and config.max_grad_norm:
                accelerator.clip_grad_norm_(parameters, config.max_grad_norm)
            optimizer.step()
            lr_schedule.step()
            optimizer.zero_grad()
        running.append(float(loss.detach()))
        if not accelerator.sync_gradients:
            continue
        step += 1
        mean_loss = sum(running) / len(running)
        running = []
        if not torch.isfinite(torch.tensor(mean_loss)):
            raise UniRewardError(f"the loss became {mean_loss} at step {step}", who=f"judge SFT ({run_name})",
                                 fix="Lower lr, or use mixed_precision = 'no'")
        losses.append((step, mean_loss))
        callback.on_step(run_name, step, steps, mean_loss, _lr(optimizer))
        if evals and config.eval_every and step % config.eval_every == 0 and step < steps:
            evaluations.append((step, evaluate(step)))

    unwrapped = accelerator.unwrap_model(model)
    final_model = merged_model(unwrapped, config)
    backend.model = final_model  # evaluate exactly the weights that are saved
    final_model.eval()
    if evals:
        evaluations.append((steps, evaluate(steps)))
    out = Path(output_dir) if output_dir is not None else None
    if out is not None and config.save:
        save_judge(final_model, backend.processor, out)
        callback.on_message(run_name, f"judge saved to {out}")
    report = TrainReport(
        kind="generative", base_model=str(base_model), output_dir=str(out) if out is not None and config.save else None,
        family=backend.family, steps=steps, examples=count_by_task([e.task for e in examples]),
        balance=position_balance(examples), losses=losses, evaluations=evaluations,
        skipped_too_long=len(too_long), seconds=time.monotonic() - started, config={**config.to_dict(), "device_used": str(accelerator.device),
                "mixed_precision_used": accelerator.mixed_precision},
        trainable_parameters=trainable,
    )
    if out is not None:
        report.write(out)
    return report


def _draw(stream, size: int, excluded: set[int], available: int) -> list[int]:
    if len(excluded) >= available:
        raise ConfigError("every training example is longer than max_length", who="judge SFT",
                          fix="Raise max_length (or leave it unset)")
    chosen: list[int] = []
    while len(chosen) < size:
        index = next(stream)
        if index not in excluded:
            chosen.append(index)
    return chosen
