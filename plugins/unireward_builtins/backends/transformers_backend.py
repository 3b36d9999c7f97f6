"""The ``transformers`` backend: Qwen2-VL / Qwen2.5-VL / Qwen3-VL and LLaVA-OneVision judges, batched.

Loads a judge from a hub id or a local folder with ``AutoModelForImageTextToText`` and ``AutoProcessor``
(safetensors only, ``trust_remote_code`` off unless asked), renders each :class:`JudgeRequest` with the
checkpoint's own chat template (one user turn: media parts first, in the request's order, then the text),
and runs batches with left padding.

- ``generate``: greedy decoding, pinned (``do_sample=False``, one beam, no temperature / top-p / top-k,
  no repetition penalty), one batch per token budget.
- ``score_continuations``: the teacher-forced readout behind the fast head, one
  :class:`~unireward_sdk.interfaces.ContinuationScores` per request naming the method that read it (see
  :meth:`TransformersBackend.continuation_logprobs` for when the value is exact).
- ``last_hidden_states``: the final-layer state of each prompt's last token, for value heads.
- ``model`` / ``processor`` / ``encode`` / ``save_pretrained``: what judge training fine-tunes and saves.

Its spec declares all four capabilities (generate, score_continuations, features, trainable).

Videos arrive as frames already sampled by the media layer (8 evenly spaced by default) and go through the
processor's video path untouched (``do_sample_frames=False``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from unireward_sdk import REQUIRED, BackendSpec, Option, hookimpl
from unireward_sdk.model_refs import check_reference, load_error
from unireward_sdk.errors import ConfigError, ModelLoadError, require
from unireward_sdk.interfaces import (
    FEATURES,
    GENERATE,
    SCORE_CONTINUATIONS,
    TRAINABLE,
    ContinuationScores,
    JudgeRequest,
)

# transformers model_type -> the template family the UnifiedReward checkpoints of that base speak
MODEL_TYPE_FAMILY: dict[str, str] = {
    "qwen2_vl": "qwen_v1",
    "qwen2_5_vl": "qwen_v1",
    "qwen3_vl": "qwen_v1",
    "qwen3_vl_moe": "qwen_v1",
    "llava_onevision": "llava_v1",
}
FAMILIES: tuple[str, ...] = ("qwen_v1", "llava_v1", "v2", "think")
_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
# the dtypes a judge runs in, by the names users write
DTYPE_NAMES: dict[str, str] = {"bfloat16": "bfloat16", "float16": "float16", "float32": "float32", "bf16": "bfloat16",
                               "fp16": "float16", "half": "float16", "fp32": "float32", "float": "float32"}
DTYPE_CHOICES: tuple[str, ...] = ("auto", *DTYPE_NAMES)


def check_dtype(dtype: str) -> str:
    """A dtype name, checked against :data:`DTYPE_CHOICES` (int8 and friends are quantisation, not a dtype
    this backend loads in)."""
    if dtype not in DTYPE_NAMES:
        raise ConfigError(f"dtype {dtype!r} is not one a judge loads in", who="backend 'transformers'",
                          fix=f"Use one of {', '.join(DTYPE_CHOICES)} (auto: bfloat16 on CUDA, float32 on CPU)")
    return dtype
_PLACEHOLDERS = ("<image>", "<video>")


def infer_family(checkpoint: str, model_type: str) -> str:
    """The template family of a checkpoint: name hints (Think, 2.0) first, then the architecture.

    Only the checkpoint's own name is looked at, so a folder layout cannot change the answer: the last path
    component, or for a hub cache snapshot (``models--org--name/snapshots/<sha>``) the repository name.
    """
    name = _checkpoint_name(checkpoint).lower()
    if "think" in name:
        return "think"
    if "2.0" in name or "-v2" in name:
        return "v2"
    return MODEL_TYPE_FAMILY.get(model_type, "qwen_v1")


def _checkpoint_name(checkpoint: str) -> str:
    path = Path(str(checkpoint).rstrip("/"))
    if path.parent.name == "snapshots" and path.parent.parent.name.startswith("models--"):
        return path.parent.parent.name.split("--", 2)[-1]
    return path.name


def _refuse_pickles(path: Path) -> None:
    """A local folder whose weights are pickles only is refused before transformers touches it."""
    if not path.is_dir():
        return
    safe = list(path.glob("*.safetensors")) + list(path.glob("*.safetensors.index.json"))
    pickles = [p.name for p in path.iterdir() if p.suffix in _PICKLE_SUFFIXES]
    if pickles and not safe:
        raise ModelLoadError(
            f"the weights are pickle files ({', '.join(sorted(pickles)[:3])}); unireward loads safetensors only, "
            "because unpickling runs arbitrary code",
            who=str(path),
            fix="Convert them once in a trusted environment: "
            "`AutoModelForImageTextToText.from_pretrained(path).save_pretrained(path, safe_serialization=True)`",
        )


@frozen
class ReadoutPlan:
    """How one request's choices are scored. ``continuations``: each choice's tokens after the shared prompt
    (which is ``prompt + prefix`` minus its last ``dropped`` tokens); ``decisive``: how many of them are
    read (through the first token no other choice shares); ``spine``: the tokens teacher-forced after the
    prompt in the single-pass method."""

    method: str  # "single_pass" or "exact"
    dropped: int
    spine: tuple[int, ...]
    continuations: tuple[tuple[int, ...], ...] = field(converter=tuple)
    decisive: tuple[int | None, ...] = field(converter=tuple)

    @property
    def exact(self) -> bool:
        """Whether the value is the full log P(choice) (always for ``exact``; single-token decisions otherwise)."""
        return self.method == "exact" or all(d == len(c) for c, d in zip(self.continuations, self.decisive))


def _decisive_length(tokens: tuple[int, ...], all_choices: Sequence[tuple[int, ...]]) -> int | None:
    """Tokens of a choice up to and including the first one that no other choice shares at that point."""
    others = [c for c in all_choices if c is not tokens]
    for d in range(1, len(tokens) + 1):
        if all(other[:d] != tokens[:d] for other in others):
            return d
    return None  # the choice is a prefix of (or equal to) another one


class TransformersBackend:
    """A loaded judge. Construct with a hub id or local path; see the module docstring.

    Args:
        checkpoint: hub id (``CodeGoat24/UnifiedReward-qwen-7b``) or a local folder.
        family: template family the checkpoint speaks (``qwen_v1``, ``llava_v1``, ``v2``, ``think``);
            default inferred from the checkpoint name and architecture.
        dtype: ``"bfloat16"``, ``"float16"``, ``"float32"`` or a torch dtype; default bf16 on CUDA, fp32 on CPU.
        device: ``"cpu"``, ``"cuda"``, ``"cuda:1"``...; default CUDA when present. Ignored with ``device_map``.
        device_map: passed to ``from_pretrained`` (accelerate placement, e.g. ``"auto"``).
        attn_implementation: ``"sdpa"``, ``"eager"``, ``"flash_attention_2"``...
        trust_remote_code: run code shipped with the checkpoint (off by default).
        revision: hub revision.
        batch_size: the most requests per forward / generate call.
        max_new_tokens: an upper bound on every request's token budget (default: the templates' budgets).
    """

    name = "transformers"

    def __init__(
        self,
        checkpoint: str,
        *,
        family: str | None = None,
        dtype: Any = None,
        device: str | None = None,
        device_map: Any = None,
        attn_implementation: str | None = None,
        trust_remote_code: bool = False,
        revision: str | None = None,
        batch_size: int = 16,
        max_new_tokens: int | None = None,
    ):
        if family is not None and family not in FAMILIES:
            raise ConfigError(
                f"unknown template family {family!r}", who=f"backend 'transformers' ({checkpoint})",
                fix=f"Use one of {', '.join(FAMILIES)}",
            )
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}", who="backend 'transformers'",
                              fix="Set batch_size to a positive integer (default 16)")
        if isinstance(dtype, str) and dtype != "auto":
            check_dtype(dtype)  # a typo is answered with the choices, before torch or the model loads
        check_reference(str(checkpoint), who=f"judge checkpoint '{checkpoint}'", revision=revision)
        self.torch = require("torch", extra="torch", purpose="the transformers judge backend")
        require("transformers", extra="torch", purpose="the transformers judge backend")
        self.checkpoint = str(checkpoint)
        self.batch_size = batch_size
        self.max_new_tokens = max_new_tokens
        self.trust_remote_code = trust_remote_code
        self.device_map = device_map
        self.device = self._pick_device(device) if device_map is None else None
        self.dtype = self._pick_dtype(dtype)
        self.model, self.processor, self.model_type = self._load(attn_implementation, revision)
        if self.device is None:
            self.device = str(self.model.device)
        self.family = family or infer_family(self.checkpoint, self.model_type)
        self.tokenizer = self.processor.tokenizer
        self.tokenizer.padding_side = "left"  # generation continues from the right edge of every row
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.uses_placeholders = self.model_type == "llava_onevision"
        self._plans: dict[tuple, ReadoutPlan] = {}
        self._special_strings: tuple[str, ...] | None = None

    def __repr__(self) -> str:
        return (f"TransformersBackend({self.checkpoint!r}, family={self.family!r}, device={self.device!r}, "
                f"dtype={str(self.dtype).replace('torch.', '')!r})")

    # --- loading ----------------------------------------------------------------------------------

    def _pick_device(self, device: str | None) -> str:
        if device is not None:
            return device
        return "cuda" if self.torch.cuda.is_available() else "cpu"

    def _pick_dtype(self, dtype: Any):
        torch = self.torch
        if dtype is None or dtype == "auto":
            on_cuda = (self.device or "").startswith("cuda") or (self.device is None and torch.cuda.is_available())
            return torch.bfloat16 if on_cuda else torch.float32
        if isinstance(dtype, str):
            return getattr(torch, DTYPE_NAMES[check_dtype(dtype)])
        if dtype not in (torch.bfloat16, torch.float16, torch.float32):
            raise ConfigError(f"dtype {dtype} is not one a judge runs in", who="backend 'transformers'",
                              fix=f"Use one of {', '.join(DTYPE_CHOICES)}")
        return dtype

    def _load(self, attn_implementation: str | None, revision: str | None):
        from transformers import AutoConfig, AutoModelForImageTextToText, AutoProcessor

        who = f"judge checkpoint '{self.checkpoint}'"
        _refuse_pickles(Path(self.checkpoint))
        common: dict[str, Any] = {"trust_remote_code": self.trust_remote_code}
        if revision:
            common["revision"] = revision
        try:
            config = AutoConfig.from_pretrained(self.checkpoint, **common)
        except (OSError, ValueError) as exc:
            raise load_error(exc, self.checkpoint, who=who, what="cannot read its config") from exc
        model_type = getattr(config, "model_type", "?")
        if model_type not in MODEL_TYPE_FAMILY and not self.trust_remote_code:
            raise ModelLoadError(
                f"architecture '{model_type}' is not a supported judge "
                f"(supported: {', '.join(sorted(MODEL_TYPE_FAMILY))})", who=who,
                fix="Use a Qwen2-VL / Qwen2.5-VL / Qwen3-VL or LLaVA-OneVision (transformers format) checkpoint, "
                "or write a backend plugin for this architecture",
            )
        kwargs: dict[str, Any] = dict(common, dtype=self.dtype, use_safetensors=True)
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        if self.device_map is not None:
            kwargs["device_map"] = self.device_map
        try:
            model = AutoModelForImageTextToText.from_pretrained(self.checkpoint, config=config, **kwargs)
            processor = AutoProcessor.from_pretrained(self.checkpoint, **common)
        except (OSError, ValueError, ImportError) as exc:
            raise load_error(exc, self.checkpoint, who=who) from exc
        if self.device_map is None:
            model = model.to(self.device)
        model.eval()
        return model, processor, model_type

    # --- request rendering ------------------------------------------------------------------------

    def prompt_text(self, request: JudgeRequest) -> str:
        """The chat-formatted prompt of one request, up to and including the assistant turn's opening."""
        return self.processor.apply_chat_template(
            self._messages(request), tokenize=False, add_generation_prompt=True
        )

    def _messages(self, request: JudgeRequest) -> list[dict]:
        text = request.text
        if self.uses_placeholders and any(p in text for p in _PLACEHOLDERS):
            # LLaVA templates carry their own <image> placeholders in the text: the media go alongside
            content = [{"type": "text", "text": text}]
        else:
            content = []
            for kind, value in request.parts:
                content.append({"type": "text", "text": value} if kind == "text" else {"type": kind})
        return [{"role": "user", "content": content}]

    def _media(self, request: JudgeRequest) -> tuple[list, list]:
        images = [v for k, v in request.parts if k == "image"]
        videos = [list(v) for k, v in request.parts if k == "video"]
        if self.uses_placeholders and videos:
            text = request.text
            if "<video>" not in text and text.count("<image>") == len(images) + sum(map(len, videos)):
                # the LLaVA reference path shows video frames as images, one <image> per frame
                images = [frame for k, v in request.parts if k in ("image", "video")
                          for frame in ([v] if k == "image" else v)]
                videos = []
        return images, videos

    def encode(
        self, requests: Sequence[JudgeRequest], suffixes: Sequence[str] | None = None,
        prompts: Sequence[str] | None = None,
    ):
        """Processor outputs for a batch (left padded, on the model's device); ``suffixes`` extend the prompts.

        Public so benchmarks can time a bare forward on exactly the batch the heads use.
        """
        suffixes = list(suffixes) if suffixes is not None else [""] * len(requests)
        prompts = list(prompts) if prompts is not None else [self.prompt_text(r) for r in requests]
        texts, images, videos = [], [], []
        for request, prompt, suffix in zip(requests, prompts, suffixes):
            texts.append(prompt + suffix)
            req_images, req_videos = self._media(request)
            images.extend(req_images)
            videos.extend(req_videos)
        kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
        if images:
            kwargs["images"] = images
        if videos:
            kwargs["videos"] = videos
            kwargs["do_sample_frames"] = False  # frames were already chosen by the media layer
        batch = self.processor(**kwargs)
        return self._to_device(batch)

    def _to_device(self, batch):
        device = self.model.device
        out = {}
        for key, value in batch.items():
            if hasattr(value, "to"):
                value = value.to(device)
                if value.is_floating_point():
                    value = value.to(self.dtype)
            out[key] = value
        return out

    # --- inference --------------------------------------------------------------------------------

    def _chunks(self, indices: Sequence[int]) -> list[list[int]]:
        return [list(indices[i:i + self.batch_size]) for i in range(0, len(indices), self.batch_size)]

    def generate(self, requests: Sequence[JudgeRequest]) -> list[str]:
        """Greedy completions, one per request, batched by token budget (``request.max_new_tokens``)."""
        torch = self.torch
        by_budget: dict[int, list[int]] = defaultdict(list)
        for i, request in enumerate(requests):
            budget = int(request.max_new_tokens)
            if self.max_new_tokens is not None:
                budget = min(budget, self.max_new_tokens)
            by_budget[budget].append(i)
        outputs: list[str] = [""] * len(requests)
        for budget, indices in sorted(by_budget.items()):
            config = self._greedy_config(budget)
            for chunk in self._chunks(indices):
                batch = self.encode([requests[i] for i in chunk])
                with torch.inference_mode():
                    ids = self.model.generate(**batch, generation_config=config)
                new = ids[:, batch["input_ids"].shape[1]:]
                for i, text in zip(chunk, self.tokenizer.batch_decode(new, skip_special_tokens=True)):
                    outputs[i] = text
        return outputs

    def _greedy_config(self, max_new_tokens: int):
        from transformers import GenerationConfig

        base = self.model.generation_config
        eos = base.eos_token_id if base.eos_token_id is not None else self.tokenizer.eos_token_id
        return GenerationConfig(
            do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None, repetition_penalty=None,
            max_new_tokens=max_new_tokens, eos_token_id=eos, pad_token_id=self.tokenizer.pad_token_id,
            bos_token_id=base.bos_token_id,
        )

    def readout_plan(self, prompt: str, prefix: str, choices: Sequence[str]) -> ReadoutPlan:
        """How :meth:`continuation_logprobs` scores ``choices`` after ``prompt + prefix`` (see there).

        Special tokens are never merged with their neighbours, so only the text after the prompt's last
        special token (``assistant\n`` in ChatML) can interact with the prefix and choices: plans are
        computed on that tail and cached, which keeps tokenisation out of the hot path.
        """
        tail = prompt[self._tail_start(prompt):]
        key = (tail, prefix, tuple(choices))
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) > 4096:
                self._plans.clear()
            plan = self._plans[key] = self._plan(tail, prefix, choices)
        return plan

    def _tail_start(self, prompt: str) -> int:
        if self._special_strings is None:
            decoder = getattr(self.tokenizer, "added_tokens_decoder", {}) or {}
            specials = {str(t) for t in self.tokenizer.all_special_tokens}
            specials |= {getattr(t, "content", str(t)) for t in decoder.values() if getattr(t, "special", False)}
            self._special_strings = tuple(s for s in specials if s)
        ends = [i + len(s) for s in self._special_strings if (i := prompt.rfind(s)) >= 0]
        return max(ends, default=0)

    def _plan(self, prompt: str, prefix: str, choices: Sequence[str]) -> ReadoutPlan:
        tok = self.tokenizer
        base = tok(prompt + prefix, add_special_tokens=False)["input_ids"]
        fulls = [tok(prompt + prefix + choice, add_special_tokens=False)["input_ids"] for choice in choices]
        # tokens every choice shares with the prompt (a trailing space of the prefix may merge into a choice)
        k = len(base)
        for full in fulls:
            i = 0
            while i < min(k, len(full)) and base[i] == full[i]:
                i += 1
            k = i
        continuations = [tuple(full[k:]) for full in fulls]
        decisive = [_decisive_length(c, continuations) for c in continuations]
        exact_plan = ReadoutPlan("exact", len(base) - k, (), continuations, decisive)
        if any(d is None for d in decisive):
            return exact_plan
        # the tokens before each choice's decisive one must lie on one path (the spine) for one pass to do
        stems = [c[: d - 1] for c, d in zip(continuations, decisive)]
        spine = max(stems, key=len)
        if any(spine[: len(stem)] != stem for stem in stems):
            return exact_plan
        return ReadoutPlan("single_pass", len(base) - k, spine, continuations, decisive)

    def score_continuations(
        self,
        requests: Sequence[JudgeRequest],
        prefixes: Sequence[str],
        choices: Sequence[Sequence[str]],
        *,
        method: str = "auto",
    ) -> list[ContinuationScores]:
        """The readout of every request: its choices' log-probabilities and the method that read them.

        The values are those of :meth:`continuation_logprobs` (see there); ``method`` is ``single_pass``
        or ``exact``, per request.
        """
        logprobs, plans = self._continuation_logprobs(requests, prefixes, choices, method)
        return [ContinuationScores(row, plan.method) for row, plan in zip(logprobs, plans)]

    def continuation_logprobs(
        self,
        requests: Sequence[JudgeRequest],
        prefixes: Sequence[str],
        choices: Sequence[Sequence[str]],
        *,
        method: str = "auto",
    ) -> list[list[float]]:
        """log P(choice | request, assistant answer begun with ``prefix``), for each request and choice.

        ``method="auto"`` picks per request (see :meth:`readout_plan`; :meth:`score_continuations`
        returns which one it was):

        - ``single_pass``: each choice's tokens are cut after its *decisive* token, the first one no other
          choice shares ("Image 1 is better." vs "Image 2 is better." vs "Both ..." decide at " 1", " 2",
          "Both"). When the tokens before the decisive ones lie on one path (here: "Image"), ONE forward
          pass over ``prompt + prefix + path`` reads every decision (logits of the last ``len(path) + 1``
          positions only). The value is log P(choice up to its decisive token): exactly log P(choice)
          when no choice goes on after its decisive token (single-token choices such as score digits);
          otherwise it is the probability of the decisions greedy decoding takes, and the rest of the
          choice (" is better.") is assumed to follow.
        - ``exact``: one forward pass over ``prompt + prefix + choice`` for every choice (all choices of a
          batch in one padded batch); the full teacher-forced log P(choice), for any tokenisation. Used
          when the choices do not fit one path (or one choice's tokens start another's).

        ``method="exact"`` forces the second path for every request.
        """
        return self._continuation_logprobs(requests, prefixes, choices, method)[0]

    def _continuation_logprobs(self, requests, prefixes, choices, method: str) -> tuple[list[list[float]], list]:
        if not (len(requests) == len(prefixes) == len(choices)):
            raise ValueError("requests, prefixes and choices must have the same length")
        if method not in ("auto", "exact"):
            raise ValueError(f"method must be 'auto' or 'exact', got {method!r}")
        prompts = [self.prompt_text(r) for r in requests]
        plans = [self.readout_plan(p, pre, ch) for p, pre, ch in zip(prompts, prefixes, choices)]
        if method == "exact":
            plans = [attrs.evolve(plan, method="exact") for plan in plans]
        results: list[list[float]] = [[] for _ in requests]
        groups: dict[tuple[int, int], list[int]] = defaultdict(list)
        for i, plan in enumerate(plans):
            if plan.method == "single_pass":
                # rows of one batch must drop and append the same number of tokens
                groups[(plan.dropped, len(plan.spine))].append(i)
        for (dropped, n_spine), indices in groups.items():
            for chunk in self._chunks(indices):
                batch = self.encode([requests[i] for i in chunk], [prefixes[i] for i in chunk],
                                    [prompts[i] for i in chunk])
                batch = self._splice(batch, dropped, [plans[i].spine for i in chunk])
                logprobs = self._tail_logprobs(batch, n_spine + 1)
                for row, i in enumerate(chunk):
                    plan = plans[i]
                    results[i] = [
                        float(sum(logprobs[row, t, c[t]] for t in range(d)))
                        for c, d in zip(plan.continuations, plan.decisive)
                    ]
        exact = [i for i, plan in enumerate(plans) if plan.method == "exact"]
        self._exact_logprobs(requests, prompts, prefixes, choices, plans, exact, results)
        return results, plans

    def _splice(self, batch: dict, dropped: int, spines: Sequence[Sequence[int]]) -> dict:
        """Drop the prompt's last ``dropped`` tokens and append each row's spine (left padding keeps rows aligned)."""
        torch = self.torch
        if not dropped and not any(spines):
            return batch
        ids = batch["input_ids"]
        end = ids.shape[1] - dropped
        tail = torch.tensor([list(s) for s in spines], dtype=ids.dtype, device=ids.device).reshape(len(spines), -1)
        out = dict(batch)
        out["input_ids"] = torch.cat([ids[:, :end], tail], dim=1)
        out["attention_mask"] = torch.cat([batch["attention_mask"][:, :end], torch.ones_like(tail)], dim=1)
        if "mm_token_type_ids" in batch:  # the spine is text: type 0
            out["mm_token_type_ids"] = torch.cat([batch["mm_token_type_ids"][:, :end], torch.zeros_like(tail)], dim=1)
        return out

    def _tail_logprobs(self, batch: dict, keep: int):
        torch = self.torch
        with torch.inference_mode():
            logits = self.model(**batch, logits_to_keep=keep, use_cache=False).logits
        return torch.log_softmax(logits.float(), dim=-1).cpu()

    def _exact_logprobs(self, requests, prompts, prefixes, choices, plans, indices, results) -> None:
        rows = [(i, j) for i in indices for j in range(len(choices[i]))]
        for start in range(0, len(rows), self.batch_size):
            part = rows[start:start + self.batch_size]
            batch = self.encode([requests[i] for i, _ in part], [prefixes[i] + choices[i][j] for i, j in part],
                                [prompts[i] for i, _ in part])
            # with left padding every row ends with its continuation: only the last positions are needed
            lengths = [len(plans[i].continuations[j]) for i, j in part]
            keep = max(lengths) + 1
            logprobs = self._tail_logprobs(batch, keep)
            ids = batch["input_ids"].cpu()
            for row, ((i, j), n) in enumerate(zip(part, lengths)):
                if n == 0:
                    results[i].append(0.0)
                    continue
                targets = ids[row, -n:]
                # logits at position t predict token t+1: the n predictions end one before the last slot
                predicted = logprobs[row, keep - 1 - n: keep - 1]
                results[i].append(float(predicted.gather(-1, targets[:, None]).sum()))

    def last_hidden_states(self, requests: Sequence[JudgeRequest]):
        """Final-layer hidden state of each prompt's last token, ``[batch, hidden]`` float32 on the CPU.

        The prompt ends with the assistant turn's opening, so this is the state the judge answers from.
        """
        torch = self.torch
        out = []
        for chunk in self._chunks(range(len(requests))):
            batch = self.encode([requests[i] for i in chunk])
            with torch.inference_mode():
                hidden = self.model.model(**batch, use_cache=False).last_hidden_state
            out.append(hidden[:, -1, :].float().cpu())
        if not out:
            return torch.zeros((0, self.model.config.get_text_config().hidden_size))
        return torch.cat(out)


    def save_pretrained(self, path: str | Path) -> None:
        """The model's weights (safetensors) and the processor in one folder this backend loads again."""
        folder = Path(path)
        folder.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(folder, safe_serialization=True)
        self.processor.save_pretrained(folder)


