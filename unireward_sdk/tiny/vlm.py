"""Tiny judge models for tests, benchmarks and CPU applications: real architectures and processors, a few
hundred thousand weights.

``build_tiny_judge(path)`` writes a checkpoint folder (safetensors weights, config, tokenizer, image and
video processor, chat template) that loads through exactly the ``from_pretrained`` path a released
UnifiedReward checkpoint uses, offline, in about a second. ``train_tiny_judge_to_emit`` teaches such a
judge, in a few dozen CPU steps, to answer a fixed sentence chosen by its input, so that heads that
generate and heads that read token probabilities can be checked against each other.

Everything here imports torch/transformers lazily so that importing ``unireward_sdk.tiny`` (or
``unireward_sdk.testing``) stays cheap.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

ARCHITECTURES = ("qwen2_vl", "qwen2_5_vl", "llava_onevision")

# Special tokens with fixed ids at the start of the vocabulary; never split by the BPE.
QWEN_SPECIAL_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)
LLAVA_SPECIAL_TOKENS = ("<image>", "<video>")

# The Qwen2-VL chat format: media parts become <|vision_start|><|image_pad|><|vision_end|> in order,
# a default system turn is added, and the assistant turn is opened by add_generation_prompt.
QWEN2_VL_CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}<|im_end|>\n{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# LLaVA-OneVision (transformers format): the same ChatML turns; media appear as <image>/<video> placeholders.
LLAVA_ONEVISION_CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content %}<image>\n"
    "{% elif content['type'] == 'video' or 'video' in content %}<video>\n"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}"
    "{% endfor %}{% endif %}<|im_end|>\n"
    "{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Words the UnifiedReward prompts and answers use, so the tiny BPE learns sensible merges for them.
_TRAINING_SENTENCES = (
    "You are a helpful assistant.",
    "You are given a text caption and two generated images based on that caption.",
    "Your task is to evaluate and compare these images based on two key criteria: Alignment with the Caption.",
    "Overall Image Quality: Examine the visual quality of each image, including clarity and detail.",
    "Provide a clear conclusion such as \"Image 1 is better.\", \"Image 2 is better.\" and \"Both images are equally good.\"",
    "Image 1 is better than Image 2. Image 2 is better than Image 1. Both images are equally good.",
    "Video 1 is better than Video 2. Video 2 is better than Video 1. Both videos are equally good.",
    "Answer 1 is better. Answer 2 is better. Response 1 is better. Response 2 is better.",
    "Overall Judgment: Therefore, Image 1 is better. <think> reasoning </think> <answer> Image 2 </answer>",
    "Final Score: 1 2 3 4 5 6 7 8 9 10 0 100 50. Final Score: 3.5",
    "Alignment Score (1-5): 4 Coherence Score (1-5): 3 Style Score (1-5): 5 Physics Score (1-5): 2",
    "Alignment Score: Video 1: 0.6 Video 2: 0.4 Coherence Score: Image 1: 0.5 Image 2: 0.5",
    "Your task is provided as follows: Text Caption: [a red cube on a blue table]",
    "Question: what is in the image? Answer 1: a cat Answer 2: a dog Response: a bird",
    "You are provided with an image and a question for this image. Please review the corresponding responses.",
    "Suppose you are an expert in judging and evaluating the quality of AI-generated videos and frames.",
    "the quick brown fox jumps over the lazy dog; a photo of a green tree, a yellow sun, an orange car.",
)


# --- tokenizer -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=8)
def _tokenizer_json(arch_family: str, vocab_size: int, corpus: tuple[str, ...] = ()) -> str:
    """Train the byte-level BPE once per process (deterministic) and keep its JSON."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    specials = list(QWEN_SPECIAL_TOKENS) + (list(LLAVA_SPECIAL_TOKENS) if arch_family == "llava" else [])
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(list(_TRAINING_SENTENCES) * 4 + list(corpus), trainer=trainer)
    return tok.to_str()


def build_tiny_tokenizer(arch: str = "qwen2_vl", vocab_size: int = 480, corpus: Sequence[str] = ()):
    """A ``PreTrainedTokenizerFast`` with the Qwen special tokens (fixed ids 0..7) and the Qwen2-VL chat template.

    ``arch="llava_onevision"`` adds ``<image>`` and ``<video>`` (ids 8, 9) and the LLaVA chat format.
    ``corpus``: extra training text (e.g. the judge's template texts) so that long prompts become few
    tokens, which is what makes training a tiny judge on them fast; raise ``vocab_size`` with it.
    """
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    family = "llava" if arch == "llava_onevision" else "qwen"
    backend = Tokenizer.from_str(_tokenizer_json(family, vocab_size, tuple(corpus)))
    specials = list(QWEN_SPECIAL_TOKENS[1:]) + (list(LLAVA_SPECIAL_TOKENS) if family == "llava" else [])
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=specials,
        padding_side="left",
        model_max_length=32768,
    )
    tokenizer.chat_template = LLAVA_ONEVISION_CHAT_TEMPLATE if family == "llava" else QWEN2_VL_CHAT_TEMPLATE
    if family == "llava":
        # LLaVA-OneVision processors look these attributes up on the tokenizer
        tokenizer.image_token = "<image>"
        tokenizer.video_token = "<video>"
    return tokenizer


