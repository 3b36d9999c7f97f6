"""Preference rows for ``vlm_dpo``: trl vision DPO rows (and PreferencePair records) become one uniform
``datasets.Dataset`` that image, video and text-only prompts share, and videos become frames.

A uniform row holds ``prompt`` / ``chosen`` / ``rejected`` as JSON text of structured chat messages
(content parts, media placeholders already in the first user turn, so every row has the same schema
whatever its media), ``images`` (the image files' bytes), ``videos`` (absolute video paths, decoded
to frames batch by batch) and ``index`` (its row number in the source, for error messages).
Media are checked when the dataset is built, so a missing file stops a run before its first step.
"""

from __future__ import annotations

import json
from collections import Counter, OrderedDict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from unireward_sdk.alignment import PairTable, image_bytes
from unireward_sdk.errors import ConfigError, MediaError

MEDIA_PARTS = ("image", "video")


# --- messages ---------------------------------------------------------------------------------------


def structured_messages(value: Any, role: str, *, who: str) -> list[dict[str, Any]]:
    """Chat messages with list content: a plain string becomes one ``role`` message."""
    if isinstance(value, str):
        value = [{"role": role, "content": value}]
    if not isinstance(value, Sequence) or not value or not all(isinstance(m, Mapping) for m in value):
        raise ConfigError(f"expected chat messages (a list of role/content dicts) or a string, got {value!r:.80}",
                          who=who, fix="Use trl's conversational rows (unireward pairs export --format trl)")
    messages = []
    for message in value:
        if "role" not in message:
            raise ConfigError(f"a message has no role: {dict(message)!r:.80}", who=who,
                              fix="Give every message a 'role' (system, user or assistant)")
        content = message.get("content")
        if content is None:
            parts: list[dict[str, Any]] = []
        elif isinstance(content, str):
            parts = [{"type": "text", "text": content}]
        else:
            parts = [dict(p) for p in content]
        messages.append({"role": str(message["role"]), "content": parts})
    return messages


def _part_kind(part: Mapping[str, Any]) -> str | None:
    kind = part.get("type")
    if kind in MEDIA_PARTS:
        return kind
    return next((k for k in MEDIA_PARTS if k in part), None)


def with_media_placeholders(prompt: list[dict[str, Any]], images: int, videos: int, *, who: str) -> list[dict]:
    """Put one ``{"type": "image"}`` / ``{"type": "video"}`` part per media file before the text of the first
    user turn (where trl puts images), unless the prompt already places them; counts must then agree."""
    present = Counter(_part_kind(p) for m in prompt for p in m["content"])
    if present["image"] or present["video"]:
        if (present["image"], present["video"]) != (images, videos):
            raise ConfigError(f"the prompt places {present['image']} image(s) and {present['video']} video(s) but the "
                              f"row has {images} and {videos}", who=who,
                              fix="Give one image/video placeholder per file, or none (they are then added)")
        # a placeholder carrying its own payload would be fed twice: keep only the kind
        return [{**m, "content": [{"type": k} if (k := _part_kind(p)) else p for p in m["content"]]}
                for m in prompt]
    if not images and not videos:
        return prompt
    media = [{"type": "image"}] * images + [{"type": "video"}] * videos
    out = [dict(m) for m in prompt]
    for message in out:
        if message["role"] == "user":
            message["content"] = [dict(p) for p in media] + list(message["content"])
            return out
    raise ConfigError("the prompt has no user turn to attach the media to", who=who,
                      fix="Add a user message to the prompt (its media are placed before its text)")


def completion_text(messages: list[dict[str, Any]]) -> str:
    return "".join(p.get("text", "") for m in messages for p in m["content"] if p.get("type", "text") == "text")


# --- media ------------------------------------------------------------------------------------------


def video_path(value: Any, table: PairTable | None, *, who: str) -> str:
    if isinstance(value, Mapping) and value.get("path"):
        value = value["path"]
    if not isinstance(value, (str, Path)):
        raise MediaError(f"a video must be given as a file path, got a {type(value).__name__}", who=who,
                         fix="Write video rows with `videos`: a list of file paths")
    path = table.resolve(value) if table is not None else Path(value)
    if not path.is_file():
        raise MediaError(f"video file not found: {path}", who=who, fix="Check the export's paths")
    return str(path.resolve())


