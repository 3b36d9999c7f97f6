"""The entry point ``unireward: audio = unireward_audio.plugin``: one hook yielding the modality's spec."""

from __future__ import annotations

from unireward_sdk import ModalitySpec, hookimpl

from .modality import EXTENSIONS, AudioModality


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="audio", factory=AudioModality, extensions=EXTENSIONS,
                       summary="WAV (PCM, float) and FLAC audio as float32 [channels, samples]")
