"""Settings of the ``diffusion_dpo`` aligner (no torch at import); the video aligner's settings extend them."""

from __future__ import annotations

from dataclasses import dataclass

from unireward_sdk.alignment import AlignerConfig
from unireward_sdk.errors import ConfigError, did_you_mean

# what a run minimises: Diffusion-DPO, or the supervised baseline the Diffusion-DPO paper compares it with
OBJECTIVES = ("dpo", "sft")


@dataclass
class DiffusionDPOConfig(AlignerConfig):
    """Diffusion-DPO settings. ``beta`` is the paper's β (the diffusers example's ``beta_dpo`` is β/2).

    ``resolution``: training and sampling size in pixels (None: the UNet's sample size times the VAE's
    down-scaling). ``sample_steps`` / ``guidance_scale``: the DDIM sampler used by ``sample``.

    ``sample_upscale``: ``sample`` writes each output this many times larger, every pixel a square block
    (nearest neighbour). A judge trained on larger media then sees the policy's shapes with sharp edges,
    where its processor would otherwise blur a small image up. Training reads such a file back exactly:
    media whose size is a whole multiple of ``resolution`` is reduced by averaging blocks, which undoes the
    blocks, so the policy learns from its own pixels.

    ``objective``: ``dpo`` (the default) or ``sft``, the supervised baseline: the plain denoising loss on
    the chosen sample of each pair, the rejected one unused. An ``sft`` run still logs the DPO margin and
    accuracy against the reference, so the two runs read alike; it tells what the preference adds.

    ``sft_weight``: with ``objective = "dpo"``, add this many times the chosen sample's denoising error to
    the DPO loss (0, the default: pure Diffusion-DPO). It is the diffusion counterpart of DPO plus an SFT
    term on the chosen answer (trl's ``rpo_alpha``): the preference says which sample is better, the SFT
    term also pulls the policy towards drawing the chosen one. The DPO gradient is about β/4 times the
    gradient of the error difference, so a weight near β/4 gives the two terms a comparable pull.

    β and the prediction type: the error each step compares is the mean squared error of the UNet's output
    against its target, so its size depends on what the UNet predicts. The paper's β = 5000 is for
    ε-prediction in Stable Diffusion's latent space. A UNet that predicts the clean sample
    (``prediction_type = "sample"``) has errors of another size, and β must be set for it: watch the
    logged margin, which should stay well below 1 for the first steps (a margin of tens after a few steps
    means the pairs are being memorised).
    """

    beta: float = 5000.0
    objective: str = "dpo"
    sft_weight: float = 0.0
    learning_rate: float = 1e-5
    resolution: int | None = None
    sample_steps: int = 20
    guidance_scale: float = 5.0
    sample_dir: str | None = None
    sample_upscale: int = 1
    dataloader_workers: int = 0

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.objective not in OBJECTIVES:
            raise ConfigError(f"unknown objective {self.objective!r}.{did_you_mean(self.objective, OBJECTIVES)}",
                              who=type(self).__name__, fix=f"Use one of: {', '.join(OBJECTIVES)}")
        if not isinstance(self.sample_upscale, int) or isinstance(self.sample_upscale, bool) or self.sample_upscale < 1:
            raise ConfigError(f"sample_upscale must be a whole number >= 1, got {self.sample_upscale!r}",
                              who=type(self).__name__, fix="Set sample_upscale = 1 (no upscaling), 2, 3 ...")
        if not isinstance(self.sft_weight, (int, float)) or isinstance(self.sft_weight, bool) or self.sft_weight < 0:
            raise ConfigError(f"sft_weight must be a number >= 0, got {self.sft_weight!r}", who=type(self).__name__,
                              fix="Set sft_weight = 0 (pure Diffusion-DPO) or a positive weight")
        if self.sft_weight and self.objective != "dpo":
            raise ConfigError(f"sft_weight adds an SFT term to the DPO loss; objective {self.objective!r} has none",
                              who=type(self).__name__, fix="Use objective = 'dpo' with sft_weight, or drop sft_weight")
        if self.beta <= 0:
            raise ConfigError(f"beta must be positive, got {self.beta!r}", who=type(self).__name__,
                              fix="Set beta > 0 (5000 for ε-prediction latent models)")