class VideoFrames:
    """Evenly spaced frames of a video through the registry's ``video`` modality, kept in a small LRU
    cache: a video is decoded once per few epochs, not twice per step (chosen and rejected)."""

    def __init__(self, num_frames: int, max_pixels: int | None = None, *, registry: Any = None,
                 cache_size: int = 64):
        self.num_frames, self.max_pixels, self.cache_size = num_frames, max_pixels, cache_size
        self._registry = registry
        self._cache: OrderedDict[str, list] = OrderedDict()

    def _modality(self) -> Any:
        if self._registry is None:
            from unireward_sdk import get_registry

            self._registry = get_registry()
        return self._registry.modality("video")

    def __call__(self, path: str) -> list:
        frames = self._cache.get(path)
        if frames is None:
            from unireward_sdk.media import VideoSampling

            media = self._modality().load(path, sampling=VideoSampling.even(self.num_frames,
                                                                             max_pixels=self.max_pixels))
            frames = [frame.convert("RGB") for frame in media.data]
            self._cache[path] = frames
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(path)
        return frames

    def __getstate__(self) -> dict[str, Any]:  # dataloader workers get their own empty cache
        return {**self.__dict__, "_cache": OrderedDict(), "_registry": None}


# --- rows -------------------------------------------------------------------------------------------


def _media_list(row: Mapping[str, Any], plural: str, single: str) -> list:
    values = row.get(plural)
    if values is None and row.get(single) is not None:
        values = [row[single]]
    return list(values or [])


def uniform_rows(table: PairTable, *, who: str) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Uniform rows (see the module docstring) from trl rows or PreferencePair records, and the counts of
    rows left out by reason (``identical``: chosen and rejected say the same, so there is nothing to learn)."""
    table = table.require("trl", "records", who=who)
    rows, dropped = [], Counter()
    for index, source in enumerate(table.rows):
        where = f"{who}: {table.source} row {index}"
        row = _trl_row(source, where) if table.format == "records" else source
        prompt = structured_messages(row.get("prompt"), "user", who=where)
        chosen = structured_messages(row.get("chosen"), "assistant", who=where)
        rejected = structured_messages(row.get("rejected"), "assistant", who=where)
        images = [image_bytes(v, table, who=where) for v in _media_list(row, "images", "image")]
        videos = [video_path(v, table, who=where) for v in _media_list(row, "videos", "video")]
        prompt = with_media_placeholders(prompt, len(images), len(videos), who=where)
        if completion_text(chosen) == completion_text(rejected):
            dropped["identical"] += 1
            continue
        rows.append({"index": index, "prompt": json.dumps(prompt), "chosen": json.dumps(chosen),
                     "rejected": json.dumps(rejected), "images": images, "videos": videos})
    return rows, dict(dropped)


def _trl_row(pair: Any, where: str) -> dict[str, Any]:
    """A trl row from a PreferencePair of response texts (the understanding tasks)."""
    from unireward_sdk.pairs.sources import guess_modality

    for side in (pair.chosen, pair.rejected):
        if side.text is None:
            raise ConfigError(f"prompt '{pair.prompt_id}': DPO on a VLM needs response texts, got a "
                              f"{side.modality} candidate", who=where,
                              fix="Use diffusion_dpo / video_diffusion_dpo for generation pairs")
    question = pair.question if pair.question is not None else (pair.prompt or "")
    row: dict[str, Any] = {"prompt": question, "chosen": pair.chosen.text, "rejected": pair.rejected.text,
                           "images": [], "videos": []}
    for path in pair.context:
        row["videos" if guess_modality(path) == "video" else "images"].append(path)
    return row


def to_dataset(rows: list[dict[str, Any]]):
    """The uniform rows as a ``datasets.Dataset`` with a fixed schema (so image, video and text-only rows mix)."""
    import datasets

    features = datasets.Features({
        "index": datasets.Value("int64"),
        "prompt": datasets.Value("string"),
        "chosen": datasets.Value("string"),
        "rejected": datasets.Value("string"),
        "images": datasets.Sequence(datasets.Value("binary")),
        "videos": datasets.Sequence(datasets.Value("string")),
    })
    return datasets.Dataset.from_list(rows, features=features)


SIGNATURE_COLUMNS = ("index", "prompt", "chosen", "rejected", "images", "videos")
