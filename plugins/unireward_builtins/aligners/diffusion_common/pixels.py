"""Pixels between PIL images, tensors in [-1, 1] (channels first) and uint8 arrays, for images and video frames."""

from __future__ import annotations

import numpy as np
import torch


def image_to_tensor(image, size: tuple[int, int]) -> torch.Tensor:
    """Resize the short side to fit, centre-crop to ``size`` (h, w), scale to [-1, 1], channels first."""
    from PIL import Image

    h, w = size
    scale = max(h / image.height, w / image.width)
    resized = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                           Image.Resampling.BICUBIC)
    left, top = (resized.width - w) // 2, (resized.height - h) // 2
    array = np.asarray(resized.crop((left, top, left + w, top + h)), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


def tensor_to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """[-1, 1] channels-first pixels to uint8 channels-last."""
    return ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(0, -1).numpy()
