"""The behaviours plugins implement, as ``typing.Protocol``s. Values are records (:mod:`.records`).

The core never imports a concrete implementation: everything concrete is built by a spec's factory.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from .records import Candidate, DroppedPrompt, JudgeItem, Media, PreferencePair, Score, Verdict

# What a backend can do. A BackendSpec lists the ones its backends have; a RewardHeadSpec the ones it needs.
GENERATE = "generate"  # free-form text for a rendered request
SCORE_CONTINUATIONS = "score_continuations"  # log-probabilities of given answer continuations
FEATURES = "features"  # hidden states of a rendered request (value heads)
TRAINABLE = "trainable"  # exposes model, processor and save_pretrained (judge training)
CAPABILITIES: tuple[str, ...] = (GENERATE, SCORE_CONTINUATIONS, FEATURES, TRAINABLE)


@runtime_checkable
class Modality(Protocol):
    """A kind of content: load and validate a file, hash it, prepare it for a model.

    ``load`` raises :class:`~unireward_sdk.errors.MediaError` naming the file and the reason when the
    file is missing, corrupt, truncated or unsupported; it never substitutes a default.
    """

    name: str

    def load(self, source: str | Path) -> Media: ...

    def content_hash(self, source: str | Path) -> str: ...


@frozen
class JudgeRequest:
    """A rendered judge prompt: ordered content parts, media first as the checkpoints expect.

    ``parts`` is a tuple of ``(kind, value)`` with kind ``"image"`` (a PIL image), ``"video"`` (a list of
    frames) or ``"text"`` (a string). ``max_new_tokens`` is the template's token budget.
    """

    parts: tuple[tuple[str, Any], ...] = field(converter=tuple)
    template_id: str = ""
    max_new_tokens: int = 256
    item_id: str = ""

    @property
    def text(self) -> str:
        return "".join(v for k, v in self.parts if k == "text")


@runtime_checkable
class Task(Protocol):
    """What is judged: its templates, how an item becomes a judge request, how output is parsed."""

    name: str
    modalities: tuple[str, ...]

    def templates(self) -> Mapping[str, Any]: ...

    def default_template(self, mode: str, family: str) -> str: ...

    def build_request(self, item: JudgeItem, template_id: str, media: MediaLoader) -> JudgeRequest: ...

    def parse(self, template_id: str, raw: str, item_id: str) -> Verdict | Score: ...


class MediaLoader(Protocol):
    """Loads a path through the right modality, once per job (cached by content hash)."""

    def __call__(self, path: str, modality: str | None = None) -> Media: ...


@runtime_checkable
class JudgeBackend(Protocol):
    """A loaded judge model. Heads call it; it knows nothing of tasks or templates."""

    name: str
    checkpoint: str
    family: str  # template family the checkpoint was trained with, e.g. "qwen_v1"

    def generate(self, requests: Sequence[JudgeRequest]) -> list[str]: ...

    def continuation_logprobs(
        self, requests: Sequence[JudgeRequest], prefixes: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[list[float]]:
        """log P(choice | request, assistant answer starting with prefix), for each choice string."""
        ...


@runtime_checkable
class RewardHead(Protocol):
    """Produces judgments from a backend: pairwise verdicts and/or pointwise scores, batched."""

    name: str

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]: ...

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]: ...


@frozen
class CandidateGroup:
    """One prompt and its candidates as they move through filter stages.

    ``chosen`` / ``rejected`` are filled by pair ranking, ``pair`` or ``dropped`` by point sifting.
    """

    prompt_id: str
    task: str
    candidates: tuple[Candidate, ...] = field(converter=tuple)
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)
    chosen: tuple[Candidate, ...] = field(default=(), converter=tuple)
    rejected: tuple[Candidate, ...] = field(default=(), converter=tuple)
    verdicts: tuple[Verdict, ...] = field(default=(), converter=tuple)
    scores: tuple[Score, ...] = field(default=(), converter=tuple)
    pair: PreferencePair | None = None
    dropped: DroppedPrompt | None = None
    # stage notes that travel with the group (e.g. pair-ranking decisions, the prompt's index in its job)
    meta: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)


@runtime_checkable
class Filter(Protocol):
    """A pair-construction stage over a batch of groups (batched so judge calls span prompts)."""

    name: str

    def apply(self, groups: Sequence[CandidateGroup], judge: RewardHead) -> list[CandidateGroup]: ...


@runtime_checkable
class Aligner(Protocol):
    """Trains a policy on preference pairs, and samples candidates from it to close the loop."""

    name: str

    def train(self, pairs: Any) -> Any: ...

    def sample(self, prompts: Sequence[str], n: int, *, seed: int = 0) -> list[list[Candidate]]: ...

    def save_pretrained(self, path: str | Path) -> None: ...
