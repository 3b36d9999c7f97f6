"""Load and save the parts of a diffusers text-to-image / text-to-video model that Diffusion-DPO trains.

A model is a folder (or hub id) laid out like a diffusers pipeline: ``unet/``, ``text_encoder/``,
``tokenizer/``, ``scheduler/`` and, for latent models, ``vae/`` (SDXL adds ``text_encoder_2/`` and
``tokenizer_2/``). Without ``vae/`` the UNet works on pixels. Each part loads with its own
``from_pretrained`` (safetensors only), so Stable Diffusion, SDXL, text-to-video pipelines and small
pixel-space UNets load the same way. LoRA adapters are added and saved through peft, in the file layout
diffusers' ``load_lora_weights`` reads (``pytorch_lora_weights.safetensors``, keys prefixed ``unet.``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from unireward_sdk.alignment import POLICY_FILE, policy_info
from unireward_sdk.model_refs import check_reference
from unireward_sdk.errors import ConfigError, ModelLoadError

LORA_WEIGHT_NAME = "pytorch_lora_weights.safetensors"
DEFAULT_LORA_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
POLICY_FORMAT = "unireward-diffusion-policy/1"


@dataclass
class DiffusionComponents:
    """Everything a Diffusion-DPO step and the sampler need; ``vae=None`` means pixel space."""

    unet: Any
    text_encoders: list[Any]
    tokenizers: list[Any]
    noise_scheduler: Any
    vae: Any = None
    base_model: str = ""
    model_index: dict[str, Any] | None = None
    scheduler_config: dict[str, Any] = field(default_factory=dict)

    @property
    def latent(self) -> bool:
        return self.vae is not None

    @property
    def vae_scale_factor(self) -> int:
        if self.vae is None:
            return 1
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def sdxl_style(self) -> bool:
        """SDXL-style UNets also take pooled text embeddings and size/crop ids."""
        return getattr(self.unet.config, "addition_embed_type", None) == "text_time"


def read_policy_info(model: str | Path) -> dict[str, Any] | None:
    """The ``unireward_policy.json`` of a policy this SDK saved, or None for any other model."""
    info = policy_info(model)
    if info is not None and info.get("format") != POLICY_FORMAT:
        raise ModelLoadError(f"unknown policy format {info.get('format')!r}", who=str(Path(model) / POLICY_FILE),
                             fix=f"Expected {POLICY_FORMAT}; re-save the policy with this SDK version")
    return info


def _subfolders(base: str) -> set[str]:
    local = Path(base)
    if local.is_dir():
        return {p.name for p in local.iterdir() if p.is_dir()}
    from diffusers import DiffusionPipeline

    try:
        index = DiffusionPipeline.load_config(base)
    except Exception as exc:  # noqa: BLE001 - hub / offline errors of several kinds
        raise ModelLoadError(f"cannot read the model's model_index.json ({exc})", who=base,
                             fix="Pass a local folder with unet/, text_encoder/, tokenizer/ and scheduler/, "
                                 "or a hub id of a diffusers pipeline") from exc
    return {k for k, v in index.items() if not k.startswith("_") and isinstance(v, list) and v[0] is not None}


def _model_index(base: str) -> dict[str, Any] | None:
    from diffusers import DiffusionPipeline

    try:
        return dict(DiffusionPipeline.load_config(base))
    except Exception:  # noqa: BLE001 - pixel-space layouts have no model_index.json
        return None


def load_components(base: str, *, unet_classes: Sequence[str], who: str,
                    trust_remote_code: bool = False) -> DiffusionComponents:
    """Load a diffusers model's parts from a local folder or hub id (safetensors only)."""
    import diffusers
    import transformers
    from diffusers import DDPMScheduler

    check_reference(base, who=f"{who}: {base}", filename="model_index.json")
    parts = _subfolders(base)
    missing = [p for p in ("unet", "text_encoder", "tokenizer", "scheduler") if p not in parts]
    if missing:
        raise ModelLoadError(f"the model lacks {', '.join(missing)}", who=f"{who}: {base}",
                             fix="Point model at a diffusers pipeline folder (build_tiny_t2i writes one)")
    try:
        unet_config = diffusers.UNet2DConditionModel.load_config(base, subfolder="unet")  # any UNet config
        class_name = unet_config.get("_class_name", "UNet2DConditionModel")
        if class_name not in unet_classes:
            raise ConfigError(f"the model's UNet is a {class_name}; this aligner trains {', '.join(unet_classes)}",
                              who=f"{who}: {base}",
                              fix="Use diffusion_dpo for image UNets and video_diffusion_dpo for video UNets")
        unet = getattr(diffusers, class_name).from_pretrained(base, subfolder="unet", use_safetensors=True)
        encoders, tokenizers = [], []
        for suffix in ("", "_2"):
            if f"text_encoder{suffix}" not in parts:
                continue
            te_config = transformers.AutoConfig.from_pretrained(base, subfolder=f"text_encoder{suffix}")
            te_class = getattr(transformers, (te_config.architectures or ["CLIPTextModel"])[0])
            encoders.append(te_class.from_pretrained(base, subfolder=f"text_encoder{suffix}", use_safetensors=True))
            tokenizers.append(transformers.AutoTokenizer.from_pretrained(
                base, subfolder=f"tokenizer{suffix}", trust_remote_code=trust_remote_code))
        scheduler_config = dict(DDPMScheduler.load_config(base, subfolder="scheduler"))
        # training always adds noise the DDPM way; the sampler uses DDIM from the same betas
        noise_scheduler = DDPMScheduler.from_config(scheduler_config)
        vae = None
        if "vae" in parts:
            vae = diffusers.AutoencoderKL.from_pretrained(base, subfolder="vae", use_safetensors=True)
    except (ConfigError, ModelLoadError):
        raise
    except Exception as exc:  # noqa: BLE001 - any loading failure becomes one clear error
        raise ModelLoadError(f"could not load the model ({type(exc).__name__}: {exc})", who=f"{who}: {base}",
                             fix="Check the path / hub id; weights must be safetensors") from exc
    return DiffusionComponents(
        unet=unet, text_encoders=encoders, tokenizers=tokenizers, noise_scheduler=noise_scheduler, vae=vae,
        base_model=base, model_index=_model_index(base), scheduler_config=scheduler_config,
    )