OPTIONS: tuple[Option, ...] = (
    Option("checkpoint", str, default=REQUIRED, help="hub id or local folder of the judge"),
    Option("family", (str, type(None)), default=None,
           help=f"template family the checkpoint speaks: {', '.join(FAMILIES)} (default: inferred)"),
    Option("dtype", object, default=None,
           help=f"{', '.join(DTYPE_CHOICES)} or a torch dtype (default: bf16 on CUDA, fp32 on CPU)"),
    Option("device", (str, type(None)), default=None, help="cpu, cuda, cuda:1... (default: cuda when present)"),
    Option("device_map", object, default=None, help="accelerate placement passed to from_pretrained, e.g. 'auto'"),
    Option("attn_implementation", (str, type(None)), default=None, help="sdpa, eager, flash_attention_2..."),
    Option("trust_remote_code", bool, default=False, help="run code shipped with the checkpoint"),
    Option("revision", (str, type(None)), default=None, help="hub revision"),
    Option("batch_size", int, default=16, help="the most requests per forward / generate call"),
    Option("max_new_tokens", (int, type(None)), default=None,
           help="upper bound on every request's token budget (default: the templates' budgets)"),
)


@hookimpl
def unireward_register_backends():
    yield BackendSpec(
        name="transformers",
        factory=TransformersBackend,
        families=FAMILIES,
        capabilities=(GENERATE, SCORE_CONTINUATIONS, FEATURES, TRAINABLE),
        options=OPTIONS,
        requires=("torch",),
        summary="Hugging Face transformers: Qwen2-VL / Qwen2.5-VL / Qwen3-VL and LLaVA-OneVision judges, batched",
    )
