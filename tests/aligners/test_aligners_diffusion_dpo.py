"""diffusion_dpo and video_diffusion_dpo on tiny models: the aligner contract, ties, shared noise,
LoRA and full fine-tuning checkpoints that diffusers reads, SDXL-style models, refusals."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from diffusion_toys import BLUE, RED, pickapic_rows, write_videodpo_jsonl  # noqa: E402

from unireward_builtins.aligners import diffusion_dpo, video_diffusion_dpo  # noqa: E402
from unireward_sdk import ConfigError, MediaError  # noqa: E402
from unireward_sdk.alignment import read_pairs  # noqa: E402
from unireward_sdk.testing.aligner import AlignerContract  # noqa: E402
from unireward_sdk.testing.tiny_diffusion import build_tiny_t2i, build_tiny_t2v  # noqa: E402

FAST = dict(learning_rate=1e-3, sample_steps=3, guidance_scale=3.0)


class TestDiffusionDPOContract(AlignerContract):
    name = "diffusion_dpo"
    modality = "image"
    plugin = "unireward_builtins.aligners.diffusion_dpo"

    def make_aligner(self, workdir):
        model = build_tiny_t2i(workdir / "model", sample_size=16)
        return diffusion_dpo.create(model=str(model), output_dir=str(workdir / "out"), max_steps=6, batch_size=3,
                                    **FAST)

    def make_pairs(self, workdir):
        return pickapic_rows(decided=6, ties=1)


class TestVideoDiffusionDPOContract(AlignerContract):
    name = "video_diffusion_dpo"
    modality = "video"
    plugin = "unireward_builtins.aligners.video_diffusion_dpo"
    prompts = ("a moving square",)

    def make_aligner(self, workdir):
        model = build_tiny_t2v(workdir / "model", sample_size=16)
        return video_diffusion_dpo.create(model=str(model), output_dir=str(workdir / "out"), max_steps=3,
                                          batch_size=2, num_frames=4, fps=4, **FAST)

    def make_pairs(self, workdir):
        return write_videodpo_jsonl(workdir / "pairs", pairs=2, frames=4)


# --- pairs in ------------------------------------------------------------------------------------


def test_ties_are_dropped_and_counted(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), max_steps=1, batch_size=2)
    summary = aligner.train(pickapic_rows(decided=3, ties=2))
    assert summary.pairs == 3 and dict(summary.dropped) == {"tie": 2}


def test_only_ties_is_an_error_not_a_silent_run(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), max_steps=1)
    with pytest.raises(ConfigError, match="2 tie"):
        aligner.train(pickapic_rows(decided=0, ties=2))


def test_label_0_decides_which_image_wins(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path))
    dataset, _ = aligner._dataset(read_pairs(pickapic_rows(decided=4, ties=0)))
    red = torch.tensor(RED) / 127.5 - 1
    blue = torch.tensor(BLUE) / 127.5 - 1
    for i in range(len(dataset)):
        _, winner, loser = dataset[i]  # red is preferred whichever side it is on
        assert torch.allclose(winner[:, 8, 8], red, atol=1e-5) and torch.allclose(loser[:, 8, 8], blue, atol=1e-5)


def test_video_aligner_refuses_image_rows(tiny_t2v, tmp_path):
    aligner = video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), num_frames=4)
    with pytest.raises(ConfigError, match="videodpo"):
        aligner.train(pickapic_rows(decided=2, ties=0))


def test_short_clips_are_an_error_never_padded(tiny_t2v, tmp_path):
    pairs = write_videodpo_jsonl(tmp_path / "pairs", pairs=1, frames=4)
    aligner = video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), num_frames=6,
                                         max_steps=1)
    with pytest.raises(MediaError, match="fewer than num_frames=6"):
        aligner.train(pairs)


# --- the step --------------------------------------------------------------------------------------


class _Spy(torch.nn.Module):
    """Records what the UNet is called with and delegates."""

    def __init__(self, unet):
        super().__init__()
        self.unet, self.calls = unet, []

    def forward(self, sample, timestep, **kwargs):
        self.calls.append((sample.detach().clone(), timestep.detach().clone()))
        return self.unet(sample, timestep, **kwargs)


def test_winner_and_loser_share_noise_and_timestep(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), batch_size=3)
    dataset, _ = aligner._dataset(read_pairs(pickapic_rows(decided=3, ties=0)))
    captions, winners, losers = next(iter(aligner._loader(dataset, shuffle=False, seed=0)))
    spy = _Spy(aligner.unet)
    aligner._dpo_outputs(spy, (captions, winners, losers))
    noisy, t = spy.calls[0]
    half = winners.shape[0]
    assert noisy.shape[0] == 2 * half  # one forward pass over winners and losers together
    assert torch.equal(t[:half], t[half:])
    # x_t = sqrt(a) x0 + sqrt(1-a) eps: with the same eps, x_t(w) - x_t(l) = sqrt(a) (x0(w) - x0(l))
    alpha = aligner.components.noise_scheduler.alphas_cumprod[t[:half]].sqrt().view(-1, 1, 1, 1)
    assert torch.allclose(noisy[:half] - noisy[half:], alpha * (winners - losers), atol=1e-5)


def test_video_pairs_share_one_noise_sample(tiny_t2v, tmp_path):
    pairs = write_videodpo_jsonl(tmp_path / "pairs", pairs=2, frames=4)
    aligner = video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), num_frames=4, batch_size=2)
    captions, winners, losers = next(iter(aligner._loader(aligner._dataset(read_pairs(pairs))[0], shuffle=False,
                                                          seed=0)))
    assert winners.shape == (2, 3, 4, 16, 16)  # (batch, channels, frames, height, width)
    spy = _Spy(aligner.unet)
    aligner._dpo_outputs(spy, (captions, winners, losers))
    noisy, t = spy.calls[0]
    assert torch.equal(t[:2], t[2:])
    alpha = aligner.components.noise_scheduler.alphas_cumprod[t[:2]].sqrt().view(-1, 1, 1, 1, 1)
    assert torch.allclose(noisy[:2] - noisy[2:], alpha * (winners - losers), atol=1e-5)


def test_full_fine_tuning_keeps_a_frozen_reference(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), lora=False, max_steps=2,
                                   batch_size=2, learning_rate=1e-3)
    ref_before = {k: v.clone() for k, v in aligner._ref_unet.state_dict().items()}
    policy_before = {k: v.clone() for k, v in aligner.unet.state_dict().items()}
    aligner.train(pickapic_rows(decided=2, ties=0))
    assert all(torch.equal(v, aligner._ref_unet.state_dict()[k]) for k, v in ref_before.items())
    assert any(not torch.equal(v, aligner.unet.state_dict()[k]) for k, v in policy_before.items())


@pytest.mark.parametrize("lora", [False, True])
def test_evaluation_runs_the_reference_once_per_batch_and_measures_the_same(tiny_t2i, tmp_path, lora):
    """Seeded evaluation draws the same noise at every check, so the frozen reference's errors are kept: a
    second check runs only the policy, and after training it measures exactly what a fresh check does."""
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), lora=lora, max_steps=2,
                                   batch_size=2, learning_rate=1e-2)
    pairs = pickapic_rows(decided=4, ties=0)
    reference = aligner._ref_unet if not lora else None
    calls = []
    if reference is not None:
        reference.register_forward_hook(lambda *_: calls.append(1))
    first = aligner.evaluate(pairs, seed=3, repeats=2)
    assert first.loss == pytest.approx(math.log(2)) and first.margin == 0.0  # the policy is its reference
    assert len(aligner._reference_cache) == 4  # 2 batches x 2 repeats
    if reference is not None:
        assert len(calls) == 4
    aligner.train(pairs)  # each training step runs the reference on fresh noise
    trained_calls = len(calls)
    cached = aligner.evaluate(pairs, seed=3, repeats=2)
    if reference is not None:
        assert trained_calls == 6 and len(calls) == trained_calls  # the second check did not run it
    assert cached.margin != 0.0  # training moved the policy
    aligner._reference_cache.clear()
    fresh = aligner.evaluate(pairs, seed=3, repeats=2)
    assert (cached.loss, cached.margin, cached.accuracy) == (fresh.loss, fresh.margin, fresh.accuracy)
    other_seed = aligner.evaluate(pairs, seed=4, repeats=2)  # other draws are other keys, not a stale hit
    assert len(aligner._reference_cache) == 8 and other_seed.loss != fresh.loss


def test_gradient_checkpointing_option(tiny_t2i, tiny_t2v, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), gradient_checkpointing=True,
                                   max_steps=1, batch_size=2)
    assert aligner.unet.is_gradient_checkpointing
    assert aligner.train(pickapic_rows(decided=2, ties=0)).steps == 1
    with pytest.raises(ConfigError, match="does not support gradient checkpointing"):
        video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), gradient_checkpointing=True)


def test_gradient_accumulation_counts_optimizer_steps(tiny_t2i, tmp_path):
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), batch_size=1,
                                   gradient_accumulation_steps=2, num_train_epochs=1)
    assert aligner.train(pickapic_rows(decided=4, ties=0)).steps == 2


def test_image_and_video_models_are_not_mixed_up(tiny_t2i, tiny_t2v, tmp_path):
    with pytest.raises(ConfigError, match="UNet3DConditionModel"):
        diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="UNet2DConditionModel"):
        video_diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path))


def test_missing_model_parts_are_named(tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(Exception, match="lacks text_encoder, tokenizer, scheduler"):
        diffusion_dpo.create(model=str(tmp_path), output_dir=str(tmp_path / "o"))


# --- latent models and what diffusers can read ---------------------------------------------------------


@pytest.fixture(scope="module")
def tiny_sd(tmp_path_factory):
    return build_tiny_t2i(tmp_path_factory.mktemp("tiny-sd"), latent=True, sample_size=16)


def test_lora_policy_loads_into_a_stable_diffusion_pipeline(tiny_sd, tmp_path):
    from diffusers import StableDiffusionPipeline

    aligner = diffusion_dpo.create(model=str(tiny_sd), output_dir=str(tmp_path), max_steps=2, batch_size=2,
                                   learning_rate=1e-2)
    aligner.train(pickapic_rows(decided=2, ties=0))
    aligner.save_pretrained(tmp_path / "lora")
    assert (tmp_path / "lora" / "pytorch_lora_weights.safetensors").is_file()
    pipe = StableDiffusionPipeline.from_pretrained(str(tiny_sd))
    pipe.load_lora_weights(str(tmp_path / "lora"))
    ours = {k: v for k, v in aligner.unet.state_dict().items() if "lora_B" in k}
    theirs = {k: v for k, v in pipe.unet.state_dict().items() if "lora_B" in k}
    assert len(ours) == len(theirs) > 0
    assert any(v.abs().sum() > 0 for v in theirs.values())  # trained, not the zero init
    images = pipe("a square", num_inference_steps=2, height=16, width=16, output_type="np").images
    assert images.shape == (1, 16, 16, 3)


def test_full_policy_is_a_complete_pipeline_folder(tiny_sd, tmp_path):
    from diffusers import StableDiffusionPipeline

    aligner = diffusion_dpo.create(model=str(tiny_sd), output_dir=str(tmp_path), lora=False, max_steps=1,
                                   batch_size=2)
    aligner.train(pickapic_rows(decided=2, ties=0))
    aligner.save_pretrained(tmp_path / "full")
    pipe = StableDiffusionPipeline.from_pretrained(str(tmp_path / "full"))
    for key, value in aligner.unet.state_dict().items():
        assert torch.equal(value, pipe.unet.state_dict()[key])
    reloaded = type(aligner).from_pretrained(tmp_path / "full")
    assert reloaded.config.lora is False and reloaded.trained_steps == 1


def test_a_lora_policy_cannot_continue_as_full_fine_tuning(tiny_t2i, tmp_path):
    diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path)).save_pretrained(tmp_path / "lora")
    with pytest.raises(ConfigError, match="LoRA adapter"):
        diffusion_dpo.create(model=str(tmp_path / "lora"), lora=False)


def test_sdxl_style_model_trains_and_samples(tmp_path):
    model = build_tiny_t2i(tmp_path / "sdxl", sdxl=True, sample_size=16)
    aligner = diffusion_dpo.create(model=str(model), output_dir=str(tmp_path / "out"), max_steps=1, batch_size=2,
                                   sample_steps=2)
    assert aligner.components.sdxl_style and len(aligner.components.text_encoders) == 2
    assert aligner.train(pickapic_rows(decided=2, ties=0)).steps == 1
    [[candidate]] = aligner.sample(["a square"], 1)
    from PIL import Image

    assert Image.open(candidate.path).size == (16, 16)


def test_latent_video_pipeline_trains_and_writes_mp4(tmp_path):
    import av

    model = build_tiny_t2v(tmp_path / "t2v", latent=True, sample_size=16)
    aligner = video_diffusion_dpo.create(model=str(model), output_dir=str(tmp_path / "out"), max_steps=1,
                                         num_frames=4, fps=4, sample_steps=2)
    assert aligner.components.latent
    aligner.train(write_videodpo_jsonl(tmp_path / "pairs", pairs=1, frames=4))
    [[candidate]] = aligner.sample(["a moving square"], 1)
    with av.open(candidate.path) as container:
        frames = list(container.decode(video=0))
    assert len(frames) == 4 and frames[0].width == 16


def test_registry_builds_the_aligners(tiny_t2i, tmp_path):
    from unireward_sdk import get_registry

    registry = get_registry()
    assert registry.aligner_spec("diffusion_dpo").modalities == ("image",)
    assert registry.aligner_spec("video_diffusion_dpo").tasks == ("video_generation",)
    aligner = registry.aligner("diffusion_dpo", config={"model": str(tiny_t2i), "output_dir": str(tmp_path),
                                                        "beta": 2500})
    assert aligner.config.beta == 2500 and aligner.config.learning_rate == 1e-5
    with pytest.raises(ConfigError, match="Did you mean 'beta'"):
        registry.aligner("diffusion_dpo", config={"model": str(tiny_t2i), "betta": 1})


def test_bf16_mixed_precision_lora_in_its_own_process(tiny_t2i, tmp_path):
    # accelerate fixes mixed precision per process, so this runs in a fresh interpreter
    import json
    import subprocess
    import sys

    from diffusion_toys import __file__ as toys_file

    script = f"""
