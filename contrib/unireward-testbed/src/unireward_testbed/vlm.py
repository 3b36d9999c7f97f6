"""The testbed's vision-language models: a Qwen2-VL-architecture VLM with a tokenizer that knows the world.

One tiny VLM architecture serves as the base of both the judge and the question-answering policy, as a
released VLM does for UnifiedReward. Its tokenizer is a byte-level BPE trained on the judge templates
(filled with world captions, questions and answers) whose pre-tokenizer keeps every world word, digit
and newline a token of its own and lets the fixed template text merge into long tokens. A 150-word
UnifiedReward prompt then costs a handful of tokens instead of two hundred, which is what makes training
judges on the real templates fit a CPU budget, while the words a judge must read (colours, shapes,
positions, directions, counts, score digits) stay separate, context-free tokens.

Models are built with the project's tiny-judge recipe (:func:`unireward_sdk.tiny.vlm.build_tiny_judge`)
and saved with ``save_pretrained``, so they load through the same ``from_pretrained`` path as released
checkpoints.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .world import COLOURS, COUNT_WORDS, DIRECTIONS, POSITIONS, SHAPES, World, motion_questions, scene_questions

TASKS = ("image_generation", "video_generation", "image_understanding", "video_understanding")
JUDGE_FAMILY = "qwen_v1"

# words a model must read as themselves wherever they appear (plurals are their own word)
WORLD_WORDS: tuple[str, ...] = tuple(sorted(
    {*COLOURS, *SHAPES, *(f"{s}s" for s in SHAPES), *POSITIONS, *DIRECTIONS, *COUNT_WORDS.values()},
    key=lambda word: (-len(word), word),  # longest first (so "circles" wins over "circle"), then a fixed order
))


def answer_sentence(attribute: str, value: str) -> str:
    """A short natural answer naming ``value`` (shared by the policy's targets and the simulator)."""
    from .preferences import answer_sentence as sentence
    from .world import Question

    return sentence(Question("", value, (value,), attribute), value)


def _world_texts(n: int = 60) -> list[tuple[str, str, str, str]]:
    """(caption, question, right answer, wrong answer) samples covering every world word."""
    world = World(seed=12345, max_count=3)
    out = []
    for i in range(n):
        scene, motion = world.scene(i), world.motion(i)
        questions = scene_questions(scene) + motion_questions(motion)
        q = questions[i % len(questions)]
        wrong = [o for o in q.options if o != q.answer][i % (len(q.options) - 1)]
        caption = scene.caption() if i % 2 else motion.caption()
        out.append((caption, q.text, answer_sentence(q.attribute, q.answer), answer_sentence(q.attribute, wrong)))
    return out


def tokenizer_corpus(registry: Any = None) -> list[str]:
    """Texts the tokenizer is trained on: every default template of the judge family, filled with world
    values, plus captions, answers, verdicts and scores."""
    if registry is None:
        from unireward_sdk.registry import get_registry

        registry = get_registry()
    texts: list[str] = []
    samples = _world_texts()
    for task_name in TASKS:
        task = registry.task(task_name)
        for mode in ("pairwise", "pointwise"):
            template = task.template(task.default_template(mode, JUDGE_FAMILY))
            for caption, question, right, wrong in samples:
                values = {"prompt": caption, "question": question, "response": right,
                          "response_1": right, "response_2": wrong}
                texts.append(template.prompt({k: v for k, v in values.items() if k in template.slots},
                                             media_units=2))
    for caption, question, right, wrong in samples:
        texts += [caption, question, right, wrong, f"Describe the image.\n{caption}",
                  f"Does this caption match the image? {caption}", f"Does this caption match the video? {caption}",
                  "yes", "no"]
    texts += [f"Final Score: {v}" for v in range(0, 101)]
    # the chat turns' role lines, so "assistant\n" is one token and never merges into an answer
    texts += ["system\nYou are a helpful assistant.", "user\n", "assistant\n"] * 20
    return texts


@functools.lru_cache(maxsize=2)
def _tokenizer_json(vocab_size: int) -> str:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

    from unireward_sdk.tiny import QWEN_SPECIAL_TOKENS

    words = "|".join(WORLD_WORDS)
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        # world words, single digits and newlines are isolated; everything between them may merge freely
        pre_tokenizers.Split(Regex(rf"\b(?:{words})\b|\d|\n"), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(QWEN_SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(tokenizer_corpus(), trainer=trainer)
    return tok.to_str()


def build_tokenizer(vocab_size: int = 3000):
    """The testbed tokenizer: Qwen special tokens at ids 0..7, the Qwen2-VL chat template, left padding."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    from unireward_sdk.tiny import QWEN2_VL_CHAT_TEMPLATE, QWEN_SPECIAL_TOKENS

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_tokenizer_json(vocab_size)),
        eos_token="<|im_end|>", pad_token="<|endoftext|>",
        additional_special_tokens=list(QWEN_SPECIAL_TOKENS[1:]), padding_side="left", model_max_length=32768,
    )
    tokenizer.chat_template = QWEN2_VL_CHAT_TEMPLATE
    return tokenizer


def build_base_vlm(path: str | Path, *, seed: int = 0, hidden: int = 128, layers: int = 2,
                   vocab_size: int = 3000, image_pixels: int = 32 * 32) -> Path:
    """A randomly initialised Qwen2-VL VLM with the testbed tokenizer, saved with its full processor.

    ``image_pixels``: the processor's minimum pixels per image (32x32 images are 4 visual tokens; a
    larger minimum upsamples them into more tokens).
    """
    import torch
    from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

    from unireward_sdk.tiny import build_tiny_judge

    path = Path(path)
    build_tiny_judge(path, arch="qwen2_vl", seed=seed, hidden=hidden, layers=layers)
    tokenizer = build_tokenizer(vocab_size)
    config = AutoConfig.from_pretrained(path)
    config.text_config.vocab_size = len(tokenizer)
    # untied input and output embeddings: with them tied, a model this small does not learn to compare two
    # tokens (is the answer's colour the image's colour?) in thousands of steps; untied, in hundreds
    config.tie_word_embeddings = False
    config.text_config.tie_word_embeddings = False
    # the special tokens keep their ids (0..7), so the image/video token ids in the config stay valid
    assert tokenizer.convert_tokens_to_ids("<|image_pad|>") == config.image_token_id
    torch.manual_seed(seed)
    model = AutoModelForImageTextToText.from_config(config).eval()
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    processor = AutoProcessor.from_pretrained(path)
    processor.tokenizer = tokenizer
    processor.chat_template = tokenizer.chat_template
    size = dict(processor.image_processor.size)
    processor.image_processor.size = {**size, "shortest_edge": max(size["shortest_edge"], image_pixels)}
    model.save_pretrained(path, safe_serialization=True)
    processor.save_pretrained(path)
    return path


def user_messages(parts: Sequence[tuple[str, Any]]) -> list[dict]:
    """A Qwen-style user turn: media parts first, then text, as the judges and the policy are prompted."""
    return [{"role": "user", "content": [{"type": "text", "text": v} if k == "text" else {"type": k}
                                         for k, v in parts]}]
