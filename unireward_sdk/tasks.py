"""A base for judging tasks whose prompts are templates: slot filling, media loading, requests, parsing.

A concrete task (a built-in or a third-party plugin) states its name, its modalities, where its media come
from (``media_source``: the candidates' files for generation tasks, ``item.context`` for understanding
tasks), its built-in templates and its default template per (mode, checkpoint family)::

    class AudioGenerationTask(TemplateTask):
        name = "audio_generation"
        modalities = ("audio",)
        media_source = "candidates"
        defaults = {("pairwise", "mine"): "audio_generation.pairwise_rank.mine"}

        def builtin_templates(self):
            return MY_TEMPLATES

Templates that plugins register (``unireward_register_templates``) join the task once the registry
attaches itself (:meth:`Registry.task` does that); ``add_templates`` adds more by hand.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

from attrs import field, frozen

from .errors import MediaError, TemplateError, UnknownComponentError, did_you_mean
from .interfaces import JudgeRequest, MediaLoader
from .parsing import parse as parse_with
from .records import JudgeItem, Media, Score, Verdict
from .templates import Template

JUDGING_MODES = ("pairwise", "pointwise")


@frozen
class Capability:
    """One cell of the capability matrix: can checkpoints of ``family`` judge ``task`` in ``mode``, and how.

    ``template`` is the default template id (None when unsupported); ``also`` lists other templates the
    family can use for the same cell; ``note`` explains an inherited default or why a cell is empty.
    """

    family: str
    task: str
    mode: str
    template: str | None
    also: tuple[str, ...] = field(default=(), converter=tuple)
    note: str = ""

    @property
    def supported(self) -> bool:
        return self.template is not None


class TemplateTask:
    """Shared behaviour of template-driven tasks (see the module docstring)."""

    name: ClassVar[str] = ""
    modalities: ClassVar[tuple[str, ...]] = ()
    media_source: ClassVar[str] = "candidates"  # or "context"
    families: ClassVar[tuple[str, ...]] = ()
    # (mode, family) -> default template id
    defaults: ClassVar[Mapping[tuple[str, str], str]] = {}
    # (mode, family) -> why the family has no template for it, or why its default is borrowed
    notes: ClassVar[Mapping[tuple[str, str], str]] = {}
    # family -> template families whose templates it can also use
    compatible: ClassVar[Mapping[str, tuple[str, ...]]] = {}

    def __init__(self, templates: Iterable[Template] = (), *, registry: Any = None):
        self._extra: dict[str, Template] = {}
        self._registry = registry
        for template in templates:
            self._add(template, override=True)

    # --- templates ----------------------------------------------------------------------------

    def builtin_templates(self) -> Iterable[Template]:
        """The task's own templates (subclasses override)."""
        return ()

    def attach_registry(self, registry: Any) -> None:
        """Use ``registry`` to find templates registered by plugins (and explicit overrides)."""
        self._registry = registry

    def add_templates(self, templates: Iterable[Template], *, override: bool = False) -> None:
        """Add templates by hand. Replacing an existing id needs ``override=True``."""
        for template in templates:
            self._add(template, override=override)

    def _add(self, template: Template, *, override: bool) -> None:
        if template.task != self.name:
            raise TemplateError(f"template '{template.id}' is for task '{template.task}'", who=f"task '{self.name}'",
                                fix=f"Give it an id starting with '{self.name}.'")
        if not override and (template.id in self._extra or template.id in self._known_ids()):
            raise TemplateError(f"template '{template.id}' already exists", who=f"task '{self.name}'",
                                fix="Pass override=True to replace it on purpose")
        self._extra[template.id] = template

    def _known_ids(self) -> set[str]:
        if self._registry is not None:
            return set(self._registry.names("template"))
        return {t.id for t in self.builtin_templates()}

    def _registered(self, template_id: str) -> Template | None:
        """The template registered under ``template_id`` (None if unknown; raises on a conflict)."""
        if self._registry is None:
            return next((t for t in self.builtin_templates() if t.id == template_id), None)
        try:
            spec = self._registry.template_spec(template_id)
        except UnknownComponentError:
            return None
        return spec.create()

    def templates(self) -> dict[str, Template]:
        """Every template of this task, by id. Ids that several plugins claim are left out (see `template`)."""
        out: dict[str, Template] = {}
        if self._registry is None:
            out.update({t.id: t for t in self.builtin_templates()})
        else:
            for name in self._registry.names("template"):
                providers = self._registry.host.resolve("template", name)
                if len(providers) == 1 and providers[0].spec.task == self.name:
                    out[name] = providers[0].spec.create()
        out.update(self._extra)
        return out

    def template(self, template_id: str) -> Template:
        """One template by id. Raises TemplateError (unknown, other task) or ConflictError (claimed twice)."""
        template = self._extra.get(template_id)
        if template is None:
            template = self._registered(template_id)  # a ConflictError names every provider
        if template is None:
            owner = template_id.split(".", 1)[0]
            if owner != self.name:
                raise TemplateError(f"template '{template_id}' belongs to task '{owner}'", who=f"task '{self.name}'",
                                    fix=f"Use a '{self.name}.*' template or judge with task '{owner}'")
            known = sorted(self.templates())
            raise TemplateError(f"no template '{template_id}'.{did_you_mean(template_id, known)}",
                                who=f"task '{self.name}'",
                                fix="Run `unireward templates` to list them")
        if template.task != self.name:
            raise TemplateError(f"template '{template_id}' belongs to task '{template.task}'", who=f"task '{self.name}'",
                                fix=f"Use a '{self.name}.*' template or judge with task '{template.task}'")
        return template

    def default_template(self, mode: str, family: str) -> str:
        """The default template id for a judging mode and checkpoint family."""
        if mode not in JUDGING_MODES:
            raise TemplateError(f"mode must be pairwise or pointwise, not {mode!r}", who=f"task '{self.name}'",
                                fix="Pass mode='pairwise' or mode='pointwise'")
        template_id = self.defaults.get((mode, family))
        if template_id is None:
            why = self.notes.get((mode, family))
            known = sorted({f for _, f in self.defaults})
            if family not in known:
                why = f"unknown checkpoint family '{family}'.{did_you_mean(family, known)} Known: {', '.join(known)}"
            raise TemplateError(why or f"no {mode} template for checkpoint family '{family}'", who=f"task '{self.name}'",
                                fix="Pass a template id explicitly, or see the capability matrix (`unireward templates`)")
        return template_id

    def capabilities(self) -> list[Capability]:
        """The task's rows of the capability matrix: every family x mode."""
        templates = self.templates()
        rows = []
        for family in self.families:
            for mode in JUDGING_MODES:
                default = self.defaults.get((mode, family))
                usable = self.compatible.get(family, (family,))
                also = () if default is None else tuple(sorted(
                    tid for tid, t in templates.items()
                    if tid != default and t.family in usable and t.judging_mode == mode
                ))
                rows.append(Capability(family, self.name, mode, default, also, self.notes.get((mode, family), "")))
        return rows

    # --- requests -----------------------------------------------------------------------------

    def slot_values(self, item: JudgeItem, template: Template) -> dict[str, str]:
        """The text that fills each of the template's slots, taken from the item."""
        values: dict[str, str] = {}
        for slot in template.slots:
            value: Any
            if slot == "prompt":
                value, where = item.prompt, "JudgeItem.prompt (the caption)"
            elif slot == "question":
                value, where = item.question, "JudgeItem.question"
            elif slot in ("response", "response_1"):
                value, where = item.candidates[0].text, "the first candidate's text"
            elif slot == "response_2":
                value = item.candidates[1].text if len(item.candidates) > 1 else None
                where = "the second candidate's text"
            else:
                value, where = item.meta.get(slot), f"JudgeItem.meta['{slot}']"
            if value is None:
                raise TemplateError(f"template '{template.id}' needs slot '{slot}' but the item has none",
                                    who=f"item '{item.id}'", fix=f"Set {where}")
            values[slot] = str(value)
        return values

    def media_paths(self, item: JudgeItem, template: Template) -> list[str]:
        """The files the judge must see, in the order the checkpoints expect."""
        if self.media_source == "context":
            paths = list(item.context)
            where = "item.context"
        else:
            paths = [c.path for c in item.candidates]  # type: ignore[misc]
            missing = [c.id for c in item.candidates if c.path is None]
            if missing:
                raise TemplateError(f"candidates {missing} have no media file; task '{self.name}' judges files",
                                    who=f"item '{item.id}'", fix="Set Candidate.path to the generated image or video")
            where = "the candidates"
        if len(paths) != template.media_count:
            raise TemplateError(f"template '{template.id}' shows {template.media_count} media file(s) but "
                                f"{where} hold {len(paths)}", who=f"item '{item.id}'",
                                fix=f"Give exactly {template.media_count} file(s) in {where}")
        return paths

    def build_request(self, item: JudgeItem, template_id: str, media: MediaLoader) -> JudgeRequest:
        """The judge request for ``item``: media parts first (A then B, or the context), then the text.

        LLaVA templates carry their image placeholders in the text; a per-frame prefix gets one
        placeholder per frame actually sampled.
        """
        template = self.template(template_id)
        if item.task != self.name:
            raise TemplateError(f"item is for task '{item.task}'", who=f"task '{self.name}' (item '{item.id}')",
                                fix=f"Judge it with task '{item.task}', or set the item's task to '{self.name}'")
        if item.mode != template.judging_mode:
            raise TemplateError(f"template '{template.id}' judges {template.judging_mode} items but the item has "
                                f"{len(item.candidates)} candidate(s)", who=f"item '{item.id}'",
                                fix=f"Use a {item.mode} template")
        values = self.slot_values(item, template)
        modality = "video" if template.media_kind.startswith("video") else "image"
        parts: list[tuple[str, Any]] = []
        units = 0
        for path in self.media_paths(item, template):
            self._check_media_type(path, modality, item, media)
            loaded = media(path, modality)
            if template.media_kind == "image":
                parts.append(("image", _single(loaded, template, path)))
                units += 1
            else:
                frames = _frames(loaded, template, path)
                if template.media_kind == "video":
                    parts.append(("video", frames))
                else:  # frames delivered as separate images (LLaVA frames, UnifiedReward 2.0 video prompts)
                    parts.extend(("image", frame) for frame in frames)
                units += len(frames)
        prefix = template.media_prefix
        if prefix is not None and prefix.repeat == "fixed" and units != prefix.count:
            # e.g. a video shorter than 8 frames: this item cannot be shown as trained; others still can
            raise MediaError(
                f"template '{template.id}' was trained with {prefix.count} image placeholders but the media "
                f"gave {units} images or frames", who=f"item '{item.id}'",
                fix=f"Sample {prefix.count // max(template.media_count, 1)} frames per video, or use a per-frame template",
            )
        text = template.prompt(values, media_units=units)
        parts.append(("text", text))
        return JudgeRequest(parts=tuple(parts), template_id=template.id, max_new_tokens=template.max_new_tokens,
                            item_id=item.id)

    def _check_media_type(self, path: str, modality: str, item: JudgeItem, media: MediaLoader) -> None:
        """A file another modality plugin declares (an MP4 for an image task) is refused by its type, before a
        decoder of the wrong kind calls it corrupt. A suffix no plugin declares is left to the loader."""
        registry = getattr(media, "registry", None)
        if registry is None:
            from .registry import get_registry

            registry = get_registry()
        try:
            actual = registry.modality_for_path(str(path)).name
        except UnknownComponentError:
            return
        if actual != modality:
            article = "an" if actual[:1] in "aeiou" else "a"
            raise MediaError(f"'{Path(path).name}' is {article} {actual} file and task '{self.name}' takes "
                             f"{modality}s", who=f"item '{item.id}'",
                             fix=f"Give this task {modality} files, or judge {actual}s with a {actual} task")

    def parse(self, template_id: str, raw: str, item_id: str) -> Verdict | Score:
        """The verdict or score in a judge's answer; failures are values (see :mod:`unireward_sdk.parsing`)."""
        return parse_with(self.template(template_id), raw, item_id)


def _single(loaded: Media, template: Template, path: str) -> Any:
    if isinstance(loaded.data, (list, tuple)):
        raise TemplateError(f"template '{template.id}' shows images but the loader returned {len(loaded.data)} frames",
                            who=path, fix="Pass an image file")
    return loaded.data


def _frames(loaded: Media, template: Template, path: str) -> list[Any]:
    if not isinstance(loaded.data, (list, tuple)):
        raise TemplateError(f"template '{template.id}' shows a video but the loader returned one {loaded.modality}",
                            who=path, fix="Pass a video file")
    if not loaded.data:
        raise TemplateError("the loader returned a video without frames", who=path,
                            fix="Re-encode the video (e.g. ffmpeg -i in.mp4 out.mp4) or drop it from the data")
    return list(loaded.data)
