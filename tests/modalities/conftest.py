"""Fixtures that write real media files for the modality tests (PNG, JPEG, WebP, MP4 and friends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from unireward_sdk.host import PluginHost
from unireward_sdk.registry import Registry

BUILTIN_MODALITIES = (
    "unireward_builtins.modalities.text",
    "unireward_builtins.modalities.image",
    "unireward_builtins.modalities.video",
)


def gray_level(index: int) -> int:
    """Frame ``index`` of a test video is a flat gray of this level, so a decoded frame tells its index."""
    return (8 * index) % 256


@pytest.fixture
def write_image():
    """write_image(path, seed=0, size=(80, 60), mode="RGB", **save_kw) -> path: random pixels, any PIL format."""
    import numpy as np
    from PIL import Image

    def write(path: Path, seed: int = 0, size: tuple[int, int] = (80, 60), mode: str = "RGB", **save_kw) -> Path:
        rng = np.random.default_rng(seed)
        width, height = size
        bands = len(mode) if mode in ("RGB", "RGBA", "LA") else 1
        pixels = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
        image = Image.fromarray(pixels.squeeze(-1) if bands == 1 else pixels, mode="L" if bands == 1 else mode)
        image.save(path, **save_kw)
        return Path(path)

    return write


@pytest.fixture
def write_video():
    """write_video(path, frames=30, fps=10, codec="libx264", size=(64, 48), offset=0, faststart=False) -> path.

    Frame i is a flat gray of level gray_level(i + offset); ``offset`` makes videos with distinct content.
    """
    import av
    import numpy as np

    def write(path: Path, frames: int = 30, fps: int = 10, codec: str = "libx264", size: tuple[int, int] = (64, 48),
              offset: int = 0, faststart: bool = False) -> Path:
        width, height = size
        options = {"movflags": "faststart"} if faststart else {}
        with av.open(str(path), "w", options=options) as container:
            stream = container.add_stream(codec, rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            for i in range(frames):
                pixels = np.full((height, width, 3), gray_level(i + offset), np.uint8)
                for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        return Path(path)

    return write


@pytest.fixture
def modality_registry() -> Registry:
    """A registry with only the built-in modalities: no other plugin of the tree or the machine interferes."""
    return Registry.from_host(PluginHost.load(builtins=BUILTIN_MODALITIES, entry_points=[]))
