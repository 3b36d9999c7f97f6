"""The ``audio`` modality: WAV and FLAC files as float32 arrays shaped [channels, samples] in [-1, 1].

PCM WAV is read with the standard library's ``wave``; FLAC and the WAV encodings ``wave`` does not know
(float, extensible) are decoded with PyAV, which UniReward already depends on. Every file is validated
(sample rate, channels, non-empty, optional duration bounds and required rate) and hashed by its bytes.
A missing, corrupt, truncated or unsupported file raises :class:`MediaError` naming the file.
"""

from __future__ import annotations

import wave
from pathlib import Path
from typing import Any

from unireward_sdk import Media, MediaError
from unireward_sdk.media import sha256_file

EXTENSIONS = (".wav", ".flac")


class AudioModality:
    """Loads audio; ``sample_rate`` (if set) is required, never silently resampled; ``mono`` averages channels."""

    name = "audio"

    def __init__(self, *, sample_rate: int | None = None, min_duration: float = 0.0,
                 max_duration: float | None = None, mono: bool = False):
        self.sample_rate = sample_rate
        self.min_duration = min_duration
        self.max_duration = max_duration
        self.mono = mono

    def load(self, source: str | Path, *, sample_rate: int | None = None, mono: bool | None = None) -> Media:
        path = Path(source)
        digest = sha256_file(path)  # also reports a missing or unreadable file
        with open(path, "rb") as fh:
            head = fh.read(12)
        if not head:
            raise MediaError("empty file (0 bytes)", who=str(path))
        try:
            samples, info = _decode(path, head)
        except MediaError as exc:
            raise MediaError(exc.what, who=str(path), fix=exc.fix) from exc
        self._validate(path, samples, info, sample_rate or self.sample_rate)
        mixdown = self.mono if mono is None else mono
        if mixdown and samples.shape[0] > 1:
            samples = samples.mean(axis=0, keepdims=True)
        meta = {**info, "samples": int(samples.shape[1]), "duration": samples.shape[1] / info["sample_rate"],
                "mono_mixdown": bool(mixdown and info["channels"] > 1)}
        return Media(modality=self.name, sha256=digest, data=samples, path=str(path), meta=meta)

    def content_hash(self, source: str | Path) -> str:
        return sha256_file(source)

    def _validate(self, path: Path, samples: Any, info: dict[str, Any], required_rate: int | None) -> None:
        rate, channels = info["sample_rate"], info["channels"]
        if rate <= 0 or channels <= 0:
            raise MediaError(f"invalid header: {rate} Hz, {channels} channels", who=str(path))
        if samples.shape[1] == 0:
            raise MediaError("no audio samples (empty recording)", who=str(path))
        if required_rate is not None and rate != required_rate:
            raise MediaError(f"sample rate is {rate} Hz, {required_rate} Hz required", who=str(path),
                             fix="Resample the file, or load without a required sample_rate")
        duration = samples.shape[1] / rate
        if duration < self.min_duration:
            raise MediaError(f"too short: {duration:.3f} s < {self.min_duration} s", who=str(path))
        if self.max_duration is not None and duration > self.max_duration:
            raise MediaError(f"too long: {duration:.3f} s > {self.max_duration} s", who=str(path))


# --- decoders -------------------------------------------------------------------------------------------


def _decode(path: Path, head: bytes) -> tuple[Any, dict[str, Any]]:
    """Pick the decoder by the file's magic bytes, not its name."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _read_wav(path)
    if head[:4] == b"fLaC":
        return _read_with_pyav(path)
    raise MediaError("not a WAV or FLAC file (corrupt, or an unsupported format)", fix="Convert it to WAV or FLAC")


def _read_wav(path: Path) -> tuple[Any, dict[str, Any]]:
    import numpy as np

    try:
        with wave.open(str(path), "rb") as wav:
            channels, width, rate, declared = (wav.getnchannels(), wav.getsampwidth(), wav.getframerate(),
                                               wav.getnframes())
            raw = wav.readframes(declared)
    except wave.Error as exc:
        if "unknown format" in str(exc):  # float or extensible WAV: the stdlib reads integer PCM only
            return _read_with_pyav(path)
        raise MediaError(f"corrupt WAV file: {exc}") from exc
    except EOFError as exc:
        raise MediaError("corrupt or truncated WAV file: the header ends early") from exc
    frame_bytes = channels * width
    if frame_bytes == 0:
        raise MediaError(f"invalid WAV header ({channels} channels, {width}-byte samples)")
    got = len(raw) // frame_bytes
    if got < declared:
        raise MediaError(f"truncated: the header declares {declared} sample frames but the file holds {got}",
                         fix="Re-export or re-download the file")
    ints = _pcm_to_float(np, raw[: got * frame_bytes], width)
    samples = ints.reshape(-1, channels).T.copy()
    return samples, {"format": "wav", "codec": f"pcm_{8 * width}bit", "decoder": "wave", "sample_rate": rate,
                     "channels": channels, "bits": 8 * width}


def _pcm_to_float(np, raw: bytes, width: int):
    if width == 1:  # 8-bit WAV is unsigned
        return (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    if width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        value = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32) / float(1 << 23)
    if width == 4:
        return (np.frombuffer(raw, "<i4").astype(np.float64) / float(1 << 31)).astype(np.float32)
    raise MediaError(f"unsupported WAV sample width: {width} bytes")


_SCALE = {"u8": 128.0, "s16": 32768.0, "s32": float(1 << 31), "s64": float(1 << 63), "flt": 1.0, "dbl": 1.0}


def _read_with_pyav(path: Path) -> tuple[Any, dict[str, Any]]:
    import av
    import numpy as np

    chunks = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise MediaError("no audio stream in the file")
            stream = container.streams.audio[0]
            rate, channels, codec = stream.rate, stream.channels, stream.codec_context.name
            declared = None
            if stream.duration is not None and stream.time_base is not None:
                declared = round(float(stream.duration * stream.time_base) * rate)
            for frame in container.decode(stream):
                chunks.append(_frame_to_float(np, frame, channels))
            fmt = container.format.name
    except MediaError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, EOFError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(f"corrupt, truncated or unsupported audio: {type(exc).__name__}: {reason}") from exc
    samples = np.concatenate(chunks, axis=1) if chunks else np.zeros((max(channels, 1), 0), np.float32)
    if declared is not None and samples.shape[1] < declared:
        raise MediaError(f"truncated: the container declares {declared} samples but only {samples.shape[1]} decode",
                         fix="Re-export or re-download the file")
    return samples, {"format": "flac" if "flac" in fmt else fmt.split(",")[0], "codec": codec, "decoder": "pyav",
                     "sample_rate": rate, "channels": channels}


def _frame_to_float(np, frame, channels: int):
    base = frame.format.name.rstrip("p")  # planar formats end in "p": s16p, fltp...
    if base not in _SCALE:
        raise MediaError(f"unsupported sample format {frame.format.name}")
    array = frame.to_ndarray()
    if not frame.format.is_planar:  # packed: one row of interleaved samples
        array = array.reshape(-1, channels).T
    array = array.astype(np.float64 if base in ("s32", "s64") else np.float32)
    if base == "u8":
        array = array - 128.0
    return (array / _SCALE[base]).astype(np.float32)
