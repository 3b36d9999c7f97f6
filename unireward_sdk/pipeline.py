"""Pipelines composed from registry names, in Python or from a TOML file, validated at construction.

    >>> p = Pipeline(task="image_generation", mode="pairwise", head="generative")
    >>> p2 = p.evolve(head="fast", symmetric=True)      # a validated variant

Validation asks the registry whether every named component exists and whether they fit together: does
the head support this task and mode, does the backend have the capabilities the head needs (a head
declaring ``needs_backend=False`` needs none; with ``backend_options`` set, a backend whose instances differ,
such as a served judge, is asked about the one these options build), does the template belong to the task,
are the task's modalities installed, do the filters' judging needs match the head, does the aligner serve
the task.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
from attrs import field, frozen

from .config import FilterStage, check_keys, filter_stages, read_toml
from .errors import CapabilityError, ConfigError, UniRewardError

# the judging modes and the template-mode table live with the contract (TEMPLATE_MODES re-exported here)
from .interfaces import MODES, TEMPLATE_MODES, judging_mode  # noqa: F401


def _mode(value: str | None) -> str | None:
    if value is not None and value not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, not {value!r}", who="pipeline mode",
                          fix=f"Set mode to {' or '.join(MODES)}, or leave it out to judge as the filters need")
    return value


@frozen(kw_only=True)
class Pipeline:
    """A validated composition of components. ``mode=None`` means: whatever the filters need."""

    task: str
    mode: str | None = field(default=None, converter=_mode)
    head: str = "generative"
    backend: str = "transformers"
    model: str | None = None
    template: str | None = None
    pointwise_template: str | None = None
    symmetric: bool = False
    # stages: filter names, or (name, options) records (``{name = "margin", options = {threshold = 1.0}}``)
    filters: tuple[FilterStage, ...] = field(default=(), converter=filter_stages)
    aligner: str | None = None
    options: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)
    # what the backend will be built with; None: unknown, so only the backend's spec is checked
    backend_options: Mapping[str, Any] | None = field(default=None, converter=lambda v: None if v is None else dict(v),
                                                      hash=False)
    registry: Any = field(default=None, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.validate()

    # --- named constructors ---------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, registry: Any = None, source: str = "config") -> Pipeline:
        data = dict(data.get("pipeline", data))
        check_keys(data, [a.name for a in attrs.fields(cls) if a.name != "registry"], who=source,
                   label="pipeline")
        if "task" not in data:
            raise ConfigError("a pipeline needs a 'task'", who=source,
                              fix='Add task = "<name>", e.g. "image_generation" (`unireward plugins` lists the tasks)')
        return cls(registry=registry, **data)

    @classmethod
    def from_toml(cls, path: str | Path, *, registry: Any = None) -> Pipeline:
        path = Path(path)
        data = read_toml(path)
        try:
            return cls.from_dict(data, registry=registry, source=str(path))
        except UniRewardError as exc:
            if exc.who and str(path) in exc.who:
                raise
            # a validation error should point at the file the user has to edit
            who = f"{path} ({exc.who})" if exc.who else str(path)
            try:
                located = type(exc)(exc.what, who=who, fix=exc.fix)
            except TypeError:  # a subclass with its own constructor
                located = ConfigError(exc.what, who=who, fix=exc.fix)
            raise located from exc

    def evolve(self, **changes: Any) -> Pipeline:
        """A variant of this pipeline; validated like any other."""
        return attrs.evolve(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self, filter=lambda a, _v: a.name != "registry")

    # --- validation -----------------------------------------------------------------------------

    def _registry(self):
        if self.registry is not None:
            return self.registry
        from .registry import get_registry

        return get_registry()

    def required_modes(self) -> tuple[str, ...]:
        reg = self._registry()
        modes = [self.mode] if self.mode else []
        for stage in self.filters:
            for need in reg.filter_spec(stage.name).needs:
                if need not in modes:
                    modes.append(need)
        return tuple(modes)

    def validate(self) -> None:
        reg = self._registry()
        try:
            task = reg.task_spec(self.task)
        except UniRewardError as exc:
            raise ConfigError(f"{exc.who}: {exc.what}" if exc.who else exc.what, who="pipeline task",
                              fix=exc.fix or "Set task to one a loaded plugin provides (`unireward plugins`)") from exc
        for modality in task.modalities:
            if modality not in reg.names("modality"):
                raise CapabilityError(
                    f"task '{self.task}' needs the '{modality}' modality, which no loaded plugin provides",
                    fix="Install the plugin that adds it (see `unireward plugins`)",
                )
        modes = self.required_modes()
        for mode in modes:
            if mode not in task.modes:
                raise CapabilityError(f"task '{self.task}' does not support {mode} judging (it supports "
                                      f"{', '.join(task.modes)})",
                                      fix=f"Set mode to {' or '.join(task.modes)}" if mode == self.mode
                                      else f"Drop the filters that need {mode} judging")
        head = reg.reward_head_spec(self.head)
        for mode in modes:
            if not head.supports(self.task, mode):
                raise CapabilityError(
                    f"reward head '{self.head}' does not support {mode} judging for task '{self.task}'",
                    fix=f"It supports modes {', '.join(head.modes)}"
                    + (f" and tasks {', '.join(head.tasks)}" if head.tasks else ""),
                )
        # a model-free head needs no backend; otherwise the backend must exist and offer what the head needs
        if head.needs_backend:
            options = None
            if self.backend_options is not None:
                options = {**({"checkpoint": self.model} if self.model else {}), **self.backend_options}
            reg.check_head_backend(self.head, self.backend, options)
        for attr, expected_mode in (("template", self.mode), ("pointwise_template", "pointwise")):
            template_id = getattr(self, attr)
            if template_id is None:
                continue
            spec = reg.template_spec(template_id)
            if spec.task != self.task:
                raise CapabilityError(f"template '{template_id}' is for task '{spec.task}', not '{self.task}'",
                                      fix=f"Pick a {self.task} template (`unireward templates --task {self.task}`)")
            served = judging_mode(spec.mode)
            if expected_mode and served != expected_mode:
                raise CapabilityError(f"template '{template_id}' is a {served} template; {attr} needs {expected_mode}",
                                      fix=f"Set {attr} to a {expected_mode}_* template of task '{self.task}' "
                                      f"(`unireward templates --task {self.task}`)")
            # a head that cannot judge with every template says so here, before any model loads
            if head.template_check is not None:
                head.template_check(served, template_id, reg.task(self.task).template(template_id))
        if self.aligner is not None:
            aligner = reg.aligner_spec(self.aligner)
            if aligner.tasks and self.task not in aligner.tasks:
                raise CapabilityError(f"aligner '{self.aligner}' does not train policies for task '{self.task}' "
                                      f"(it serves {', '.join(aligner.tasks)})",
                                      fix=f"Pick an aligner that serves '{self.task}' (`unireward plugins` lists them)")
