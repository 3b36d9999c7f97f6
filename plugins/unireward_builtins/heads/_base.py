"""What the generative and fast heads share: task and template resolution, request building, and the
rule that one bad item becomes a failure value instead of failing its batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import attrs

from unireward_sdk.errors import CapabilityError, ConfigError, MediaError
from unireward_sdk.records import JudgeItem, ParseStatus, Provenance, Score, Verdict

MODES = ("pairwise", "pointwise")


def template_mode(template: Any) -> str:
    """``pairwise`` or ``pointwise`` from a template's detailed mode (``pairwise_rank``, ``pointwise_multi``...)."""
    return str(getattr(template, "mode", "")).split("_", 1)[0]


class JudgeHeadBase:
    """Common constructor and plumbing. Subclasses implement ``_run(mode, template_id, template, requests)``.

    Args:
        backend: a loaded judge backend (e.g. ``registry.backend("transformers", checkpoint=...)``).
        task: a task name (looked up in the registry) or a task object.
        template: a template id; used for the mode it belongs to (pairwise or pointwise).
        pointwise_template: a template id for pointwise scoring.
        batch_size: items per backend call.
        registry: where the task and modalities come from (default: the process-wide registry).
        media: a media loader (default: one :class:`~unireward_sdk.media.MediaCache` per head, so every
            file is decoded once for the head's lifetime).
    """

    name = "base"
    modes: tuple[str, ...] = MODES

    def __init__(
        self,
        backend: Any,
        task: Any,
        template: str | None = None,
        pointwise_template: str | None = None,
        batch_size: int = 16,
        registry: Any = None,
        media: Any = None,
    ):
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}", who=f"reward head '{self.name}'",
                              fix="Set batch_size to a positive integer (default 16)")
        if registry is None:
            from unireward_sdk.registry import get_registry

            registry = get_registry()
        self.registry = registry
        self.backend = backend
        self.task = registry.task(task) if isinstance(task, str) else task
        self.task_name = getattr(self.task, "name", str(task))
        self.batch_size = batch_size
        self._templates: dict[str, str | None] = {"pairwise": None, "pointwise": None}
        for template_id in (template, pointwise_template):
            if template_id is not None:
                self._templates[template_mode(self.task.template(template_id))] = template_id
        if pointwise_template is not None and template_mode(self.task.template(pointwise_template)) != "pointwise":
            raise ConfigError(
                f"pointwise_template '{pointwise_template}' is a {self.task.template(pointwise_template).mode} template",
                who=f"reward head '{self.name}'", fix="Pass a pointwise template id",
            )
        if media is None:
            from unireward_sdk.media import MediaCache

            media = MediaCache(registry=registry)
        self.media = media

    # --- public API ---------------------------------------------------------------------------------

    def template_id(self, mode: str) -> str:
        """The template used for ``mode``: the one given, else the task's default for the backend's family."""
        chosen = self._templates.get(mode)
        if chosen is None:
            chosen = self.task.default_template(mode, self.backend.family)
            self._templates[mode] = chosen
        return chosen

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        return self._judge(list(items), "pairwise")

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        return self._judge(list(items), "pointwise")

    # --- plumbing -----------------------------------------------------------------------------------

    def _judge(self, items: list[JudgeItem], mode: str) -> list:
        if mode not in self.modes:
            raise CapabilityError(
                f"does not do {mode} judging (it declares {', '.join(self.modes)})",
                who=f"reward head '{self.name}'", fix="Use a head that declares this mode, e.g. 'generative'",
            )
        for item in items:
            if item.mode != mode:
                raise ConfigError(
                    f"item {item.id!r} has {len(item.candidates)} candidate(s), not a {mode} item",
                    who=f"reward head '{self.name}'",
                    fix="Pairwise items carry two candidates (A, B); pointwise items one",
                )
        template_id = self.template_id(mode)
        template = self.task.template(template_id)
        self._check_template(mode, template_id, template)
        results: list[Any] = [None] * len(items)
        for start in range(0, len(items), self.batch_size):
            chunk = list(range(start, min(start + self.batch_size, len(items))))
            ready: list[tuple[int, Any]] = []
            for i in chunk:
                try:
                    ready.append((i, self.task.build_request(items[i], template_id, self.media)))
                except MediaError as exc:
                    results[i] = self._failure(mode, items[i].id, ParseStatus.MEDIA_ERROR, str(exc), template_id)
            if ready:
                ids = [items[i].id for i, _ in ready]
                outcomes = self._run_isolated(mode, template_id, template, [r for _, r in ready], ids)
                for (i, _), outcome in zip(ready, outcomes):
                    if isinstance(outcome, BaseException):
                        error = f"{type(outcome).__name__}: {outcome}"
                        results[i] = self._failure(mode, items[i].id, ParseStatus.BACKEND_ERROR, error, template_id)
                    else:
                        results[i] = self._finish(outcome, items[i].id, template_id)
        return results

    def _check_template(self, mode: str, template_id: str, template: Any) -> None:
        """Hook for heads that cannot use every template (the fast head needs a readout)."""

    def _run(self, mode: str, template_id: str, template: Any, requests: list, item_ids: list[str]) -> list:
        """One verdict or score per request, in order (a subclass's whole job)."""
        raise NotImplementedError

    def _run_isolated(self, mode: str, template_id: str, template: Any, requests: list, item_ids: list[str]) -> list:
        """Run a batch; if it raises, run its items one by one so only the guilty ones fail."""
        try:
            return list(self._run(mode, template_id, template, requests, item_ids))
        except Exception as exc:  # noqa: BLE001 - a model failure becomes a value, never a dead job
            if len(requests) == 1:
                return [exc]
        outcomes: list[Any] = []
        for request, item_id in zip(requests, item_ids):
            try:
                outcomes.extend(self._run(mode, template_id, template, [request], [item_id]))
            except Exception as exc:  # noqa: BLE001
                outcomes.append(exc)
        return outcomes

    def _provenance(self, template_id: str, extra: dict | None = None) -> Provenance:
        return Provenance(
            plugin=self.name, checkpoint=getattr(self.backend, "checkpoint", None), template_id=template_id,
            extra=extra or {},
        )

    def _finish(self, outcome: Any, item_id: str, template_id: str) -> Any:
        """Stamp provenance on a verdict/score (keeping whatever extra the producer recorded)."""
        extra = dict(outcome.provenance.extra)
        return attrs.evolve(outcome, item_id=item_id, provenance=self._provenance(template_id, extra))

    def _failure(self, mode: str, item_id: str, status: str, error: str, template_id: str) -> Any:
        record: Callable[..., Any] = Verdict.failure if mode == "pairwise" else Score.failure
        return record(item_id, status, error, provenance=self._provenance(template_id))
