"""Fixtures that write real WAV (stdlib ``wave``) and FLAC (PyAV) files for the audio plugin's tests."""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest


def tone(frequency: float, rate: int, seconds: float, channels: int) -> np.ndarray:
    """A sine tone at half amplitude, float [channels, samples]; channel c is scaled by 1 / (c + 1)."""
    t = np.arange(int(rate * seconds)) / rate
    wave_ = 0.5 * np.sin(2 * np.pi * frequency * t)
    return np.stack([wave_ / (c + 1) for c in range(channels)]).astype(np.float32)


@pytest.fixture
def write_wav():
    """write_wav(path, frequency=440, rate=16000, seconds=0.5, channels=1, width=2) -> path (integer PCM)."""

    def write(path: Path, frequency: float = 440.0, rate: int = 16000, seconds: float = 0.5, channels: int = 1,
              width: int = 2) -> Path:
        signal = tone(frequency, rate, seconds, channels)
        if width == 1:
            raw = np.round(signal.T * 127 + 128).astype(np.uint8).tobytes()
        elif width == 2:
            raw = np.round(signal.T * 32767).astype("<i2").tobytes()
        elif width == 3:
            ints = np.round(signal.T * (2**23 - 1)).astype("<i4").reshape(-1)
            raw = np.stack([ints & 0xFF, (ints >> 8) & 0xFF, (ints >> 16) & 0xFF], axis=1).astype(np.uint8).tobytes()
        else:
            raw = np.round(signal.T.astype(np.float64) * (2**31 - 1)).astype("<i4").tobytes()
        with wave.open(str(path), "wb") as out:
            out.setnchannels(channels)
            out.setsampwidth(width)
            out.setframerate(rate)
            out.writeframes(raw)
        return Path(path)

    return write


def _encode(path: Path, codec: str, sample_format: str, signal: np.ndarray, rate: int, cast) -> Path:
    import av

    channels = signal.shape[0]
    layout = "mono" if channels == 1 else "stereo"
    with av.open(str(path), "w") as container:
        stream = container.add_stream(codec, rate=rate, layout=layout)
        stream.format = sample_format
        for start in range(0, signal.shape[1], 1024):
            packed = np.ascontiguousarray(cast(signal[:, start:start + 1024]).T.reshape(1, -1))
            frame = av.AudioFrame.from_ndarray(packed, format=sample_format, layout=layout)
            frame.sample_rate, frame.pts = rate, start
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return Path(path)


@pytest.fixture
def write_flac():
    """write_flac(path, frequency=440, rate=16000, seconds=0.5, channels=1) -> path (16-bit FLAC via PyAV)."""

    def write(path: Path, frequency: float = 440.0, rate: int = 16000, seconds: float = 0.5,
              channels: int = 1) -> Path:
        signal = tone(frequency, rate, seconds, channels)
        return _encode(path, "flac", "s16", signal, rate, lambda s: np.round(s * 32767).astype(np.int16))

    return write


@pytest.fixture
def write_float_wav():
    """write_float_wav(path, frequency=440, rate=8000, seconds=0.25) -> path (32-bit float WAV, not stdlib-readable)."""

    def write(path: Path, frequency: float = 440.0, rate: int = 8000, seconds: float = 0.25) -> Path:
        return _encode(path, "pcm_f32le", "flt", tone(frequency, rate, seconds, 1), rate, lambda s: s)

    return write


@pytest.fixture
def make_tone():
    """The signal the writers encode, to compare decoded samples against."""
    return tone
