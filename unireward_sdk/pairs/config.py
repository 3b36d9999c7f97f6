"""The configuration of a pair-construction job, from Python or a TOML file (``unireward pairs --config``).

    [pairs]
    manifest = "prompts.jsonl"       # prompts and their candidates (paths relative to the manifest)
    output = "pairs-out"
    task = "image_generation"
    model = "CodeGoat24/UnifiedReward-qwen-7b"   # hub id or local folder of the judge
    head = "generative"               # or "fast"; a head whose spec needs no backend needs no model
    n = 10                            # candidates per prompt (sampler), checked against the manifest when set
    seed = 0
    batch_size = 8                    # prompts per batch: judge calls span them, commits are per batch
    filters = [                       # the stages, in order (default: the paper's pair ranking + point sifting)
        {name = "pair_ranking", options = {strategy = "disjoint", on_tie = "drop", on_failure = "swap"}},
        {name = "point_sifting"},
        {name = "margin", options = {threshold = 1.0}},   # optional: drop pairs whose score margin is smaller
    ]

Relative paths in a file are relative to the file's folder. The config is checked when it is built: the
stages' options against their filters' option schemas, and task, head, templates and filters together as a
:class:`~unireward_sdk.pipeline.Pipeline`, so a job that cannot run fails before it writes anything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from attrs import field, frozen

from ..config import FilterStage, JobConfig, filter_stages, internal_field, model_field, path_field
from ..errors import ConfigError

# fields that do not change what the job produces (resuming with other values is fine)
_NOT_FINGERPRINTED = ("output", "progress")

# the paper's two stages: pair ranking (disjoint pairs, drop ties, re-judge failures swapped), then point sifting
DEFAULT_FILTERS = (FilterStage("pair_ranking"), FilterStage("point_sifting"))

_RANKING = 'an option of the pair_ranking stage: filters = [{name = "pair_ranking", options = {%s = ...}}, ...]'
_MARGIN = 'an option of the margin stage: filters = [..., {name = "margin", options = {%s = ...}}]'
# keys of the former flat layout, refused with the form that replaced them
RENAMED = {
    **{key: _RANKING % key for key in ("strategy", "rounds", "on_tie", "on_failure", "symmetric")},
    "margin": _MARGIN % "threshold",
    "margin_normalized": _MARGIN % "normalized",
    "swap_check": 'a stage: filters = [..., {name = "swap_consistency"}]',
    "extra_filters": 'entries of filters: filters = [..., {name = "my_filter", options = {...}}]',
}


def _choice(options: tuple[str, ...]):
    def check(_instance, attribute, value) -> None:
        if value not in options:
            raise ConfigError(f"unknown {attribute.name} {value!r}", who="pair job",
                              fix=f"Set {attribute.name} to one of: {', '.join(options)}")

    return check


@frozen(kw_only=True)
class PairJobConfig(JobConfig):
    """Everything a pair job needs. ``judge_factory`` / ``sampler`` may name a Python callable as
    ``"package.module:callable"`` (called with ``head_options`` / ``sampler_options``) instead of the registry.

    ``pipeline`` is the validated composition (task, head, backend, templates, filters) built with the config.
    """

    TABLE = "pairs"
    RENAMED = RENAMED

    manifest: str = path_field()
    output: str = path_field()
    task: str
    model: str | None = model_field(None)
    backend: str = "transformers"
    head: str = "generative"
    template: str | None = None
    pointwise_template: str | None = None
    n: int | None = None
    filters: tuple[FilterStage, ...] = field(default=DEFAULT_FILTERS, converter=filter_stages)
    seed: int = 0
    batch_size: int = 8
    judge_batch_size: int = 16
    media: str = field(default="copy", validator=_choice(("copy", "reference")))
    allow_outside: bool = False
    judge_factory: str | None = None
    sampler: str | None = None
    progress: bool = True
    backend_options: Mapping[str, Any] = field(factory=dict, converter=dict)
    head_options: Mapping[str, Any] = field(factory=dict, converter=dict)
    sampler_options: Mapping[str, Any] = field(factory=dict, converter=dict)
    registry: Any = internal_field()
    pipeline: Any = internal_field(init=False)

    def __attrs_post_init__(self) -> None:
        if self.batch_size < 1 or self.judge_batch_size < 1:
            raise ConfigError("batch_size and judge_batch_size must be >= 1", who="pair job",
                              fix="Set batch_size and judge_batch_size to 1 or more (defaults: 8 and 16)")
        if self.n is not None and self.n < 2:
            raise ConfigError(f"n must be >= 2 candidates per prompt, got {self.n}", who="pair job",
                              fix="Set n to 2 or more (the paper uses 10), or leave it unset to use the manifest's")
        if not self.filters:
            raise ConfigError("filters is empty", who="pair job",
                              fix='List the stages, e.g. filters = [{name = "pair_ranking"}, {name = "point_sifting"}]'
                                  ", or leave filters out for the paper's two stages")
        registry = self._registry()
        checked = tuple(FilterStage(s.name, registry.validate_options("filter", s.name, dict(s.options)))
                        for s in self.filters)
        object.__setattr__(self, "filters", checked)
        if self.model is None and self.judge_factory is None and registry.reward_head_spec(self.head).needs_backend:
            raise ConfigError("no judge is configured", who="pair job",
                              fix="Set 'model' (hub id or local folder) or 'judge_factory' ('package.module:callable'),"
                                  " or use a head that needs no model")
        object.__setattr__(self, "pipeline", self.build_pipeline(registry))

    def _registry(self) -> Any:
        if self.registry is not None:
            return self.registry
        from ..registry import get_registry

        return get_registry()

    def build_pipeline(self, registry: Any = None) -> Any:
        """The job as a validated :class:`~unireward_sdk.pipeline.Pipeline` (refuses what cannot work together)."""
        from ..pipeline import Pipeline

        # the backend's options go along (unless a judge_factory replaces the backend), so a backend whose
        # instances differ (a served judge without log-probabilities) is refused here, before the job writes
        options = None if self.judge_factory else {"batch_size": self.judge_batch_size, **self.backend_options}
        return Pipeline(task=self.task, head=self.head, backend=self.backend, model=self.model,
                        template=self.template, pointwise_template=self.pointwise_template, filters=self.filters,
                        backend_options=options, registry=registry or self._registry())

    def fingerprint(self, source_fingerprint: str) -> str:
        """A hash of everything that determines the job's output, including the prompts' content."""
        settings = {k: v for k, v in self.to_dict().items() if k not in _NOT_FINGERPRINTED}
        blob = json.dumps({"config": settings, "source": source_fingerprint}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()