import json, sys
sys.path.insert(0, {str(Path(toys_file).parent)!r})
from diffusion_toys import pickapic_rows
from unireward_builtins.aligners.diffusion_dpo import create
a = create(model={str(tiny_t2i)!r}, output_dir={str(tmp_path)!r}, max_steps=2, batch_size=2, learning_rate=1e-3,
           mixed_precision="bf16", sample_steps=2)
summary = a.train(pickapic_rows(2, 0))
lora_dtypes = {{str(p.dtype) for n, p in a.unet.named_parameters() if "lora_" in n}}
[[c]] = a.sample(["a square"], 1)
print(json.dumps({{"base": str(a.unet.conv_in.weight.dtype), "lora": sorted(lora_dtypes),
                  "loss": summary.final_loss, "sample": c.path}}))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["base"] == "torch.bfloat16" and result["lora"] == ["torch.float32"]
    assert math.isfinite(result["loss"]) and Path(result["sample"]).is_file()


def test_the_sft_objective_trains_on_the_chosen_side_only(tiny_t2i, tmp_path):
    """objective = "sft" (the supervised baseline): the loss is the chosen sample's denoising error, so the
    rejected sample cannot move the policy; the DPO objective does read it."""
    pairs = pickapic_rows(decided=2, ties=0)
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), batch_size=2, objective="sft")
    dataset, _ = aligner._dataset(read_pairs(pairs))
    captions, winners, losers = next(iter(aligner._loader(dataset, shuffle=False, seed=0)))
    aligner.unet.requires_grad_(True)

    def grads(objective, rejected):
        aligner.unet.zero_grad()
        out = aligner._dpo_outputs(aligner.unet, (captions, winners, rejected),
                                   generator=torch.Generator().manual_seed(0), objective=objective)
        out.loss.backward()
        return torch.cat([p.grad.flatten() for p in aligner.unet.parameters() if p.grad is not None])

    other = -losers  # the toy images are flat colours: a flip would not change them
    assert torch.allclose(grads("sft", losers), grads("sft", other))
    assert not torch.allclose(grads("dpo", losers), grads("dpo", other))


