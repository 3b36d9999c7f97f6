"""Diffusion-DPO training-step time on an SD-1.5-sized UNet: our aligner vs the plain reference step.

    python benchmarks/gpu/diffusion_dpo_sd_unet.py            # CUDA: SD-1.5 UNet (860M), bf16, 64x64 latents
    python benchmarks/gpu/diffusion_dpo_sd_unet.py --tiny     # any device: the tiny UNet, to test this code path

The UNet is randomly initialised from a hand-written SD-1.5 config (no hub). It works on 4x64x64
latents given directly (the VAE is frozen in both implementations and left out of the timing), with a
768-wide CLIP text encoder. Both sides train the same copy of the UNet on the same batch with bf16
autocast; full fine-tuning and LoRA (rank 8 on attention projections) are timed, interleaved round by
round. Prints ``ours / plain`` ratios (below 1.0: ours is faster) and peak GPU memory. Without CUDA
(and without --tiny) it says so and exits 0. Finishes in under 3 minutes on an H100.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for entry in (ROOT, ROOT / "plugins", ROOT / "benchmarks"):
    if str(entry) not in sys.path:
        sys.path.insert(0, str(entry))

SD15_UNET = dict(
    sample_size=64, in_channels=4, out_channels=4, layers_per_block=2,
    block_out_channels=(320, 640, 1280, 1280),
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
)
TINY_UNET = dict(
    sample_size=16, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 64),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
    cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", action="store_true", help="tiny UNet on whatever device there is")
    parser.add_argument("--pairs", type=int, default=4, help="preference pairs per step")
    parser.add_argument("--rounds", type=int, default=10, help="timed steps per implementation and mode")
    parser.add_argument("--modes", default="full,lora", help="comma-separated: full, lora")
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)

    import torch

    if not args.tiny and not torch.cuda.is_available():
        print("diffusion_dpo_sd_unet: CUDA is not available; nothing to time (use --tiny to test the code path).")
        return 0

    from diffusers import DDPMScheduler, UNet2DConditionModel
    from reference_diffusion_dpo import interleaved_medians, paired_steps

    from unireward_sdk.testing.tiny_diffusion import build_tiny_text_parts

    cuda = torch.cuda.is_available()
    mixed = "bf16" if cuda else "no"
    torch.manual_seed(0)
    config = TINY_UNET if args.tiny else SD15_UNET
    unet = UNet2DConditionModel(**config)
    if args.tiny:
        tokenizer, text_encoder = build_tiny_text_parts()
    else:  # SD-1.5's text side is a 768-wide CLIP with 77 positions; 2 layers are enough to condition
        tokenizer, text_encoder = build_tiny_text_parts(hidden=768, layers=2, max_length=77)
    scheduler = DDPMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", clip_sample=False)
    size = config["sample_size"]
    captions = [f"a photo of object number {i}" for i in range(args.pairs)]
    winners = torch.randn(args.pairs, 4, size, size)
    losers = torch.randn(args.pairs, 4, size, size)
    params = sum(p.numel() for p in unet.parameters())
    device = "cuda" if cuda else "cpu"
    print(f"UNet {'tiny' if args.tiny else 'SD-1.5'}: {params / 1e6:.1f}M parameters, {args.pairs} pairs of "
          f"4x{size}x{size} latents per step, device {torch.cuda.get_device_name() if cuda else 'cpu'}, "
          f"mixed precision {mixed}")
    sync = torch.cuda.synchronize if cuda else None
    results = []
    for mode in [m.strip() for m in args.modes.split(",") if m.strip()]:
        ours, plain, aligner = paired_steps(unet, text_encoder, tokenizer, scheduler, captions, winners, losers,
                                            lora=mode == "lora", mixed_precision=mixed, learning_rate=1e-6)
        if cuda:
            torch.cuda.reset_peak_memory_stats()
        medians = interleaved_medians({"ours": ours, "plain": plain}, rounds=args.rounds, warmup=2,
                                      synchronize=sync)
        ratio = medians["ours"] / medians["plain"]
        peak = torch.cuda.max_memory_allocated() / 2**30 if cuda else None
        results.append({"mode": mode, "ours_ms": medians["ours"] * 1e3, "plain_ms": medians["plain"] * 1e3,
                        "ratio": ratio, "peak_gib_both": peak, "device": device})
        print(f"{mode:>4}: ours {medians['ours'] * 1e3:8.1f} ms/step   plain {medians['plain'] * 1e3:8.1f} ms/step   "
              f"ratio {ratio:.3f}" + (f"   peak memory (both resident) {peak:.1f} GiB" if peak else ""))
        del ours, plain, aligner
        if cuda:
            torch.cuda.empty_cache()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
