"""Tiny diffusion policies for tests, benchmarks and the CPU testbed: real diffusers classes, a few
hundred thousand weights, written to a folder that loads with ``from_pretrained`` offline.

- ``build_tiny_t2i(path)``: a text-to-image model. ``latent=False`` (default) is a pixel-space
  UNet2DConditionModel on 32x32 RGB; ``latent=True`` adds a tiny VAE and saves a complete
  ``StableDiffusionPipeline``; ``sdxl=True`` (latent) builds an SDXL-style model with two text encoders,
  pooled embeddings and size ids, saved as a ``StableDiffusionXLPipeline``.
- ``build_tiny_t2v(path)``: a text-to-video model with a UNet3DConditionModel, pixel space by default
  (8 frames of 16x16), or with a tiny VAE as a ``TextToVideoSDPipeline``.

The text encoder is a tiny ``CLIPTextModel`` over the project's tiny BPE tokenizer
(:func:`unireward_sdk.tiny.vlm.build_tiny_tokenizer`), padded on the right to 16 tokens. Its merges are
learnt from a few generic sentences, so most words are several tokens and a long caption is cut at 16:
``corpus`` adds the captions a model will see to the tokenizer's training text, so that each of their words
becomes one token (what a model that must tell captions apart by one word needs).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

TEXT_LENGTH = 16
TEXT_WIDTH = 32


def _tokenizer(max_length: int = TEXT_LENGTH, corpus: Sequence[str] = ()):
    from .vlm import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer(corpus=corpus)
    tokenizer.padding_side = "right"  # CLIP-style text encoders read left to right from position 0
    tokenizer.model_max_length = max_length
    return tokenizer


def _text_encoder(tokenizer, *, projection: bool = False, hidden: int = TEXT_WIDTH, layers: int = 2):
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    config = CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=hidden * 2, num_hidden_layers=layers,
        num_attention_heads=4, max_position_embeddings=tokenizer.model_max_length, projection_dim=hidden,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id, bos_token_id=tokenizer.pad_token_id,
    )
    return (CLIPTextModelWithProjection if projection else CLIPTextModel)(config).eval()


def build_tiny_text_parts(*, hidden: int = TEXT_WIDTH, layers: int = 2, max_length: int = TEXT_LENGTH):
    """(tokenizer, CLIPTextModel) in memory: the text side of the tiny models, at any width (e.g. 768
    to condition an SD-1.5-sized UNet in a benchmark)."""
    tokenizer = _tokenizer(max_length)
    return tokenizer, _text_encoder(tokenizer, hidden=hidden, layers=layers)


def _vae(latent_channels: int = 4):
    from diffusers import AutoencoderKL

    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=latent_channels, block_out_channels=(16, 32),
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), layers_per_block=1, norm_num_groups=8,
        sample_size=32,
    ).eval()


def _scheduler(latent: bool):
    from diffusers import DDPMScheduler

    if latent:  # the Stable Diffusion schedule
        return DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False,
                             steps_offset=1)
    return DDPMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False, steps_offset=1)


def _save_parts(path: Path, **parts) -> None:
    """Save components into diffusers' sub-folder layout (used where no pipeline class fits)."""
    for name, part in parts.items():
        if hasattr(part, "save_pretrained"):
            kwargs = {} if name.startswith("tokenizer") or name == "scheduler" else {"safe_serialization": True}
            part.save_pretrained(str(path / name), **kwargs)


def build_tiny_t2i(path: str | Path, *, latent: bool = False, sdxl: bool = False, sample_size: int = 32,
                   seed: int = 0, corpus: Sequence[str] = ()) -> Path:
    """Write a tiny text-to-image model to ``path`` and return the path (see the module docstring).

    ``sample_size`` is the image size in pixels (the UNet works on ``sample_size // 2`` latents when a
    VAE is used).
    """
    import torch
    from diffusers import UNet2DConditionModel

    torch.manual_seed(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    latent = latent or sdxl
    tokenizer = _tokenizer(corpus=corpus)
    encoder = _text_encoder(tokenizer)
    channels = 4 if latent else 3
    unet_kwargs = dict(
        sample_size=sample_size // 2 if latent else sample_size, in_channels=channels, out_channels=channels,
        layers_per_block=1, block_out_channels=(32, 64), down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), cross_attention_dim=TEXT_WIDTH, attention_head_dim=8,
        norm_num_groups=8,
    )
    scheduler = _scheduler(latent)
    if sdxl:
        from diffusers import StableDiffusionXLPipeline

        encoder_2 = _text_encoder(tokenizer, projection=True)
        unet = UNet2DConditionModel(
            **{**unet_kwargs, "cross_attention_dim": 2 * TEXT_WIDTH},
            addition_embed_type="text_time", addition_time_embed_dim=8,
            projection_class_embeddings_input_dim=TEXT_WIDTH + 6 * 8,
        ).eval()
        pipe = StableDiffusionXLPipeline(vae=_vae(), text_encoder=encoder, text_encoder_2=encoder_2,
                                         tokenizer=tokenizer, tokenizer_2=_tokenizer(corpus=corpus), unet=unet,
                                         scheduler=scheduler)
        pipe.save_pretrained(str(path), safe_serialization=True)
        return path
    unet = UNet2DConditionModel(**unet_kwargs).eval()
    if latent:
        from diffusers import StableDiffusionPipeline

        pipe = StableDiffusionPipeline(vae=_vae(), text_encoder=encoder, tokenizer=tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        pipe.save_pretrained(str(path), safe_serialization=True)
    else:
        _save_parts(path, unet=unet, text_encoder=encoder, tokenizer=tokenizer, scheduler=scheduler)
    return path


def build_tiny_t2v(path: str | Path, *, latent: bool = False, sample_size: int = 16, seed: int = 0,
                   corpus: Sequence[str] = ()) -> Path:
    """Write a tiny text-to-video model (UNet3DConditionModel) to ``path`` and return the path.

    ``sample_size`` is the frame size in pixels; clips are (channels, frames, height, width) with any
    frame count (the aligner's ``num_frames``, 8 by default).
    """
    import torch
    from diffusers import UNet3DConditionModel

    torch.manual_seed(seed)
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    tokenizer = _tokenizer(corpus=corpus)
    encoder = _text_encoder(tokenizer)
    channels = 4 if latent else 3
    unet = UNet3DConditionModel(
        sample_size=sample_size // 2 if latent else sample_size, in_channels=channels, out_channels=channels,
        layers_per_block=1, block_out_channels=(16, 32), down_block_types=("CrossAttnDownBlock3D", "DownBlock3D"),
        up_block_types=("UpBlock3D", "CrossAttnUpBlock3D"), cross_attention_dim=TEXT_WIDTH, attention_head_dim=8,
        norm_num_groups=8,
    ).eval()
    scheduler = _scheduler(latent)
    if latent:
        from diffusers import TextToVideoSDPipeline

        pipe = TextToVideoSDPipeline(vae=_vae(), text_encoder=encoder, tokenizer=tokenizer, unet=unet,
                                     scheduler=scheduler)
        pipe.save_pretrained(str(path), safe_serialization=True)
    else:
        _save_parts(path, unet=unet, text_encoder=encoder, tokenizer=tokenizer, scheduler=scheduler)
    return path
