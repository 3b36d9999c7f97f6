"""Contract tests for judging tasks: a subclass states its task, and inherits the checks.

    import pytest
    from unireward_sdk.testing.task import TaskContract

    class TestAudioGenerationTask(TaskContract):
        @pytest.fixture
        def task(self):
            return AudioGenerationTask()

The checks: every template renders all its slots verbatim in a single pass and refuses missing ones; the
template's own verdict phrases and score lines parse back to what they say (and so do the fast-head
readout choices); garbage becomes a failure value carrying the raw text; ``build_request`` puts the media
first, in candidate order, and the text (with LLaVA placeholders where the template has them) last; every
default template exists and serves its mode. Override :meth:`make_item`, :meth:`load_media` or
:meth:`examples` when a task needs other inputs or formats.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ..parsing import example_outputs
from ..records import Candidate, JudgeItem, Media, Score, Verdict
from ..templates import Template

# answers that no template's format accepts
GARBAGE = ("", "   \n", "I cannot decide.", "<answer></answer>", "Final Score:", "The response is fine.")
# slot values with braces and slot-like text: rendering must insert them verbatim, never re-substitute
TRICKY = "a {response_2} value with {braces}, $1 and \\n"


class FakeMediaLoader:
    """A media loader for tests: tiny PIL images, or ``frames`` frames per video; records every call.

    Each image or frame carries ``info["path"]`` so a test can tell which file a request part came from.
    """

    def __init__(self, frames: int = 8, size: int = 8):
        self.frames = frames
        self.size = size
        self.calls: list[tuple[str, str | None]] = []

    def _image(self, path: str) -> Any:
        from PIL import Image

        image = Image.new("RGB", (self.size, self.size), (len(path) * 7 % 256, 64, 128))
        image.info["path"] = path
        return image

    def __call__(self, path: str, modality: str | None = None) -> Media:
        self.calls.append((path, modality))
        digest = hashlib.sha256(path.encode()).hexdigest()
        if modality == "video":
            frames = [self._image(path) for _ in range(self.frames)]
            return Media(modality="video", sha256=digest, data=frames, path=path,
                         meta={"frame_indices": list(range(self.frames))})
        return Media(modality=modality or "image", sha256=digest, data=self._image(path), path=path)


def _media_ext(template: Template) -> str:
    return ".mp4" if template.media_kind.startswith("video") else ".png"


class TaskContract:
    """Checks every template-driven task must pass. Subclasses provide a ``task`` fixture."""

    frames_per_video = 8

    @pytest.fixture
    def task(self):  # pragma: no cover - subclasses provide it
        pytest.fail("define a `task` fixture returning the task under test")

    # --- what subclasses may override ---------------------------------------------------------

    def load_media(self) -> FakeMediaLoader:
        return FakeMediaLoader(frames=self.frames_per_video)

    def slot_values(self, template: Template) -> dict[str, str]:
        return {slot: f"<{slot}> {TRICKY}" for slot in template.slots}

    def make_item(self, task: Any, template: Template) -> JudgeItem:
        """An item that fills every slot of ``template`` and has the media it shows."""
        n = 2 if template.judging_mode == "pairwise" else 1
        ext = _media_ext(template)
        values = self.slot_values(template)
        if getattr(task, "media_source", "candidates") == "candidates":
            candidates = [Candidate(id=f"c{i}", modality=ext.strip("."), path=f"candidate_{i}{ext}") for i in range(n)]
            context: tuple[str, ...] = ()
        else:
            texts = [values.get("response_1", values.get("response")), values.get("response_2")]
            candidates = [Candidate(id=f"c{i}", text=texts[i] or f"answer {i}") for i in range(n)]
            context = tuple(f"context_{i}{ext}" for i in range(template.media_count))
        known = {"prompt", "question", "response", "response_1", "response_2"}
        return JudgeItem(
            id=f"item-{template.id}", task=task.name, candidates=candidates, prompt=values.get("prompt"),
            question=values.get("question"), context=context,
            meta={k: v for k, v in values.items() if k not in known},
        )

    def examples(self, template: Template) -> list[tuple[str, dict[str, Any]]]:
        return example_outputs(template)

    # --- the checks ---------------------------------------------------------------------------

    def test_task_names_itself_and_its_modalities(self, task):
        assert task.name and isinstance(task.name, str)
        assert task.modalities and all(isinstance(m, str) for m in task.modalities)
        assert task.templates(), "a task needs at least one template"

    def test_templates_belong_to_the_task(self, task):
        for template_id, template in task.templates().items():
            assert template.id == template_id
            assert template.task == task.name
            assert task.template(template_id) == template

    def test_every_template_renders_all_slots_verbatim(self, task):
        for template in task.templates().values():
            plain = template.render(**{slot: f"<{slot} value>" for slot in template.slots})
            for slot in template.slots:
                assert f"<{slot} value>" in plain, f"{template.id}: slot {slot} missing from the rendered text"
                assert "{" + slot + "}" not in plain, f"{template.id}: slot {slot} left unfilled"
            # single pass: values are inserted verbatim (braces included) and the rest is unchanged
            values = self.slot_values(template)
            assert template.render(**values) == _reference_render(template.text, values), template.id

    def test_render_refuses_missing_and_unknown_slots(self, task):
        from ..errors import TemplateError

        for template in task.templates().values():
            if template.slots:
                values = self.slot_values(template)
                values.pop(template.slots[0])
                with pytest.raises(TemplateError, match=template.slots[0]):
                    template.render(**values)
            with pytest.raises(TemplateError, match="unknown"):
                template.render(**self.slot_values(template), not_a_slot="x")

    def test_own_formats_parse_back(self, task):
        for template in task.templates().values():
            examples = self.examples(template)
            assert examples, f"{template.id}: no example answers to check"
            for raw, expected in examples:
                record = task.parse(template.id, raw, "item-1")
                assert record.ok, f"{template.id}: {raw!r} did not parse: {record.error}"
                assert record.raw == raw and record.item_id == "item-1"
                if "winner" in expected:
                    assert isinstance(record, Verdict) and record.winner == expected["winner"], (template.id, raw)
                else:
                    assert isinstance(record, Score), template.id
                    assert record.value == pytest.approx(expected["value"]), (template.id, raw)
                    assert record.scale == template.score_range
                    for key, value in expected.get("dimensions", {}).items():
                        assert record.dimensions[key] == pytest.approx(value), (template.id, key)

    def test_readout_choices_parse_back(self, task):
        for template in task.templates().values():
            readout = template.readout
            if readout is None:
                assert template.readout_unavailable, f"{template.id}: no readout and no reason why"
                continue
            if template.judging_mode == "pairwise":
                for label, choice in readout.choices.items():
                    record = task.parse(template.id, readout.prefix + choice, "item-1")
                    assert record.ok and record.winner == label, (template.id, label, record.error)
            else:
                lo, hi = template.score_range
                assert all(lo <= float(label) <= hi for label in readout.choices), template.id
            if not readout.exact:
                assert readout.note, f"{template.id}: an approximate readout must say what it approximates"

    def test_garbage_is_a_failure_value(self, task):
        for template in task.templates().values():
            for raw in GARBAGE:
                record = task.parse(template.id, raw, "item-1")
                assert not record.ok, f"{template.id}: {raw!r} parsed as ok"
                assert record.error and record.raw == raw
                assert getattr(record, "winner", None) is None and getattr(record, "value", None) is None

    def test_build_request_puts_media_first_then_text(self, task):
        for template in task.templates().values():
            loader = self.load_media()
            item = self.make_item(task, template)
            request = task.build_request(item, template.id, loader)
            kinds = [kind for kind, _ in request.parts]
            assert kinds[-1] == "text" and kinds.count("text") == 1, f"{template.id}: {kinds}"
            media_parts = request.parts[:-1]
            assert all(kind in ("image", "video") for kind, _ in media_parts), template.id
            # media in the order the loader was asked for them (A then B, or the context)
            seen = []
            for kind, value in media_parts:
                frames = value if kind == "video" else [value]
                for frame in frames:
                    if not seen or seen[-1] != frame.info["path"]:
                        seen.append(frame.info["path"])
            assert seen == [path for path, _ in loader.calls], f"{template.id}: media out of order"
            assert request.template_id == template.id and request.item_id == item.id
            assert request.max_new_tokens == template.max_new_tokens
            text = request.parts[-1][1]
            values = task.slot_values(item, template)
            units = sum(len(v) if k == "video" else 1 for k, v in media_parts)
            assert text == template.prefix(units) + template.render(**values), template.id
            if template.delivery == "llava_placeholders":
                assert text.startswith(template.prefix(units)) and "<image>" in text[: len(template.prefix(units))]
            else:
                assert "<image>" not in text.replace(item.prompt or "", "").replace(item.question or "", ""), template.id

    def test_default_templates_exist_and_fit_their_mode(self, task):
        defaults = getattr(task, "defaults", {})
        assert defaults, "a task needs default templates per (mode, family)"
        for (mode, family), template_id in defaults.items():
            assert task.default_template(mode, family) == template_id
            assert task.template(template_id).judging_mode == mode, (mode, family, template_id)


def _reference_render(text: str, values: dict[str, str]) -> str:
    """Slot substitution done a second, independent way: split on each slot marker, join with the value."""
    pieces: list = [text]
    for slot, value in values.items():
        pieces = _split_keep(pieces, "{" + slot + "}", value)
    return "".join(pieces)


class _Done(str):
    """A piece that is an inserted value: never searched for slot markers again."""


def _split_keep(pieces: list, marker: str, value: str) -> list:
    out: list = []
    for piece in pieces:
        if isinstance(piece, _Done):
            out.append(piece)
            continue
        parts = piece.split(marker)
        for i, part in enumerate(parts):
            if i:
                out.append(_Done(value))
            out.append(part)
    return out
