"""The base class for reward heads: batching, template choice, and the rule that one bad item becomes a
failure value instead of failing its batch.

A head subclasses :class:`JudgeHeadBase`, names the backend capabilities it uses in ``needs`` and
implements ``_run``::

    class LengthHead(JudgeHeadBase):            # a model-free head: needs no backend at all
        name = "length"
        needs = ()
        renders_requests = False                # _run receives the JudgeItems themselves

        def _run(self, mode, template_id, template, items, item_ids):
            return [Score(item_id=i, value=float(len(item.candidates[0].text or ""))) for item, i in zip(items, item_ids)]

The base checks at construction that the backend implements every capability in ``needs`` (a clear
:class:`~unireward_sdk.errors.CapabilityError` instead of an ``AttributeError`` mid-job), judges in
batches of ``batch_size``, turns a media error into a ``media_error`` value and a failing batch into
per-item retries, and stamps provenance on every result. :class:`~unireward_sdk.testing.head.HeadContract`
tests what callers rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import attrs

from .errors import CapabilityError, ConfigError, MediaError
from .interfaces import GENERATE, MODES, judging_mode, require_capabilities
from .records import JudgeItem, ParseStatus, Provenance, Score, Verdict, failure_status


class JudgeHeadBase:
    """Common constructor and plumbing. Subclasses implement ``_run(mode, template_id, template, inputs, item_ids)``.

    Args:
        backend: a loaded judge backend (e.g. ``registry.backend("transformers", checkpoint=...)``), or
            ``None`` for a head whose ``needs`` is empty.
        task: a task name (looked up in the registry) or a task object.
        template: a template id; used for the mode it belongs to (pairwise or pointwise).
        pointwise_template: a template id for pointwise scoring.
        batch_size: items per backend call.
        registry: where the task and modalities come from (default: the process-wide registry).
        media: a media loader (default: one :class:`~unireward_sdk.media.MediaCache` per head, so every
            file is decoded once for the head's lifetime).
        family: the template family to pick default templates for when there is no backend to say it.
    """

    name: ClassVar[str] = "base"
    #: the judging modes the head implements (as its RewardHeadSpec declares them)
    modes: ClassVar[tuple[str, ...]] = MODES
    #: backend capabilities the head uses (see unireward_sdk.interfaces); empty for a model-free head
    needs: ClassVar[tuple[str, ...]] = (GENERATE,)
    #: True: ``_run`` receives rendered JudgeRequests; False: the JudgeItems themselves
    renders_requests: ClassVar[bool] = True
    #: errors that mean the whole job is misconfigured: raised, never turned into per-item failures
    fatal_errors: ClassVar[tuple[type[BaseException], ...]] = ()

    def __init__(
        self,
        backend: Any = None,
        task: Any = None,
        template: str | None = None,
        pointwise_template: str | None = None,
        batch_size: int = 16,
        registry: Any = None,
        media: Any = None,
        family: str | None = None,
    ):
        who = f"reward head '{self.name}'"
        if batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {batch_size}", who=who,
                              fix="Set batch_size to a positive integer (default 16)")
        if task is None:
            raise ConfigError("no task given", who=who, fix="Pass task=<task name or task object>")
        require_capabilities(backend, self.needs, who=who)
        if registry is None:
            from .registry import get_registry

            registry = get_registry()
        self.registry = registry
        self.backend = backend
        self.family = family
        self.task = registry.task(task) if isinstance(task, str) else task
        self.task_name = getattr(self.task, "name", str(task))
        self.batch_size = int(batch_size)
        self._templates: dict[str, str | None] = {mode: None for mode in MODES}
        for template_id in (template, pointwise_template):
            if template_id is not None:
                self._templates[judging_mode(self.task.template(template_id))] = template_id
        if pointwise_template is not None and judging_mode(self.task.template(pointwise_template)) != "pointwise":
            raise ConfigError(
                f"pointwise_template '{pointwise_template}' is a {self.task.template(pointwise_template).mode} template",
                who=who, fix="Pass a pointwise template id",
            )
        if media is None:
            from .media import MediaCache

            media = MediaCache(registry=registry)
        self.media = media

    # --- public API ---------------------------------------------------------------------------------

    def template_family(self) -> str:
        """The family default templates are picked for: the backend's, else the ``family`` given."""
        family = getattr(self.backend, "family", None) or self.family
        if family is None:
            raise ConfigError("no template family: the head has no backend and no family was given",
                              who=f"reward head '{self.name}'",
                              fix="Pass template=<id> / pointwise_template=<id>, or family=<family> (e.g. qwen_v1)")
        return family

    def template_for(self, mode: str) -> str:
        """The template used for ``mode``: the one given, else the task's default for the template family."""
        chosen = self._templates.get(mode)
        if chosen is None:
            chosen = self.task.default_template(mode, self.template_family())
            self._templates[mode] = chosen
        return chosen

    def template_id(self, mode: str) -> str:
        """Same as :meth:`template_for` (the name callers used first)."""
        return self.template_for(mode)

    def check_templates(self, modes: Sequence[str]) -> None:
        """Refuse now, before any item is judged, a template this head would use for one of ``modes`` and cannot
        (a default picked for the backend's family included): a job calls it before it writes anything."""
        if not self.renders_requests:
            return
        for mode in modes:
            if mode in self.modes:
                template_id = self.template_for(mode)
                self._check_template(mode, template_id, self.task.template(template_id))

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        return self._judge(list(items), "pairwise")

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        return self._judge(list(items), "pointwise")

    # --- what a subclass provides -------------------------------------------------------------------

    def _run(self, mode: str, template_id: str | None, template: Any, inputs: list, item_ids: list[str]) -> list:
        """One verdict or score per input, in order (a subclass's whole job).

        ``inputs`` are what :meth:`_prepare` made of the items: rendered requests by default.
        """
        raise NotImplementedError(f"{type(self).__name__} must implement _run")

    def _prepare(self, item: JudgeItem, mode: str, template_id: str | None) -> Any:
        """What ``_run`` receives for one item (a MediaError here fails that item alone)."""
        if not self.renders_requests:
            return item
        return self.task.build_request(item, template_id, self.media)

    def _check_template(self, mode: str, template_id: str, template: Any) -> None:
        """Hook for heads that cannot use every template (the fast head needs a readout)."""

    # --- plumbing -----------------------------------------------------------------------------------

    def _judge(self, items: list[JudgeItem], mode: str) -> list:
        who = f"reward head '{self.name}'"
        if mode not in self.modes:
            raise CapabilityError(
                f"does not do {mode} judging (it declares {', '.join(self.modes)})",
                who=who, fix="Use a head that declares this mode, e.g. 'generative'",
            )
        for item in items:
            if item.mode != mode:
                raise ConfigError(
                    f"item {item.id!r} has {len(item.candidates)} candidate(s), not a {mode} item", who=who,
                    fix="Pairwise items carry two candidates (A, B); pointwise items one",
                )
        template_id: str | None = None
        template: Any = None
        if self.renders_requests:
            template_id = self.template_for(mode)
            template = self.task.template(template_id)
            self._check_template(mode, template_id, template)
        results: list[Any] = [None] * len(items)
        for start in range(0, len(items), self.batch_size):
            ready: list[tuple[int, Any]] = []
            for i in range(start, min(start + self.batch_size, len(items))):
                try:
                    ready.append((i, self._prepare(items[i], mode, template_id)))
                except MediaError as exc:
                    results[i] = self._failure(mode, items[i].id, ParseStatus.MEDIA_ERROR, str(exc), template_id)
            if not ready:
                continue
            ids = [items[i].id for i, _ in ready]
            outcomes = self._run_isolated(mode, template_id, template, [r for _, r in ready], ids)
            for (i, _), outcome in zip(ready, outcomes):
                if isinstance(outcome, BaseException):
                    status = failure_status(outcome)
                    error = str(outcome) if isinstance(outcome, MediaError) else f"{type(outcome).__name__}: {outcome}"
                    results[i] = self._failure(mode, items[i].id, status, error, template_id)
                else:
                    results[i] = self._finish(outcome, items[i].id, template_id)
        return results

    def _run_isolated(self, mode: str, template_id: str | None, template: Any, inputs: list,
                      item_ids: list[str]) -> list:
        """Run a batch; if it raises, run its items one by one so only the guilty ones fail."""
        try:
            outcomes = list(self._run(mode, template_id, template, inputs, item_ids))
            self._check_count(outcomes, inputs)
            return outcomes
        except self.fatal_errors:
            raise
        except Exception as exc:  # noqa: BLE001 - a model failure becomes a value, never a dead job
            if len(inputs) == 1:
                return [exc]
        outcomes = []
        for one, item_id in zip(inputs, item_ids):
            try:
                single = list(self._run(mode, template_id, template, [one], [item_id]))
                self._check_count(single, [one])
                outcomes.extend(single)
            except self.fatal_errors:
                raise
            except Exception as exc:  # noqa: BLE001
                outcomes.append(exc)
        return outcomes

    def _check_count(self, outcomes: list, inputs: list) -> None:
        if len(outcomes) != len(inputs):
            raise RuntimeError(f"{type(self).__name__}._run returned {len(outcomes)} results for {len(inputs)} "
                               "inputs (it must return one per input, in order)")

    def _provenance(self, template_id: str | None, extra: dict | None = None) -> Provenance:
        return Provenance(
            plugin=self.name, checkpoint=getattr(self.backend, "checkpoint", None), template_id=template_id,
            extra=extra or {},
        )

    def _finish(self, outcome: Any, item_id: str, template_id: str | None) -> Any:
        """Stamp provenance on a verdict/score (keeping whatever extra the producer recorded)."""
        extra = dict(outcome.provenance.extra)
        return attrs.evolve(outcome, item_id=item_id, provenance=self._provenance(template_id, extra))

    def _failure(self, mode: str, item_id: str, status: str, error: str, template_id: str | None) -> Any:
        record: Callable[..., Any] = Verdict.failure if mode == "pairwise" else Score.failure
        return record(item_id, status, error, provenance=self._provenance(template_id))