def test_sft_weight_adds_the_chosen_error_to_the_dpo_loss(tiny_t2i, tmp_path):
    """sft_weight = w: the loss is the DPO loss plus w times the chosen sample's denoising error, on the same
    noise draws; margin and accuracy are the DPO ones."""
    pairs = pickapic_rows(decided=2, ties=0)
    aligner = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), batch_size=2, beta=500.0)
    dataset, _ = aligner._dataset(read_pairs(pairs))
    batch = next(iter(aligner._loader(dataset, shuffle=False, seed=0)))

    def outputs(**kwargs):
        with torch.no_grad():
            return aligner._dpo_outputs(aligner.unet, batch, generator=torch.Generator().manual_seed(0), **kwargs)

    dpo, sft = outputs(), outputs(objective="sft")
    mixed = outputs(sft_weight=125.0)
    assert torch.allclose(mixed.loss, dpo.loss + 125.0 * sft.loss)
    assert torch.equal(mixed.implicit_reward_margin, dpo.implicit_reward_margin)
    assert not torch.allclose(mixed.loss, dpo.loss)


def test_sft_weight_is_checked(tiny_t2i, tmp_path):
    with pytest.raises(ConfigError, match="sft_weight must be a number >= 0"):
        diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), sft_weight=-1)
    with pytest.raises(ConfigError, match="objective 'sft' has none"):
        diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), objective="sft", sft_weight=1.0)


