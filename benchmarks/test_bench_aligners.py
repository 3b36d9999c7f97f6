"""Aligner hot paths, each side by side with a plain reference implementation, as ratios measured in
one run (ours / reference; below 1.0 means ours is faster). Never a timed assertion.

Diffusion-DPO: one training step of our aligner (winners and losers in one batch, one reference pass,
cached text conditioning, accelerate) vs the plain procedure of the diffusers example written out in
benchmarks/reference_diffusion_dpo.py (separate passes for winners and losers, the reference under
no_grad, captions encoded every step), on copies of the same tiny UNet with the same batch.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from reference_diffusion_dpo import interleaved_medians, paired_steps  # noqa: E402

# --- Diffusion-DPO ---------------------------------------------------------------------------------------

DIFFUSION_TARGET = 1.0


def _tiny_unet_and_batch(pairs: int = 4, size: int = 32):
    from diffusers import DDPMScheduler, UNet2DConditionModel

    from unireward_sdk.testing.tiny_diffusion import build_tiny_text_parts

    torch.manual_seed(0)
    tokenizer, text_encoder = build_tiny_text_parts()
    unet = UNet2DConditionModel(  # the ENVIRONMENT.md tiny UNet, pixel space
        sample_size=size, in_channels=3, out_channels=3, layers_per_block=1, block_out_channels=(32, 64),
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=8,
    )
    scheduler = DDPMScheduler(beta_schedule="squaredcos_cap_v2", clip_sample=False)
    captions = [f"a red square number {i}" for i in range(pairs)]
    winners = torch.rand(pairs, 3, size, size) * 2 - 1
    losers = torch.rand(pairs, 3, size, size) * 2 - 1
    return unet, text_encoder, tokenizer, scheduler, captions, winners, losers


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_bench_diffusion_dpo_step(benchmark, lora):
    ours, plain, _ = paired_steps(*_tiny_unet_and_batch(), lora=lora, learning_rate=1e-4)
    medians = interleaved_medians({"ours": ours, "plain": plain}, rounds=8)
    ratio = medians["ours"] / medians["plain"]
    benchmark.extra_info.update({
        "ours_s": medians["ours"], "plain_s": medians["plain"], "ratio": ratio, "target": DIFFUSION_TARGET,
        "mode": "lora" if lora else "full", "pairs_per_step": 4, "image": "3x32x32 pixel space",
    })
    print(f"\nDiffusion-DPO step ({'LoRA' if lora else 'full'}, tiny UNet, 4 pairs): ours {medians['ours'] * 1e3:.1f} ms"
          f" / plain {medians['plain'] * 1e3:.1f} ms = {ratio:.2f}x (target <= {DIFFUSION_TARGET})")
    benchmark.pedantic(ours, rounds=3, warmup_rounds=1)


# --- held-out checks -------------------------------------------------------------------------------------


def _pickapic_rows(pairs: int, size: int = 32) -> list[dict]:
    import io

    from PIL import Image

    def png(color):
        buffer = io.BytesIO()
        Image.new("RGB", (size, size), color).save(buffer, format="PNG")
        return buffer.getvalue()

    return [{"caption": f"a red square number {i}", "jpg_0": png((220, 30, 30)), "jpg_1": png((30, 30, 220)),
             "label_0": 1.0} for i in range(pairs)]


@pytest.mark.parametrize("lora", [False, True], ids=["full", "lora"])
def test_bench_diffusion_dpo_held_out_check(benchmark, tmp_path, lora):
    """A held-out check (``evaluate``, seeded) after the first: the frozen reference's errors on the same
    draws are kept, so only the policy runs, against a check that recomputes them (cache cleared)."""
    from unireward_builtins.aligners import diffusion_dpo
    from unireward_sdk.testing.tiny_diffusion import build_tiny_t2i

    model = build_tiny_t2i(tmp_path / "model", sample_size=32)
    aligner = diffusion_dpo.create(model=str(model), output_dir=str(tmp_path / "out"), lora=lora, batch_size=4)
    rows = _pickapic_rows(8)

    def kept():
        aligner.evaluate(rows, seed=0, repeats=2)

    def recomputed():
        aligner._reference_cache.clear()
        aligner.evaluate(rows, seed=0, repeats=2)

    medians = interleaved_medians({"kept": kept, "recomputed": recomputed}, rounds=8)
    ratio = medians["kept"] / medians["recomputed"]
    benchmark.extra_info.update({"kept_s": medians["kept"], "recomputed_s": medians["recomputed"], "ratio": ratio,
                                 "mode": "lora" if lora else "full", "pairs": 8, "repeats": 2})
    print(f"\nDiffusion-DPO held-out check ({'LoRA' if lora else 'full'}, tiny UNet, 8 pairs x 2 draws): reference "
          f"kept {medians['kept'] * 1e3:.1f} ms / recomputed {medians['recomputed'] * 1e3:.1f} ms = {ratio:.2f}x")
    benchmark.pedantic(kept, rounds=3, warmup_rounds=1)
