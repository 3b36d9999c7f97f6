"""Pixels between PIL images, tensors in [-1, 1] (channels first) and uint8 arrays, for images and video frames."""

from __future__ import annotations

import numpy as np
import torch


def image_to_tensor(image, size: tuple[int, int]) -> torch.Tensor:
    """Resize the short side to fit, centre-crop to ``size`` (h, w), scale to [-1, 1], channels first.

    An image that is ``size`` times a whole factor (a sample written with ``sample_upscale``) is reduced
    by averaging each block of pixels: that restores the pixels the policy drew, where a bicubic filter
    would blur them."""
    from PIL import Image

    h, w = size
    factor = image.width // w
    if factor > 1 and image.width == factor * w and image.height == factor * h:
        image = image.reduce(factor)
    scale = max(h / image.height, w / image.width)
    resized = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                           Image.Resampling.BICUBIC)
    left, top = (resized.width - w) // 2, (resized.height - h) // 2
    array = np.asarray(resized.crop((left, top, left + w, top + h)), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


def upscale_blocks(pixels: torch.Tensor, factor: int) -> torch.Tensor:
    """Each pixel of the last two dimensions (height, width) as a ``factor`` × ``factor`` block."""
    if factor == 1:
        return pixels
    return pixels.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def tensor_to_uint8(pixels: torch.Tensor) -> np.ndarray:
    """[-1, 1] channels-first pixels to uint8 channels-last."""
    return ((pixels.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).movedim(0, -1).numpy()