# --- text ----------------------------------------------------------------------------------------


def prompt_length(tokenizer: Any, encoder: Any) -> int:
    limit = int(getattr(encoder.config, "max_position_embeddings", 77))
    wanted = int(getattr(tokenizer, "model_max_length", limit) or limit)
    return min(wanted, limit)


@torch.no_grad()
def encode_text(components: DiffusionComponents, captions: Sequence[str], device: torch.device,
                pixel_size: tuple[int, int]) -> tuple[torch.Tensor, dict[str, torch.Tensor] | None]:
    """Text conditioning for the UNet: hidden states, and SDXL's pooled embeddings and size ids."""
    captions = list(captions)
    if not components.sdxl_style:
        tokenizer, encoder = components.tokenizers[0], components.text_encoders[0]
        ids = tokenizer(captions, padding="max_length", max_length=prompt_length(tokenizer, encoder),
                        truncation=True, return_tensors="pt").input_ids.to(device)
        return encoder(ids)[0], None
    hidden, pooled = [], None
    for tokenizer, encoder in zip(components.tokenizers, components.text_encoders):
        ids = tokenizer(captions, padding="max_length", max_length=prompt_length(tokenizer, encoder),
                        truncation=True, return_tensors="pt").input_ids.to(device)
        out = encoder(ids, output_hidden_states=True)
        hidden.append(out.hidden_states[-2])  # SDXL conditions on the penultimate layer
        pooled = out[0] if out[0].ndim == 2 else pooled
    h, w = pixel_size
    time_ids = torch.tensor([[h, w, 0, 0, h, w]], device=device, dtype=hidden[0].dtype).repeat(len(captions), 1)
    return torch.cat(hidden, dim=-1), {"text_embeds": pooled, "time_ids": time_ids}


# --- LoRA ----------------------------------------------------------------------------------------


def lora_config(rank: int, alpha: float, dropout: float, targets: Sequence[str]):
    from peft import LoraConfig

    # gaussian A, zero B: the adapted UNet starts exactly equal to the reference
    return LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout, target_modules=list(targets),
                      init_lora_weights="gaussian")


