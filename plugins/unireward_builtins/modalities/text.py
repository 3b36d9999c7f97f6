"""The ``text`` modality: UTF-8 strings or ``.txt`` files, hashed by content."""

from __future__ import annotations

import hashlib
from pathlib import Path

from unireward_sdk import Media, MediaError, ModalitySpec, hookimpl


class TextModality:
    name = "text"

    def load(self, source: str | Path) -> Media:
        path = Path(source)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise MediaError("file not found", who=str(path), fix="Check the path") from None
        except OSError as exc:
            raise MediaError(f"cannot read file: {exc}", who=str(path),
                             fix="Make the file readable by this user (check its permissions)") from exc
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MediaError(f"not valid UTF-8 text ({exc.reason} at byte {exc.start})", who=str(path),
                             fix="Re-save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8 in.txt > out.txt)") from exc
        return Media(modality=self.name, sha256=hashlib.sha256(data).hexdigest(), data=text, path=str(path))

    def from_string(self, text: str) -> Media:
        return Media(modality=self.name, sha256=hashlib.sha256(text.encode("utf-8")).hexdigest(), data=text)

    def content_hash(self, source: str | Path) -> str:
        return self.load(source).sha256


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="text", factory=TextModality, extensions=(".txt",), summary="UTF-8 text")