# --- model + processor ---------------------------------------------------------------------------


def _qwen_processor(arch: str, tokenizer, patch: int, merge: int, temporal: int):
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    common = dict(patch_size=patch, merge_size=merge, temporal_patch_size=temporal)
    factor = patch * merge
    # small pixel budgets keep sequences short: a 64x64 image is 16 tokens, 8 frames of 64x64 are 64
    image_processor = Qwen2VLImageProcessor(min_pixels=factor * factor, max_pixels=128 * 128, **common)
    video_processor = Qwen2VLVideoProcessor(
        min_pixels=factor * factor, max_pixels=64 * 64, do_sample_frames=False, cap_pixels_per_frame=False,
        **common,
    )
    if arch == "qwen2_5_vl":
        from transformers import Qwen2_5_VLProcessor as processor_cls
    else:
        processor_cls = Qwen2VLProcessor
    return processor_cls(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video_processor,
        chat_template=tokenizer.chat_template,
    )


def _qwen_config(arch: str, tokenizer, hidden: int, layers: int, patch: int, merge: int, temporal: int):
    ids = {name: tokenizer.convert_tokens_to_ids(tok) for name, tok in (
        ("image_token_id", "<|image_pad|>"),
        ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"),
        ("vision_end_token_id", "<|vision_end|>"),
    )}
    heads = 4
    head_dim = hidden // heads
    # mrope_section splits head_dim/2 rotary frequencies over (time, height, width)
    half = head_dim // 2
    section = [half // 4, (half - half // 4) // 2, half - half // 4 - (half - half // 4) // 2]
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=hidden * 2,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        rope_parameters={"rope_type": "default", "rope_theta": 1e4, "mrope_section": section},
        bos_token_id=None,
        eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    vision_common = dict(depth=2, num_heads=4, patch_size=patch, spatial_merge_size=merge, temporal_patch_size=temporal)
    if arch == "qwen2_5_vl":
        from transformers import Qwen2_5_VLConfig

        vision = dict(hidden_size=64, intermediate_size=128, out_hidden_size=hidden, window_size=32,
                      fullatt_block_indexes=[1], **vision_common)
        return Qwen2_5_VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)
    from transformers import Qwen2VLConfig

    vision = dict(embed_dim=64, hidden_size=hidden, mlp_ratio=2, **vision_common)
    return Qwen2VLConfig(text_config=text, vision_config=vision, tie_word_embeddings=True, **ids)