def add_lora(unet: Any, config: Any) -> None:
    """Add a trainable LoRA adapter named "default"; everything else in the UNet is frozen."""
    unet.requires_grad_(False)
    if hasattr(unet, "add_adapter"):  # diffusers' PeftAdapterMixin (2D UNets, motion UNets)
        unet.add_adapter(config)
    else:  # e.g. UNet3DConditionModel: inject through peft directly
        from peft import inject_adapter_in_model

        inject_adapter_in_model(config, unet, adapter_name="default")
    for name, param in unet.named_parameters():
        if "lora_" in name:
            param.requires_grad_(True)
    if not any(p.requires_grad for p in unet.parameters()):
        raise ConfigError(f"no LoRA layer matched the target modules {list(config.target_modules)}",
                          who=type(unet).__name__, fix="Set lora_target_modules to names of Linear/Conv layers")


@contextlib.contextmanager
def adapters_disabled(unet: Any) -> Iterator[None]:
    """Run the UNet as the reference: every LoRA layer bypassed, re-enabled afterwards."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    layers = [m for m in unet.modules() if isinstance(m, BaseTunerLayer)]
    for layer in layers:
        layer.enable_adapters(False)
    try:
        yield
    finally:
        for layer in layers:
            layer.enable_adapters(True)


def save_lora(unet: Any, path: Path, config: Any) -> None:
    from diffusers.loaders import StableDiffusionLoraLoaderMixin
    from peft.utils import get_peft_model_state_dict

    state = get_peft_model_state_dict(unet, adapter_name="default")
    state = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    StableDiffusionLoraLoaderMixin.save_lora_weights(
        str(path), unet_lora_layers=state, safe_serialization=True,
        unet_lora_adapter_metadata=config.to_dict(),
    )


def load_lora(unet: Any, path: Path, config: Any, *, add: bool = True) -> None:
    """The adapter saved in ``path`` onto ``unet`` (added first unless ``add=False``: it already has one)."""
    from peft.utils import set_peft_model_state_dict
    from safetensors.torch import load_file

    file = path / LORA_WEIGHT_NAME
    if not file.is_file():
        raise ModelLoadError("the policy says LoRA but has no adapter file", who=str(file),
                             fix="Re-save the policy with save_pretrained")
    state = {k.removeprefix("unet."): v for k, v in load_file(str(file)).items() if k.startswith("unet.")}
    if add:
        add_lora(unet, config)
    result = set_peft_model_state_dict(unet, state, adapter_name="default")
    unexpected = [k for k in getattr(result, "unexpected_keys", []) if "lora_" in k]
    if unexpected or not state:
        raise ModelLoadError(f"adapter does not fit the base UNet ({len(unexpected)} unexpected keys, "
                             f"{len(state)} loaded)", who=str(file),
                             fix="Load it onto the base model it was trained from")


def save_full(components: DiffusionComponents, unet: Any, path: Path) -> None:
    """A complete pipeline folder: the trained UNet and copies of the frozen parts."""
    import diffusers

    unet.save_pretrained(str(path / "unet"), safe_serialization=True)
    for i, (encoder, tokenizer) in enumerate(zip(components.text_encoders, components.tokenizers)):
        suffix = "" if i == 0 else f"_{i + 1}"
        encoder.save_pretrained(str(path / f"text_encoder{suffix}"), safe_serialization=True)
        tokenizer.save_pretrained(str(path / f"tokenizer{suffix}"))
    if components.vae is not None:
        components.vae.save_pretrained(str(path / "vae"), safe_serialization=True)
    # keep the scheduler the model shipped with (e.g. PNDM for SD 1.5), not the DDPM one we train with
    scheduler_class = getattr(diffusers, components.scheduler_config.get("_class_name", "DDPMScheduler"),
                              diffusers.DDPMScheduler)
    scheduler_class.from_config(components.scheduler_config).save_pretrained(str(path / "scheduler"))
    if components.model_index is not None:
        (path / "model_index.json").write_text(json.dumps(components.model_index, indent=2), encoding="utf-8")
