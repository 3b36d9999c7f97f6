"""The behaviours plugins implement, as ``typing.Protocol``s. Values are records (:mod:`.records`).

The core never imports a concrete implementation: everything concrete is built by a spec's factory.
Everything a caller of a component relies on is stated here: a backend written to these protocols works
in every head that needs only the capabilities it has (see :data:`CAPABILITY_PROTOCOLS`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from attrs import field, frozen

from .errors import CapabilityError
from .records import Candidate, DroppedPrompt, JudgeItem, Media, PreferencePair, Score, Verdict

# What a backend can do. A BackendSpec lists the ones its backends have; a RewardHeadSpec the ones it needs.
GENERATE = "generate"  # free-form text for a rendered request
SCORE_CONTINUATIONS = "score_continuations"  # log-probabilities of given answer continuations
FEATURES = "features"  # hidden states of a rendered request (value heads)
TRAINABLE = "trainable"  # exposes model, processor and save_pretrained (judge training)
CAPABILITIES: tuple[str, ...] = (GENERATE, SCORE_CONTINUATIONS, FEATURES, TRAINABLE)

# --- judging modes --------------------------------------------------------------------------------

MODES: tuple[str, ...] = ("pairwise", "pointwise")
# a template's detailed mode (the ids' second part) -> the judging mode it serves
TEMPLATE_MODES: dict[str, str] = {
    "pairwise_rank": "pairwise",
    "pairwise_score": "pairwise",
    "pairwise_cot": "pairwise",
    "pointwise_score": "pointwise",
    "pointwise_multi": "pointwise",
}


def judging_mode(template_or_mode: Any) -> str:
    """``pairwise`` or ``pointwise``: the kind of item a template (or a template mode string) judges.

    The one answer to this question in the SDK. Known detailed modes come from :data:`TEMPLATE_MODES`; a
    plugin's own detailed mode (``pointwise_rubric``) is read by its first word when that is a judging
    mode; anything else is returned unchanged, so a caller comparing it with a mode refuses it.
    """
    mode = template_or_mode if isinstance(template_or_mode, str) else str(getattr(template_or_mode, "mode", ""))
    if mode in TEMPLATE_MODES:
        return TEMPLATE_MODES[mode]
    head = mode.split("_", 1)[0]
    return head if head in MODES else mode


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

    def templates(self) -> Mapping[str, Any]:
        """Every template of the task by id (built-in and registered by plugins)."""
        ...

    def template(self, template_id: str) -> Any:
        """One template by id (raises :class:`~unireward_sdk.errors.TemplateError` naming the known ones).

        Heads read its ``mode`` (see :func:`judging_mode`), ``readout`` and ``score_range``.
        """
        ...

    def default_template(self, mode: str, family: str) -> str: ...

    def build_request(self, item: JudgeItem, template_id: str, media: MediaLoader) -> JudgeRequest: ...

    def parse(self, template_id: str, raw: str, item_id: str) -> Verdict | Score: ...


class MediaLoader(Protocol):
    """Loads a path through the right modality, once per job (cached by content hash)."""

    def __call__(self, path: str, modality: str | None = None) -> Media: ...


@frozen
class ContinuationScores:
    """The log-probabilities of one request's answer continuations, and how they were read.

    ``logprobs[i]`` is log P(choice i | request, answer begun with the prefix); ``method`` names the
    readout that produced them (a backend's own word, e.g. ``exact`` or ``single_pass``), so a head can
    record it in provenance without asking the backend afterwards.
    """

    logprobs: tuple[float, ...] = field(converter=lambda v: tuple(float(x) for x in v))
    method: str = ""


@runtime_checkable
class Backend(Protocol):
    """A loaded judge model: what every backend has. Heads call it; it knows nothing of tasks or templates.

    What else it can do is split into the capability protocols below; its :class:`~.specs.BackendSpec`
    lists the capability names, and a head is refused on a backend without the ones it needs.
    """

    name: str
    checkpoint: str
    family: str  # template family the checkpoint was trained with, e.g. "qwen_v1"


@runtime_checkable
class TextGenerator(Backend, Protocol):
    """Capability ``generate``: the judge writes its answer (the generative head)."""

    def generate(self, requests: Sequence[JudgeRequest]) -> list[str]:
        """One completion per request, in order, deterministic (greedy)."""
        ...


@runtime_checkable
class ContinuationScorer(Backend, Protocol):
    """Capability ``score_continuations``: teacher-forced readout of given answers (the fast head)."""

    def score_continuations(
        self, requests: Sequence[JudgeRequest], prefixes: Sequence[str], choices: Sequence[Sequence[str]]
    ) -> list[ContinuationScores]:
        """For each request, log P(choice | request, assistant answer starting with prefix) for each choice."""
        ...


@runtime_checkable
class FeatureExtractor(Backend, Protocol):
    """Capability ``features``: a fixed-width feature vector per request (value heads such as ``scalar``)."""

    def last_hidden_states(self, requests: Sequence[JudgeRequest]) -> Any:
        """A float tensor ``[len(requests), hidden]`` on the CPU: the state the judge answers from."""
        ...


@runtime_checkable
class TrainableBackend(Backend, Protocol):
    """Capability ``trainable``: what judge training fine-tunes, encodes with and saves.

    ``model`` is a torch module the trainers wrap (LoRA) and may replace; ``processor`` the matching
    processor (its ``tokenizer`` included). ``prompt_text`` renders a request as the model sees it and
    ``encode`` batches requests (with optional answer ``suffixes``) into model inputs.
    """

    model: Any
    processor: Any

    def prompt_text(self, request: JudgeRequest) -> str: ...

    def encode(self, requests: Sequence[JudgeRequest], suffixes: Sequence[str] | None = None,
               prompts: Sequence[str] | None = None) -> Any: ...

    def save_pretrained(self, path: str | Path) -> None:
        """Weights (safetensors) and processor in one folder that the backend's factory loads again."""
        ...


@runtime_checkable
class JudgeBackend(TextGenerator, Protocol):
    """A backend that generates: the name older code and the generative head's type hints use."""


# capability name -> the protocol a backend object with that capability satisfies
CAPABILITY_PROTOCOLS: dict[str, type] = {
    GENERATE: TextGenerator,
    SCORE_CONTINUATIONS: ContinuationScorer,
    FEATURES: FeatureExtractor,
    TRAINABLE: TrainableBackend,
}
# what each capability adds to a backend object (its protocol's own members), checked at head construction
CAPABILITY_MEMBERS: dict[str, tuple[str, ...]] = {
    GENERATE: ("generate",),
    SCORE_CONTINUATIONS: ("score_continuations",),
    FEATURES: ("last_hidden_states",),
    TRAINABLE: ("model", "processor", "prompt_text", "encode", "save_pretrained"),
}


def missing_capabilities(backend: Any, needs: Sequence[str]) -> dict[str, list[str]]:
    """{capability: [missing members]} for the capabilities in ``needs`` that ``backend`` does not implement.

    Only the capability's own members are looked at (not ``name`` / ``checkpoint``), so a thin wrapper
    around a backend passes when it forwards what is needed. Names without a member list (a plugin's own
    capability) are checked against the specs only.
    """
    out: dict[str, list[str]] = {}
    for need in needs:
        absent = [m for m in CAPABILITY_MEMBERS.get(need, ()) if not hasattr(backend, m)]
        if absent:
            out[need] = absent
    return out


def require_capabilities(backend: Any, needs: Sequence[str], *, who: str) -> None:
    """Refuse ``backend`` unless it implements every capability in ``needs`` (a clear CapabilityError).

    Heads call this in their constructor, so a backend missing a method fails when the head is built,
    not with an ``AttributeError`` in the middle of a job.
    """
    if backend is None:
        if needs:
            raise CapabilityError(
                f"needs a backend with {', '.join(needs)}, and none was given", who=who,
                fix="Pass backend=<a loaded backend> (e.g. registry.backend('<name>', checkpoint=...)), "
                "or `--model` on the command line",
            )
        return
    missing = missing_capabilities(backend, needs)
    if missing:
        label = getattr(backend, "name", None) or type(backend).__name__
        wanted = "; ".join(f"{cap} ({CAPABILITY_PROTOCOLS[cap].__name__}: no {', '.join(members)})"
                           for cap, members in missing.items())
        raise CapabilityError(
            f"needs a backend with {', '.join(missing)}, but backend '{label}' lacks it: {wanted}",
            who=who,
            fix="Use a backend whose spec lists these capabilities (`unireward plugins --json` shows them), "
            "or implement the missing methods (see unireward_sdk.interfaces)",
        )


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
    """Trains a policy on preference pairs, and samples candidates from it to close the loop.

    ``pairs`` is anything the aligner's pair reader accepts (a pair manifest path, PreferencePair records,
    trl-style rows); ``format`` names the layout (``"auto"`` detects it). ``callback(step, metrics)`` is
    called as training proceeds. ``config`` holds the settings (``config.output_dir`` is where
    ``unireward align`` saves). A class method ``from_pretrained(path, **overrides)`` reloads what
    :meth:`save_pretrained` wrote.
    """

    name: str
    config: Any

    def train(self, pairs: Any, *, format: str = "auto", callback: Any = None) -> Any:
        """Train on the pairs; returns a summary (per-step metrics, dropped pairs)."""
        ...

    def evaluate(self, pairs: Any, *, seed: int = 0, format: str = "auto") -> Any:
        """DPO loss, margin and accuracy of the current policy on the pairs, without updating it."""
        ...

    def sample(self, prompts: Sequence[Any], n: int, *, seed: int = 0) -> list[list[Candidate]]: ...

    def save_pretrained(self, path: str | Path) -> None: ...

    @classmethod
    def from_pretrained(cls, path: str | Path, **overrides: Any) -> Any: ...
