"""Frozen spec records that plugins yield from their registration hooks.

A spec names a component, says what it can do (capabilities the host validates pipelines against) and
holds a ``factory`` that builds it. Factories import heavy libraries lazily, so listing plugins is cheap.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, ClassVar

from attrs import field, frozen

from .options import Option

_NAME = re.compile(r"^[a-z][a-z0-9_.\-]*$")


def _valid_name(_instance, attribute, value: str) -> None:
    if not _NAME.match(value):
        raise ValueError(
            f"{attribute.name} {value!r} is not a valid component name: use lower case letters, digits, '_', '-' or '.'"
        )


def _strings(value) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _options(value) -> tuple[Option, ...] | None:
    if value is None:
        return None
    options = tuple(value)
    for option in options:
        if not isinstance(option, Option):
            raise TypeError(f"options must be unireward_sdk.options.Option records, got {type(option).__name__}")
    return options


@frozen(kw_only=True)
class ComponentSpec:
    """Fields every component spec has. ``requires`` lists pip extras the factory needs.

    ``options`` is the typed schema of what a user may set on the component (see
    :mod:`unireward_sdk.options`). ``None`` means undeclared: options pass to the factory unchecked;
    a tuple (even empty) makes the registry refuse unknown keys and wrong types before the factory runs.
    """

    kind: ClassVar[str] = "component"

    name: str = field(validator=_valid_name)
    factory: Callable[..., Any] = field(eq=False, repr=False)
    summary: str = ""
    requires: tuple[str, ...] = field(default=(), converter=_strings)
    options: tuple[Option, ...] | None = field(default=None, converter=_options)

    def create(self, *args: Any, **kwargs: Any) -> Any:
        return self.factory(*args, **kwargs)


@frozen(kw_only=True)
class ModalitySpec(ComponentSpec):
    """A kind of content (text, image, video, audio...). ``extensions`` are lower-case, with the dot."""

    kind: ClassVar[str] = "modality"
    extensions: tuple[str, ...] = field(default=(), converter=_strings)


@frozen(kw_only=True)
class TaskSpec(ComponentSpec):
    """What is judged. ``modalities`` are the modalities its items use; ``modes`` pairwise/pointwise."""

    kind: ClassVar[str] = "task"
    modalities: tuple[str, ...] = field(default=(), converter=_strings)
    modes: tuple[str, ...] = field(default=("pairwise", "pointwise"), converter=_strings)


@frozen(kw_only=True)
class BackendSpec(ComponentSpec):
    """A judge-model runtime (transformers, a served engine...). ``families``: model families it loads.

    ``capabilities`` names what its backends can do, from :data:`unireward_sdk.interfaces.CAPABILITIES`
    (``generate``, ``score_continuations``, ``features``, ``trainable``); a head that needs one the
    backend lacks is refused when the pipeline is built.

    ``probe``, for a backend whose instances may lack some of ``capabilities`` (a served judge: only a
    server that returns log-probabilities can score continuations), is
    ``probe(needed, options) -> {capability: why it is missing}``: the capabilities among ``needed`` that
    an instance built with ``options`` would not have, each with a reason naming what was asked (the
    server, the model). It may contact the service; it is called only when a head's needs are checked
    against known options, so a job is refused before it writes anything. ``None``: every instance has
    every capability of the spec.
    """

    kind: ClassVar[str] = "backend"
    families: tuple[str, ...] = field(default=(), converter=_strings)
    capabilities: tuple[str, ...] = field(default=("generate",), converter=_strings)
    # True: ``model`` names a local folder or a hub id that this process loads, so a local folder that does not
    # exist is refused before any loading; False: a name passed on as it is (a served model's name)
    loads_checkpoints: bool = True
    probe: Callable[[tuple[str, ...], dict[str, Any]], dict[str, str]] | None = field(default=None, eq=False,
                                                                                      repr=False)

    def provides(self, capability: str) -> bool:
        return capability in self.capabilities


@frozen(kw_only=True)
class RewardHeadSpec(ComponentSpec):
    """How a judgment is produced. ``tasks`` empty means every task; ``modes`` pairwise and/or pointwise.

    ``trainer``, when the head has trainable parts of its own (a value head), fits them from judge
    training records: ``trainer(train, base_model, output_dir, config, **kwargs) -> TrainReport``, the
    signature of :func:`unireward_sdk.training.train_generative_judge`. Imported lazily, like ``factory``.
    ``trainer_options`` is the schema of the trainer's settings (``config.head_options``).
    """

    kind: ClassVar[str] = "reward_head"
    modes: tuple[str, ...] = field(default=("pairwise", "pointwise"), converter=_strings)
    tasks: tuple[str, ...] = field(default=(), converter=_strings)
    trainer: Callable[..., Any] | None = field(default=None, eq=False, repr=False)
    # the options the trainer accepts (``[training.head_options]``), checked when the job config is built;
    # None: undeclared, passed to the trainer unchecked
    trainer_options: tuple[Option, ...] | None = field(default=None, converter=_options)
    # what the head asks of its backend; ``needs_backend=False`` for a model-free head (a rule, a metric),
    # which is built with ``backend=None`` and needs no ``--model``
    needs_backend: bool = True
    backend_capabilities: tuple[str, ...] = field(default=("generate",), converter=_strings)
    # ``template_check(mode, template_id, template)`` raises CapabilityError for a template the head cannot
    # judge with (the fast head needs a readout); called when a pipeline names a template, before any model loads
    template_check: Callable[[str, str, Any], None] | None = field(default=None, eq=False, repr=False)

    def supports(self, task: str, mode: str) -> bool:
        return mode in self.modes and (not self.tasks or task in self.tasks)


@frozen(kw_only=True)
class FilterSpec(ComponentSpec):
    """A pair-construction stage. ``needs``: the judging modes it calls (pairwise, pointwise)."""

    kind: ClassVar[str] = "filter"
    needs: tuple[str, ...] = field(default=(), converter=_strings)


@frozen(kw_only=True)
class AlignerSpec(ComponentSpec):
    """Trains a policy on preference pairs and samples from it. ``tasks``: the tasks its policies serve."""

    kind: ClassVar[str] = "aligner"
    tasks: tuple[str, ...] = field(default=(), converter=_strings)
    modalities: tuple[str, ...] = field(default=(), converter=_strings)


@frozen(kw_only=True)
class TemplateSpec(ComponentSpec):
    """A prompt template for a task. ``name`` is the id ``<task>.<mode>.<family>[.<variant>]``.

    ``factory`` returns the template object (see :mod:`unireward_sdk.templates`). A template whose id a
    built-in already uses overrides it only when ``override=True`` (never silently).
    """

    kind: ClassVar[str] = "template"
    task: str = ""
    mode: str = ""
    family: str = ""
    override: bool = False


@frozen(kw_only=True)
class CommandSpec(ComponentSpec):
    """A ``unireward`` subcommand a plugin contributes.

    ``configure(parser)`` adds the command's arguments to its ``argparse`` parser (cheap: no heavy
    imports); ``factory(args) -> int`` runs it and returns the exit code. A command whose ``configure``
    raises is recorded as a plugin failure and shown as unavailable, never a crash of ``unireward``.
    """

    kind: ClassVar[str] = "command"
    configure: Callable[[Any], None] | None = field(default=None, eq=False, repr=False)
    description: str = ""


SPEC_TYPES: dict[str, type[ComponentSpec]] = {
    cls.kind: cls
    for cls in (ModalitySpec, TaskSpec, BackendSpec, RewardHeadSpec, FilterSpec, AlignerSpec, TemplateSpec,
                CommandSpec)
}
