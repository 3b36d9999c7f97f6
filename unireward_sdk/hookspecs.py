"""The hooks a UniReward plugin implements. Each yields frozen spec records; the host keeps the policy.

A plugin is any module (or object) with functions decorated by :data:`hookimpl`. Built-ins are
registered from :data:`unireward_sdk.host.BUILTIN_PLUGINS`; third-party plugins through the entry-point
group ``unireward``. Every hook takes no arguments and is a generator, so a test can call it directly.
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from .specs import (
    AlignerSpec,
    BackendSpec,
    CommandSpec,
    FilterSpec,
    ModalitySpec,
    RewardHeadSpec,
    TaskSpec,
    TemplateSpec,
)

PROJECT = "unireward"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def unireward_register_modalities() -> Iterable[ModalitySpec]:
    """Register kinds of content (how to load, validate, hash and prepare them).

    Yields:
        ModalitySpec records.

    Example:
        @hookimpl
        def unireward_register_modalities():
            yield ModalitySpec(name="audio", factory=AudioModality, extensions=(".wav", ".flac"))
    """
    yield from ()


@hookspec
def unireward_register_tasks() -> Iterable[TaskSpec]:
    """Register judging tasks (item schema, templates, output parsers).

    Yields:
        TaskSpec records.

    Example:
        @hookimpl
        def unireward_register_tasks():
            yield TaskSpec(name="audio_generation", factory=AudioGenerationTask, modalities=("audio",))
    """
    yield from ()


@hookspec
def unireward_register_templates() -> Iterable[TemplateSpec]:
    """Register extra prompt templates for existing tasks, or override a built-in one explicitly.

    Yields:
        TemplateSpec records; ``factory()`` returns a :class:`unireward_sdk.templates.Template`.

    Example:
        @hookimpl
        def unireward_register_templates():
            yield TemplateSpec(name="image_generation.pointwise_score.mine", task="image_generation",
                               mode="pointwise_score", family="mine", factory=lambda: MY_TEMPLATE)
    """
    yield from ()


@hookspec
def unireward_register_backends() -> Iterable[BackendSpec]:
    """Register judge-model backends (a runtime that loads a checkpoint and generates / scores).

    Yields:
        BackendSpec records.

    Example:
        @hookimpl
        def unireward_register_backends():
            yield BackendSpec(name="my-server", factory=MyServerBackend, families=("qwen_v1",))
    """
    yield from ()


@hookspec
def unireward_register_reward_heads() -> Iterable[RewardHeadSpec]:
    """Register reward heads (how a verdict or score is produced from a backend).

    Yields:
        RewardHeadSpec records.

    Example:
        @hookimpl
        def unireward_register_reward_heads():
            yield RewardHeadSpec(name="majority", factory=MajorityHead, modes=("pairwise",))
    """
    yield from ()


@hookspec
def unireward_register_filters() -> Iterable[FilterSpec]:
    """Register pair-construction stages (ranking, sifting, margin filters...).

    Yields:
        FilterSpec records.

    Example:
        @hookimpl
        def unireward_register_filters():
            yield FilterSpec(name="length_margin", factory=LengthMarginFilter, needs=())
    """
    yield from ()


@hookspec
def unireward_register_aligners() -> Iterable[AlignerSpec]:
    """Register aligners (train a policy on preference pairs; sample candidates from it).

    Yields:
        AlignerSpec records.

    Example:
        @hookimpl
        def unireward_register_aligners():
            yield AlignerSpec(name="my_dpo", factory=MyDPOAligner, tasks=("image_understanding",))
    """
    yield from ()


@hookspec
def unireward_register_commands() -> Iterable[CommandSpec]:
    """Register ``unireward`` subcommands (an application's own commands: ``unireward demo``...).

    Yields:
        CommandSpec records; ``configure(parser)`` adds arguments, ``factory(args)`` runs and returns
        the exit code. Import heavy libraries inside ``factory``.

    Example:
        @hookimpl
        def unireward_register_commands():
            yield CommandSpec(name="hello", summary="say hello", factory=lambda args: print("hello") or 0)
    """
    yield from ()


# hook name -> the component kind its specs register
HOOK_KINDS: dict[str, str] = {
    "unireward_register_modalities": ModalitySpec.kind,
    "unireward_register_tasks": TaskSpec.kind,
    "unireward_register_templates": TemplateSpec.kind,
    "unireward_register_backends": BackendSpec.kind,
    "unireward_register_reward_heads": RewardHeadSpec.kind,
    "unireward_register_filters": FilterSpec.kind,
    "unireward_register_aligners": AlignerSpec.kind,
    "unireward_register_commands": CommandSpec.kind,
}