def test_unknown_objective_and_bad_beta_are_refused(tiny_t2i, tmp_path):
    with pytest.raises(ConfigError, match="unknown objective 'stf'. Did you mean 'sft'"):
        diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), objective="stf")
    with pytest.raises(ConfigError, match="beta must be positive"):
        diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), beta=0)


def test_a_caption_corpus_makes_each_caption_word_one_token(tmp_path):
    """Without the corpus a long caption is character pieces cut at 16 tokens (its last word lost); with it,
    each word of the captions is one token."""
    from transformers import AutoTokenizer

    caption = "a yellow triangle moving down"
    plain = AutoTokenizer.from_pretrained(build_tiny_t2i(tmp_path / "plain"), subfolder="tokenizer")
    taught = AutoTokenizer.from_pretrained(build_tiny_t2i(tmp_path / "taught", corpus=[caption] * 10),
                                           subfolder="tokenizer")
    assert len(plain(caption).input_ids) > 16
    assert taught.convert_ids_to_tokens(taught(caption).input_ids) == ["a", "Ġyellow", "Ġtriangle", "Ġmoving",
                                                                       "Ġdown"]


# --- sample_upscale: samples written larger, read back exactly ------------------------------------


def test_sample_upscale_writes_blocks_that_training_reads_back_exactly(tiny_t2i, tmp_path):
    from PIL import Image

    from unireward_builtins.aligners.diffusion_common.pixels import image_to_tensor

    plain = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path / "a"), **FAST)
    big = diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path / "b"), sample_upscale=2, **FAST)
    small_path = plain.sample(["a red circle"], 1, seed=3)[0][0].path
    big_path = big.sample(["a red circle"], 1, seed=3)[0][0].path
    small, large = Image.open(small_path).convert("RGB"), Image.open(big_path).convert("RGB")
    assert small.size == (16, 16) and large.size == (32, 32)
    # every pixel of the policy's 16-px output is a 2x2 block of the written file
    assert list(large.resize((16, 16), Image.Resampling.NEAREST).getdata()) == list(small.getdata())
    # training reads the 32-px file back as exactly the 16-px pixels (a bicubic filter would blur them)
    assert torch.equal(image_to_tensor(large, (16, 16)), image_to_tensor(small, (16, 16)))


