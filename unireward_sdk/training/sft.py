"""Generative SFT of a unified judge: cross-entropy on the answer tokens of template-rendered chat examples.

Each example is one user turn exactly as ``unireward score`` sends it (media parts first, then the
template text, through the checkpoint's own chat template) followed by the target answer and the chat
format's end-of-turn token. Labels are -100 everywhere except on the answer and end-of-turn tokens, so
the judge learns to answer, not to predict prompts or padding. LoRA (peft) or full fine-tuning; accelerate
handles device placement, gradient accumulation and bf16 on a GPU (fp32 on the CPU). This module is the
generative head's :class:`~unireward_sdk.training.loop.JudgeLoss`; the loop (task-mixed batches, steps,
evaluation, saving, the report) is :func:`~unireward_sdk.training.loop.run_judge_training`.

The saved judge (LoRA merged, safetensors, processor with its chat template) loads through the same
``from_pretrained`` path as a released checkpoint::

    report = train_generative_judge("train.jsonl", "runs/base", "runs/judge", JudgeTrainingConfig(max_steps=300),
                                    eval_records="eval.jsonl")
    # unireward score --model runs/judge --task image_generation --mode pairwise ...
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import UniRewardError
from .callbacks import TrainingCallback
from .config import JudgeTrainingConfig
from .examples import TrainingExample, build_examples, position_balance
from .loop import JudgeLoss, Optimization, run_judge_training
from .report import TrainReport
from .runtime import count_by_task, evaluation_head, make_trainable, merged_model, save_judge, scheduler

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


class GenerativeLoss(JudgeLoss):
    """Cross-entropy on the answer tokens of template-rendered examples; the judge itself (LoRA or full) trains.

    An example whose row is longer than ``max_length`` is left out (counted in the report, never truncated).
    """

    kind = "generative"
    label = "judge SFT"
    divergence_fix = "Lower lr, or use mixed_precision = 'no'"
    refusal = ("every training example is longer than max_length", "Raise max_length (or leave it unset)")

    def units(self, records: Sequence[Any]) -> list[TrainingExample]:
        run = self.run
        self.examples = build_examples(records, registry=run.registry, family=run.backend.family, seed=run.config.seed,
                                       randomize_order=run.config.randomize_order, templates=run.config.templates,
                                       drop_ties=run.config.drop_ties)
        self.encoder = ExampleEncoder(run.backend, run.registry, run.media)
        return self.examples

    def describe(self, units: Sequence[TrainingExample]) -> str:
        run = self.run
        counts = ", ".join(f"{t} {n}" for t, n in count_by_task([e.task for e in units]).items())
        return (f"{len(units)} examples ({counts}); family {run.backend.family}; "
                f"{'LoRA' if run.config.lora else 'full fine-tuning'}; "
                f"device {run.accelerator.device}, precision {run.accelerator.mixed_precision}")

    def setup(self, units: Sequence[TrainingExample], steps: int) -> Optimization:
        import torch

        config, accelerator = self.run.config, self.run.accelerator
        model, trainable = make_trainable(self.run.backend.model, config)
        parameters = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(parameters, lr=config.learning_rate, weight_decay=config.weight_decay)
        lr_schedule = scheduler(optimizer, config, steps)
        self.model, optimizer, lr_schedule = accelerator.prepare(model, optimizer, lr_schedule)
        self.model.train()
        # accelerate counts the micro-batches: every gradient_accumulation_steps-th one ends an optimizer step
        return Optimization(optimizer, batch_size=config.batch_size, micro_batches=config.gradient_accumulation_steps,
                            model=self.model, scheduler=lr_schedule, clip=parameters, trainable_parameters=trainable)

    def prepare(self, indices: Sequence[int]) -> tuple[Any, list[int]]:
        batch, labels = self.encoder.encode([self.examples[i] for i in indices])
        if self.run.config.max_length is not None:
            lengths = batch["attention_mask"].sum(dim=1).tolist()
            over = [i for i, n in zip(indices, lengths) if n > self.run.config.max_length]
            if over:
                return None, over
        return (batch, labels), []

    def loss(self, batch: Any) -> Any:
        inputs, labels = batch
        return self.model(**inputs, labels=labels).loss

    def evaluation_head(self, task: str) -> Any:
        run = self.run
        return evaluation_head(run.registry, run.backend, task, run.config, run.media, run.backend.family)

    @contextlib.contextmanager
    def evaluating(self) -> Iterator[None]:
        self.model.eval()
        try:
            yield
        finally:
            self.model.train()

    def finish(self) -> None:
        final_model = merged_model(self.run.accelerator.unwrap_model(self.model), self.run.config)
        self.run.backend.model = final_model  # evaluate exactly the weights that are saved
        final_model.eval()

    def save(self, folder: Path) -> str:
        save_judge(self.run.backend.model, self.run.backend.processor, folder)
        return f"judge saved to {folder}"

    def balance(self, units: Sequence[TrainingExample]) -> dict:
        return position_balance(units)


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
    judge as ``training_report.json`` / ``.md``). The loop is :func:`~unireward_sdk.training.loop.run_judge_training`.
    """
    return run_judge_training(GenerativeLoss, train, base_model, output_dir, config, eval_records=eval_records,
                              registry=registry, callback=callback, run_name=run_name, who="train_generative_judge")
