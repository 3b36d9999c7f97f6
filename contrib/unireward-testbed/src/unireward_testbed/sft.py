"""Supervised fine-tuning of the testbed VLM on (media + prompt -> answer) examples, on the CPU.

Used to pretrain the base VLM on world captions (the judges' and the policy's common starting point)
and to fine-tune the question-answering policy. Loss is on the answer tokens and the end-of-turn token
only. Examples are drawn by a caller-supplied function per step, so an unbounded synthetic world
never has to be materialised.

This is the testbed's own loop because the SDK has no trainer for it: the SDK's judge trainer
(:func:`unireward_sdk.training.train_generative_judge`) fine-tunes a judge on preference records rendered
through the UnifiedReward templates, while this pretrains a VLM from scratch on free-form (media, prompt)
-> answer examples. The testbed's judges are trained by the SDK's trainer (see :mod:`.judges`).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .vlm import user_messages

Example = tuple[Sequence[tuple[str, Any]], str]  # (request parts, answer text)


def collate(processor: Any, examples: Sequence[Example]) -> dict:
    """A right-padded training batch with labels on each answer and its end-of-turn token."""
    tok = processor.tokenizer
    texts, images, videos, answer_lengths = [], [], [], []
    for parts, answer in examples:
        prompt = processor.apply_chat_template(user_messages(parts), tokenize=False, add_generation_prompt=True)
        texts.append(prompt + answer + tok.eos_token)
        images.extend(v for k, v in parts if k == "image")
        videos.extend(v for k, v in parts if k == "video")
        # the testbed tokenizer isolates the newline ending the prompt, so prompt and answer never merge
        answer_lengths.append(len(tok(answer + tok.eos_token, add_special_tokens=False)["input_ids"]))
    kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    if videos:
        kwargs["videos"] = videos
        kwargs["do_sample_frames"] = False
    side = tok.padding_side
    tok.padding_side = "right"
    try:
        batch = processor(**kwargs)
    finally:
        tok.padding_side = side
    labels = batch["input_ids"].clone()
    labels[:] = -100
    lengths = batch["attention_mask"].sum(1).tolist()
    for row, (n, k) in enumerate(zip(lengths, answer_lengths)):
        labels[row, n - k:n] = batch["input_ids"][row, n - k:n]
    batch["labels"] = labels
    return dict(batch)


def finetune_vlm(
    path: str | Path,
    draw: Callable[[random.Random, int], list[Example]],
    *,
    steps: int,
    batch_size: int = 16,
    lr: float = 2e-3,
    seed: int = 0,
    out: str | Path | None = None,
    log: Callable[[int, float], None] | None = None,
    freeze_vision: bool = False,
) -> Path:
    """Fine-tune the VLM at ``path`` for ``steps`` steps on batches ``draw(rng, batch_size)``; save to ``out``
    (default: in place). Deterministic for a seed on one machine."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    torch.manual_seed(seed)
    rng = random.Random(seed)
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    if freeze_vision:
        model.model.visual.requires_grad_(False)
    params = [p for p in model.parameters() if p.requires_grad]
    optim = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    schedule = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / 20) * max(0.1, 1 - s / steps))
    model.train()
    for step in range(steps):
        batch = collate(processor, draw(rng, batch_size))
        loss = model(**batch).loss
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        schedule.step()
        if log is not None:
            log(step, loss.item())
    model.eval()
    target = Path(out or path)
    model.save_pretrained(target, safe_serialization=True)
    if Path(target) != Path(path):
        processor.save_pretrained(target)
    return target