def test_sample_upscale_writes_larger_clips(tiny_t2v, tmp_path):
    aligner = video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), num_frames=4, fps=4,
                                         sample_upscale=2, **FAST)
    import av

    with av.open(aligner.sample(["a moving square"], 1, seed=0)[0][0].path) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (32, 32)


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_sample_upscale_must_be_a_whole_number(tiny_t2i, tmp_path, value):
    with pytest.raises(ConfigError, match="sample_upscale must be a whole number"):
        diffusion_dpo.create(model=str(tiny_t2i), output_dir=str(tmp_path), sample_upscale=value)


def test_sampled_clips_decode_to_the_policys_pixels(tmp_path):
    """Lossless by default: a clip decodes to what the policy drew (after 4:2:0 chroma), not to an encoder's
    approximation that changed from call to call."""
    import av
    import numpy as np

    from unireward_builtins.aligners.video_diffusion_dpo.trainer import write_mp4

    rng = np.random.default_rng(0)
    y, x = np.mgrid[:32, :32]
    frames = []
    for t in range(8):  # a disc moving over a noisy background, like a small policy's output
        frame = np.clip(200 + rng.normal(0, 12, (32, 32, 3)), 0, 255)
        frame[(x - 6 - 2 * t) ** 2 + (y - 16) ** 2 < 36] = (220, 40, 30)
        frames.append(frame.astype(np.uint8))
    frames = np.stack(frames)
    expected = np.stack([av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format="yuv420p")
                         .to_ndarray(format="rgb24") for f in frames])
    for i in range(3):
        with av.open(str(write_mp4(frames, tmp_path / f"clip{i}.mp4", 8))) as container:
            decoded = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        assert np.array_equal(decoded, expected)


@pytest.mark.parametrize("value", [-1, 52, 1.5, True])
def test_crf_must_be_an_x264_quality(tiny_t2v, tmp_path, value):
    with pytest.raises(ConfigError, match="crf must be a whole number from 0 to 51"):
        video_diffusion_dpo.create(model=str(tiny_t2v), output_dir=str(tmp_path), crf=value)
