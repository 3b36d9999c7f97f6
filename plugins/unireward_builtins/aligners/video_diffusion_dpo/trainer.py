"""The ``video_diffusion_dpo`` trainer: VideoDPO rows in, MP4 candidates out.

Training clips are read through the registry's ``video`` modality with an explicit evenly-spaced
sampling policy of ``num_frames`` frames; a clip with fewer frames is an error, never padded. Video
tensors are (batch, channels, frames, height, width), the layout diffusers' video UNets take; a VAE is
applied frame by frame.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch

from unireward_sdk.alignment import PairTable
from unireward_sdk.errors import ConfigError, MediaError

from ..diffusion_common.pixels import image_to_tensor, tensor_to_uint8
from ..diffusion_common.trainer import DiffusionDPOBase
from .config import VideoDiffusionDPOConfig


def write_mp4(frames: np.ndarray, path: Path, fps: int, crf: int = 0) -> Path:
    """Encode (frames, height, width, 3) uint8 RGB as H.264 (MPEG-4 Part 2 where x264 is missing).

    ``crf`` 0 is lossless: the decoded frames are the policy's pixels (after 4:2:0 chroma), always the same
    ones. With lossy settings x264 gave the same pixels different bytes from call to call in one process
    (it read memory it had not written), so a clip sampled twice with one seed decoded differently, by up
    to 13 levels of 255; a judge and an oracle must see what the policy drew, every time."""
    import av

    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=int(fps))
        stream.width, stream.height = int(frames.shape[2]), int(frames.shape[1])
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(int(crf))} if codec == "libx264" else {"qscale": "1"}
        for array in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(array), format="rgb24")
            for packet in stream.encode(frame.reformat(format="yuv420p")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


class VideoPairs(torch.utils.data.Dataset):
    """(caption, winner, loser) video tensors (C, F, H, W) from VideoDPO rows, decoded lazily."""

    def __init__(self, items: list[tuple[str, str, str]], table: PairTable, size: tuple[int, int],
                 frames: int, video_modality: Any):
        self.items, self.table, self.size, self.frames = items, table, size, frames
        self.video = video_modality

    def __len__(self) -> int:
        return len(self.items)

    def _clip(self, value: str) -> torch.Tensor:
        from unireward_sdk.media import VideoSampling

        path = self.table.resolve(value)
        media = self.video.load(path, sampling=VideoSampling.even(self.frames))
        if len(media.data) < self.frames:
            raise MediaError(f"has {len(media.data)} frames, fewer than num_frames={self.frames}", who=str(path),
                             fix="Lower num_frames or drop the clip")
        return torch.stack([image_to_tensor(frame.convert("RGB"), self.size) for frame in media.data], dim=1)

    def __getitem__(self, index: int):
        caption, winner, loser = self.items[index]
        return caption, self._clip(winner), self._clip(loser)


class VideoDiffusionDPOAligner(DiffusionDPOBase):
    """Diffusion-DPO (VideoDPO) on a diffusers text-to-video model (see :class:`VideoDiffusionDPOConfig`)."""

    name: ClassVar[str] = "video_diffusion_dpo"
    modality: ClassVar[str] = "video"
    config_class = VideoDiffusionDPOConfig
    unet_classes: ClassVar[tuple[str, ...]] = ("UNet3DConditionModel", "UNetMotionModel")
    pair_formats: ClassVar[tuple[str, ...]] = ("videodpo",)
    file_suffix: ClassVar[str] = ".mp4"

    def _setup(self, components, **kwargs) -> None:
        super()._setup(components, **kwargs)
        if any(s % 2 for s in self.pixel_size):
            raise ConfigError(f"video size {self.pixel_size} must be even (H.264 with 4:2:0 chroma)",
                              who=self.name, fix="Set an even resolution")

    def _video_modality(self) -> Any:
        if self._registry is None:
            from unireward_sdk import get_registry

            self._registry = get_registry()
        return self._registry.modality("video")

    def _dataset(self, table: PairTable):
        items = [(str(row.get("caption") or ""), row["chosen"], row["rejected"]) for row in table.rows]
        return VideoPairs(items, table, self.pixel_size, self.config.num_frames, self._video_modality()), {}

    def _vae_encode(self, videos: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        b, c, f, h, w = videos.shape
        frames = videos.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        latents = super()._vae_encode(frames, generator)
        return latents.reshape(b, f, *latents.shape[1:]).permute(0, 2, 1, 3, 4)

    def _vae_decode(self, latents: torch.Tensor) -> torch.Tensor:
        b, c, f, h, w = latents.shape
        frames = super()._vae_decode(latents.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w))
        return frames.reshape(b, f, *frames.shape[1:]).permute(0, 2, 1, 3, 4)

    def _sample_shape(self) -> tuple[int, ...]:
        factor = self.components.vae_scale_factor
        h, w = self.pixel_size
        return (self.unet.config.in_channels, self.config.num_frames, h // factor, w // factor)

    def _write(self, pixels: torch.Tensor, path: Path) -> Path:
        frames = np.stack([tensor_to_uint8(pixels[:, i]) for i in range(pixels.shape[1])])
        return write_mp4(frames, path, self.config.fps, self.config.crf)
