"""The ``diffusion_dpo`` trainer: Pick-a-Pic rows in, PNG candidates out (the shared loop is in
:mod:`..diffusion_common.trainer`)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

import torch

from unireward_sdk.alignment import PairTable, load_image, pickapic_outcome

from ..diffusion_common.pixels import image_to_tensor, tensor_to_uint8
from ..diffusion_common.trainer import DiffusionDPOBase
from .config import DiffusionDPOConfig


class ImagePairs(torch.utils.data.Dataset):
    """(caption, winner, loser) pixel tensors, decoded lazily from Pick-a-Pic rows."""

    def __init__(self, items: list[tuple[str, object, object]], table: PairTable, size: tuple[int, int]):
        self.items, self.table, self.size = items, table, size

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        caption, winner, loser = self.items[index]
        who = f"{self.table.source} row {index}"
        return (caption, image_to_tensor(load_image(winner, self.table, who=who), self.size),
                image_to_tensor(load_image(loser, self.table, who=who), self.size))


class DiffusionDPOAligner(DiffusionDPOBase):
    """Diffusion-DPO on a diffusers text-to-image model (see :class:`DiffusionDPOConfig`)."""

    name: ClassVar[str] = "diffusion_dpo"
    modality: ClassVar[str] = "image"
    config_class = DiffusionDPOConfig
    unet_classes: ClassVar[tuple[str, ...]] = ("UNet2DConditionModel",)
    pair_formats: ClassVar[tuple[str, ...]] = ("pickapic",)
    file_suffix: ClassVar[str] = ".png"

    def _dataset(self, table: PairTable):
        items, ties = [], 0
        for i, row in enumerate(table.rows):
            outcome = pickapic_outcome(row.get("label_0"), who=f"{table.source} row {i}")
            if outcome == "tie":
                ties += 1  # a tie says nothing about which image is better: never "first wins"
                continue
            first, second = row["jpg_0"], row["jpg_1"]
            winner, loser = (first, second) if outcome == "first" else (second, first)
            items.append((str(row.get("caption") or ""), winner, loser))
        return ImagePairs(items, table, self.pixel_size), ({"tie": ties} if ties else {})

    def _sample_shape(self) -> tuple[int, ...]:
        factor = self.components.vae_scale_factor
        h, w = self.pixel_size
        return (self.unet.config.in_channels, h // factor, w // factor)

    def _write(self, pixels: torch.Tensor, path: Path) -> Path:
        from PIL import Image

        Image.fromarray(tensor_to_uint8(pixels)).save(path, format="PNG")
        return path