def _llava_parts(tokenizer, hidden: int, layers: int):
    from transformers import (
        LlavaOnevisionConfig,
        LlavaOnevisionImageProcessor,
        LlavaOnevisionProcessor,
        LlavaOnevisionVideoProcessor,
    )

    image_size, patch = 32, 8
    config = LlavaOnevisionConfig(
        text_config=dict(
            model_type="qwen2",
            vocab_size=len(tokenizer),
            hidden_size=hidden,
            intermediate_size=hidden * 2,
            num_hidden_layers=layers,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=4096,
            eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"),
            pad_token_id=tokenizer.pad_token_id,
            tie_word_embeddings=True,
        ),
        vision_config=dict(
            model_type="siglip_vision_model",
            hidden_size=64,
            intermediate_size=128,
            num_hidden_layers=2,
            num_attention_heads=4,
            image_size=image_size,
            patch_size=patch,
        ),
        image_token_index=tokenizer.convert_tokens_to_ids("<image>"),
        video_token_index=tokenizer.convert_tokens_to_ids("<video>"),
        image_grid_pinpoints=[[image_size, image_size], [image_size, 2 * image_size], [2 * image_size, image_size]],
        vision_feature_layer=-1,
        tie_word_embeddings=True,
    )
    size = {"height": image_size, "width": image_size}
    processor = LlavaOnevisionProcessor(
        image_processor=LlavaOnevisionImageProcessor(
            size=size, crop_size=size, image_grid_pinpoints=config.image_grid_pinpoints
        ),
        video_processor=LlavaOnevisionVideoProcessor(size=size, do_sample_frames=False),
        tokenizer=tokenizer,
        num_image_tokens=(image_size // patch) ** 2,
        vision_feature_select_strategy="full",
        chat_template=tokenizer.chat_template,
    )
    return config, processor


def build_tiny_judge(
    path: str | Path,
    arch: str = "qwen2_vl",
    seed: int = 0,
    hidden: int = 128,
    layers: int = 2,
    vocab_size: int = 480,
    tokenizer_corpus: Sequence[str] = (),
) -> Path:
    """Build a randomly initialised tiny judge of a real architecture and save it with its full processor.

    The folder loads with ``AutoModelForImageTextToText.from_pretrained(path)`` and
    ``AutoProcessor.from_pretrained(path)`` offline. Weights are written as safetensors.
    ``vocab_size`` / ``tokenizer_corpus`` are passed to :func:`build_tiny_tokenizer`.
    """
    import torch

    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown tiny judge architecture {arch!r}; choose one of {ARCHITECTURES}")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tiny_tokenizer(arch, vocab_size=vocab_size, corpus=tokenizer_corpus)
    if arch == "llava_onevision":
        from transformers import LlavaOnevisionForConditionalGeneration as model_cls

        config, processor = _llava_parts(tokenizer, hidden, layers)
    else:
        patch, merge, temporal = 8, 2, 2
        config = _qwen_config(arch, tokenizer, hidden, layers, patch, merge, temporal)
        processor = _qwen_processor(arch, tokenizer, patch, merge, temporal)
        if arch == "qwen2_5_vl":
            from transformers import Qwen2_5_VLForConditionalGeneration as model_cls
        else:
            from transformers import Qwen2VLForConditionalGeneration as model_cls
    torch.manual_seed(seed)
    model = model_cls(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    return path


# --- teaching a tiny judge a fixed answer ----------------------------------------------------------


def train_tiny_judge_to_emit(
    path: str | Path,
    examples: Sequence[tuple[Sequence[tuple[str, Any]], str]],
    *,
    steps: int = 60,
    lr: float = 3e-3,
    seed: int = 0,
    build_messages: Callable[[Sequence[tuple[str, Any]]], list[dict]] | None = None,
) -> Path:
    """Fine-tune the saved tiny judge at ``path`` (in place) to answer each prompt with its target text.

    ``examples`` pairs request parts (``("image", PIL)``, ``("video", [frames])``, ``("text", str)``, the
    same shape as :class:`~unireward_sdk.interfaces.JudgeRequest.parts`) with the exact assistant answer.
    Loss is on the answer tokens (and the end-of-turn token) only. A few dozen full-batch steps make a
    0.6M-parameter judge reproduce the answers greedily, which is what head-agreement tests need.
    """
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    path = Path(path)
    torch.manual_seed(seed)
    processor = AutoProcessor.from_pretrained(path)
    model = AutoModelForImageTextToText.from_pretrained(path, dtype=torch.float32)
    tok = processor.tokenizer
    to_messages = build_messages or _default_messages

    prompts, videos, images = [], [], []
    for parts, _target in examples:
        prompts.append(processor.apply_chat_template(to_messages(parts), tokenize=False, add_generation_prompt=True))
        images.extend(v for k, v in parts if k == "image")
        videos.extend(v for k, v in parts if k == "video")
    full = [p + t + tok.eos_token for p, (_, t) in zip(prompts, examples)]
    kwargs: dict[str, Any] = {"text": full, "padding": True, "return_tensors": "pt"}
    if images:
        kwargs["images"] = images
    if videos:
        kwargs["videos"] = videos
        kwargs["do_sample_frames"] = False
    padding_side = tok.padding_side
    tok.padding_side = "right"  # right padding keeps the answer positions easy to mask
    try:
        batch = processor(**kwargs)
        prompt_lengths = [len(processor(text=[p], images=[v for k, v in parts if k == "image"] or None,
                                        videos=[v for k, v in parts if k == "video"] or None,
                                        do_sample_frames=False)["input_ids"][0])
                          for p, (parts, _) in zip(prompts, examples)]
    finally:
        tok.padding_side = padding_side
    labels = batch["input_ids"].clone()
    labels[batch["attention_mask"] == 0] = -100
    for row, n in enumerate(prompt_lengths):
        labels[row, :n] = -100

    model.train()
    optim = torch.optim.AdamW(model.parameters(), lr=lr)
    for _ in range(steps):
        loss = model(**batch, labels=labels).loss
        optim.zero_grad()
        loss.backward()
        optim.step()
    model.eval()
    model.save_pretrained(path, safe_serialization=True)
    (path / "tiny_training.json").write_text(json.dumps({"steps": steps, "final_loss": loss.item()}))
    return path


def _default_messages(parts: Sequence[tuple[str, Any]]) -> list[dict]:
    """Qwen-style user turn: media content parts first, then the text (as the judges were trained)."""
    content = []
    for kind, value in parts:
        if kind == "text":
            content.append({"type": "text", "text": value})
        else:
            content.append({"type": kind})
    return [{"role": "user", "content": content}]
