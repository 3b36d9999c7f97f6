"""Writing testbed media to disk: PNG images and MP4 clips (PyAV), deterministic bytes for one input."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image


def save_image(image: Image.Image, path: str | Path) -> str:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, format="PNG")
    return str(path)


def save_video(frames: Sequence[Image.Image], path: str | Path, fps: int = 8) -> str:
    """Encode frames losslessly enough for the oracle (high-quality MPEG-4 part 2, yuv420p)."""
    import av

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    width, height = frames[0].size
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("mpeg4", rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        stream.options = {"qscale": "1"}
        for frame in frames:
            packet_frame = av.VideoFrame.from_ndarray(np.asarray(frame.convert("RGB")), format="rgb24")
            for packet in stream.encode(packet_frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return str(path)


def load_video(path: str | Path) -> list[Image.Image]:
    """All frames of a clip as RGB images (testbed clips are 8 frames)."""
    import av

    with av.open(str(path)) as container:
        return [f.to_image().convert("RGB") for f in container.decode(video=0)]
