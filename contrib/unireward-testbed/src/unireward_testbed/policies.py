"""The testbed's policies: a text-to-image diffusion model and a question-answering VLM, both imperfect.

- :func:`build_t2i_policy`: the project's tiny pixel-space text-to-image model
  (:func:`unireward_sdk.tiny.diffusion.build_tiny_t2i`: a diffusers ``UNet2DConditionModel`` and a
  ``CLIPTextModel``) pretrained briefly with the DDPM loss on rendered world scenes, so it draws the right
  colour, shape and place only part of the time. The ``diffusion_dpo`` aligner trains and samples it.
- :func:`build_qa_policy`: the testbed VLM (:mod:`.vlm`) fine-tuned on world questions whose answers are
  wrong a fixed fraction of the time, so it answers correctly only part of the time.
- :func:`greedy_answers`: the policy's greedy answers, for evaluation (the ``vlm_dpo`` aligner samples
  candidates and trains it).

Building the policies uses the testbed's own loops, as the SDK has no trainer for either: the text-to-image
model is pretrained with the DDPM denoising loss (the SDK's diffusion aligners train with DPO on pairs), and
the QA policy is fine-tuned with :func:`.sft.finetune_vlm` (see there). Aligning them goes through the
SDK's aligners.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from attrs import evolve

from .world import (COLOURS, Motion, Scene, World, caption_corpus, motion_questions, render_motion, render_scene,
                    scene_questions)

IMAGE_PROMPT = "Describe the image."
VIDEO_PROMPT = "Describe the video."

# --- text-to-image and text-to-video ---------------------------------------------------------------


def scene_tensor(scene: Scene, size: int = 32):
    """A rendered scene as a [-1, 1] channels-first tensor (the diffusion model's pixel space)."""
    return _pixels(render_scene(scene, size))


def motion_tensor(motion: Motion, size: int = 16, frames: int = 8):
    """A rendered clip as a [-1, 1] (channels, frames, height, width) tensor (the video UNet's layout)."""
    import torch

    return torch.stack([_pixels(frame) for frame in render_motion(motion, size, frames)], dim=1)


def _pixels(image: Any):
    import numpy as np
    import torch

    array = np.asarray(image, dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


# Half the project's tiny UNet widths: a quarter of the weights and about half the time per image on a
# CPU, which is what lets the demo sample, train and re-sample within minutes.
T2I_BLOCK_CHANNELS = (16, 32)
# Video frames are 16 pixels square: the video UNet works on 8 frames at once, so at 32 pixels one clip
# would cost as much as 32 images; the oracle and the judges read the upscaled frames.
T2V_FRAME_SIZE = 16


def build_t2i_policy(path: str | Path, *, steps: int, world_seed: int = 1, batch_size: int = 32,
                     lr: float = 1e-3, caption_dropout: float = 0.1, wrong_colour_rate: float = 0.0, seed: int = 0,
                     block_channels: tuple[int, ...] = T2I_BLOCK_CHANNELS, prediction_type: str = "sample",
                     lr_decay: bool = False, log: Callable[[int, float], None] | None = None) -> Path:
    """Build the tiny text-to-image model at ``path`` and pretrain it for ``steps`` DDPM steps on scenes of
    ``World(world_seed)`` (UNet and text encoder both trained; a caption is dropped with probability
    ``caption_dropout`` so classifier-free guidance has an unconditional model).

    The model is the project's tiny pixel-space text-to-image layout (``build_tiny_t2i``) with its UNet
    rebuilt at ``block_channels`` widths (same blocks, same text conditioning), trained for
    ``prediction_type`` (``sample``, i.e. the clean image, by default: a tiny UNet that predicts the noise
    leaves visible noise in few-step samples, one that predicts the image gives clean backgrounds after a
    short pretraining). Its tokenizer learns the world's captions (:func:`.world.caption_corpus`), so each
    colour, shape and position is one token: with the generic tokenizer the position word was spread over
    up to six character tokens, often cut at the 16-token limit, and the policy could not condition on it.

    ``wrong_colour_rate``: the share of pretraining captions that name another colour than the one drawn
    (the way the QA policy learns from answers that are sometimes wrong), so the policy draws the wrong
    colour that often. Its mistakes are then in an attribute it conditions on and a judge can see, which
    is what preference pairs can teach. Position is not: a UNet this shallow has no sense of where it is
    in the middle of the canvas (no positional encoding, receptive field short of the borders), and places
    shapes at chance whatever the caption says, before and after supervised fine-tuning on true renders
    (the ``learnability`` probe).
    """
    from diffusers import UNet2DConditionModel

    from unireward_sdk.tiny import build_tiny_t2i

    path = Path(build_tiny_t2i(path, seed=seed, corpus=caption_corpus()))
    world = World(world_seed)
    return _pretrain(path, UNet2DConditionModel, block_channels, prediction_type,
                     lambda rng: world.scene(rng.randrange(10**9)), scene_tensor,
                     steps=steps, batch_size=batch_size, lr=lr, lr_decay=lr_decay, caption_dropout=caption_dropout,
                     wrong_colour_rate=wrong_colour_rate, seed=seed, log=log)


def build_t2v_policy(path: str | Path, *, steps: int, world_seed: int = 3, batch_size: int = 16,
                     lr: float = 1e-3, caption_dropout: float = 0.1, wrong_colour_rate: float = 0.0, seed: int = 0,
                     block_channels: tuple[int, ...] = T2I_BLOCK_CHANNELS, prediction_type: str = "sample",
                     lr_decay: bool = True, log: Callable[[int, float], None] | None = None) -> Path:
    """Build the tiny text-to-video model at ``path`` (``build_tiny_t2v``: a diffusers
    ``UNet3DConditionModel`` on 8 frames of ``T2V_FRAME_SIZE`` pixels) and pretrain it like the
    text-to-image policy, on clips of ``World(world_seed)``: a shape of a colour moving in a direction
    (``wrong_colour_rate`` as there; the direction of motion, like the image policy's position, stays at
    chance for this shallow UNet).

    ``lr_decay``: the learning rate falls linearly to zero over the run. At a constant rate the video UNet's
    colour never settled: the colour it drew for most captions swung from one checkpoint to the next
    (green for 159 of 192 held-out clips after 1,000 steps, yellow after 1,000 more), and the caption's
    colour was drawn a third of the time, so no pair could teach red. With the decay the same 1,000 steps
    end on a policy that draws the caption's colour 56% of the time and every colour for some captions
    (docs/testbed.md, "Models")."""
    from diffusers import UNet3DConditionModel

    from unireward_sdk.tiny import build_tiny_t2v

    path = Path(build_tiny_t2v(path, seed=seed, sample_size=T2V_FRAME_SIZE, corpus=caption_corpus()))
    world = World(world_seed)
    return _pretrain(path, UNet3DConditionModel, block_channels, prediction_type,
                     lambda rng: world.motion(rng.randrange(10**9)),
                     lambda motion: motion_tensor(motion, T2V_FRAME_SIZE),
                     steps=steps, batch_size=batch_size, lr=lr, lr_decay=lr_decay, caption_dropout=caption_dropout,
                     wrong_colour_rate=wrong_colour_rate, seed=seed, log=log)


def _pretrain(path: Path, unet_class: Any, block_channels: tuple[int, ...], prediction_type: str,
              draw: Callable[[random.Random], Any], render: Callable[[Any], Any], *, steps: int, batch_size: int,
              lr: float, lr_decay: bool, caption_dropout: float, wrong_colour_rate: float, seed: int,
              log: Callable[[int, float], None] | None) -> Path:
    """The DDPM pretraining loop both diffusion policies share: UNet rebuilt at ``block_channels``,
    scheduler set to ``prediction_type``, UNet and text encoder trained on ``render(draw(rng))`` under its
    caption (another colour's with probability ``wrong_colour_rate``), after a 50-step warm-up at ``lr``
    (falling linearly to zero by the last step with ``lr_decay``)."""
    import torch
    from diffusers import DDPMScheduler
    from transformers import AutoTokenizer, CLIPTextModel

    config = dict(unet_class.load_config(path, subfolder="unet"))
    if tuple(config["block_out_channels"]) != tuple(block_channels):
        torch.manual_seed(seed)
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        unet_class.from_config({**config, "block_out_channels": list(block_channels)}).save_pretrained(
            path / "unet", safe_serialization=True)
    unet = unet_class.from_pretrained(path, subfolder="unet")
    encoder = CLIPTextModel.from_pretrained(path, subfolder="text_encoder")
    tokenizer = AutoTokenizer.from_pretrained(path, subfolder="tokenizer")
    scheduler = DDPMScheduler.from_pretrained(path, subfolder="scheduler")
    if scheduler.config.prediction_type != prediction_type:
        scheduler = DDPMScheduler.from_config(scheduler.config, prediction_type=prediction_type)
        scheduler.save_pretrained(path / "scheduler")
    length = min(tokenizer.model_max_length, encoder.config.max_position_embeddings)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    params = list(unet.parameters()) + list(encoder.parameters())
    optim = torch.optim.AdamW(params, lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: lr_factor(s, steps, lr_decay))
    unet.train()
    encoder.train()
    for step in range(steps):
        truths = [draw(rng) for _ in range(batch_size)]
        x = torch.stack([render(t) for t in truths])
        captions = ["" if rng.random() < caption_dropout else _miscoloured(t, rng, wrong_colour_rate).caption()
                    for t in truths]
        ids = tokenizer(captions, padding="max_length", max_length=length, truncation=True,
                        return_tensors="pt").input_ids
        noise = torch.randn_like(x)
        t = torch.randint(0, scheduler.config.num_train_timesteps, (batch_size,))
        prediction = unet(scheduler.add_noise(x, noise, t), t, encoder_hidden_states=encoder(ids)[0]).sample
        target = {"epsilon": noise, "sample": x}.get(prediction_type)
        if target is None:
            target = scheduler.get_velocity(x, noise, t)
        loss = torch.nn.functional.mse_loss(prediction, target)
        optim.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        optim.step()
        schedule.step()
        if log is not None:
            log(step, loss.item())
    unet.eval().save_pretrained(path / "unet", safe_serialization=True)
    encoder.eval().save_pretrained(path / "text_encoder", safe_serialization=True)
    return path


def lr_factor(step: int, steps: int, decay: bool, warmup: int = 50) -> float:
    """The pretraining's learning-rate multiplier at ``step`` (0-based) of ``steps``: a linear warm-up over
    ``warmup`` steps, then constant, or with ``decay`` falling linearly to reach 1/``steps`` at the last step."""
    warm = min(1.0, (step + 1) / warmup)
    return warm * (1.0 - step / steps) if decay else warm


def _miscoloured(truth: Any, rng: random.Random, rate: float) -> Any:
    """``truth`` with another colour, with probability ``rate`` (what the caption says, not what is drawn)."""
    if rate <= 0 or rng.random() >= rate:
        return truth
    return evolve(truth, colour=rng.choice([c for c in COLOURS if c != truth.colour]))


# --- question answering --------------------------------------------------------------------------


def qa_parts(media: Any, question: str, video: bool) -> list[tuple[str, Any]]:
    return [("video" if video else "image", media), ("text", question)]


def noisy_qa_examples(world: World, *, wrong_rate: float, video_rate: float = 0.5
                      ) -> Callable[[random.Random, int], list]:
    """A batch drawer of (parts, answer sentence) examples whose answer is wrong with ``wrong_rate``."""
    from .preferences import answer_sentence

    def draw(rng: random.Random, n: int) -> list:
        out = []
        for _ in range(n):
            index = rng.randrange(10**9)
            if rng.random() < video_rate:
                motion: Motion = world.motion(index)
                media, question, video = render_motion(motion), rng.choice(motion_questions(motion)), True
            else:
                scene: Scene = world.scene(index)
                media, video = render_scene(scene), False
                question = rng.choice([q for q in scene_questions(scene) if q.attribute != "count"])
            value = question.answer
            if rng.random() < wrong_rate:
                value = rng.choice([o for o in question.options if o != question.answer])
            out.append((qa_parts(media, question.text, video), answer_sentence(question, value)))
        return out

    return draw


def caption_examples(world: World, *, video_rate: float = 0.5) -> Callable[[random.Random, int], list]:
    """A batch drawer of (parts, caption) examples."""

    def draw(rng: random.Random, n: int) -> list:
        out = []
        for _ in range(n):
            index = rng.randrange(10**9)
            if rng.random() < video_rate:
                motion = world.motion(index)
                out.append(([("video", render_motion(motion)), ("text", VIDEO_PROMPT)], motion.caption()))
            else:
                scene = world.scene(index)
                out.append(([("image", render_scene(scene)), ("text", IMAGE_PROMPT)], scene.caption()))
        return out

    return draw


def pretraining_examples(world: World, *, video_rate: float = 0.5) -> Callable[[random.Random, int], list]:
    """The base VLM's pretraining mixture, like a general VLM's: captioning (25%), short-answer questions
    (45%: where an object is, and its shape, are what a model this small learns last, so they get the most
    practice), and caption verification (30%: does this caption match? yes / no, half of the captions altered
    in one attribute)."""
    from .world import perturb_motion, perturb_scene

    def draw(rng: random.Random, n: int) -> list:
        out = []
        for _ in range(n):
            index = rng.randrange(10**9)
            video = rng.random() < video_rate
            truth = world.motion(index) if video else world.scene(index)
            media = ("video", render_motion(truth)) if video else ("image", render_scene(truth))
            kind = "video" if video else "image"
            task = rng.random()
            if task < 0.25:
                out.append(([media, ("text", VIDEO_PROMPT if video else IMAGE_PROMPT)], truth.caption()))
            elif task < 0.7:
                questions = motion_questions(truth) if video else \
                    [q for q in scene_questions(truth) if q.attribute != "count"]
                q = rng.choice(questions)
                out.append(([media, ("text", q.text)], q.answer))
            else:
                match = rng.random() < 0.5
                shown = truth if match else (perturb_motion(truth, rng) if video else perturb_scene(truth, rng))
                text = f"Does this caption match the {kind}? {shown.caption()}"
                out.append(([media, ("text", text)], "yes" if match else "no"))
        return out

    return draw


def load_context(path: str | Path) -> tuple[str, Any]:
    """("image", PIL image) or ("video", frames) for a context media file of the testbed."""
    from PIL import Image

    from .media import load_video

    if Path(path).suffix.lower() == ".mp4":
        return "video", load_video(path)
    with Image.open(path) as img:
        return "image", img.convert("RGB")


def greedy_answers(model: Any, processor: Any, questions: Sequence[str], contexts: Sequence[str], *,
                   batch_size: int = 32, max_new_tokens: int = 12) -> list[str]:
    """The policy's greedy answer to each question about its context media (for evaluation)."""
    prompts = [[load_context(c), ("text", q)] for q, c in zip(questions, contexts)]
    return greedy_replies(model, processor, prompts, batch_size=batch_size, max_new_tokens=max_new_tokens)


def greedy_replies(model: Any, processor: Any, prompts: Sequence[Sequence[tuple[str, Any]]], *,
                   batch_size: int = 32, max_new_tokens: int = 12) -> list[str]:
    """The model's greedy reply to each user turn, given as ``(kind, value)`` parts (see ``user_messages``)."""
    import torch

    from .vlm import user_messages

    out: list[str] = []
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(prompts), batch_size):
            parts = prompts[start:start + batch_size]
            texts = [processor.apply_chat_template(user_messages(p), tokenize=False, add_generation_prompt=True)
                     for p in parts]
            kwargs: dict[str, Any] = {"text": texts, "padding": True, "return_tensors": "pt"}
            images = [v for p in parts for k, v in p if k == "image"]
            videos = [v for p in parts for k, v in p if k == "video"]
            if images:
                kwargs["images"] = images
            if videos:
                kwargs["videos"] = videos
                kwargs["do_sample_frames"] = False
            side = processor.tokenizer.padding_side
            processor.tokenizer.padding_side = "left"  # generation continues every row from its end
            try:
                batch = processor(**kwargs).to(model.device)
            finally:
                processor.tokenizer.padding_side = side
            with torch.no_grad():
                ids = model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                     pad_token_id=processor.tokenizer.pad_token_id)
            out += [t.strip() for t in processor.batch_decode(ids[:, batch["input_ids"].shape[1]:],
                                                              skip_special_tokens=True)]
    finally:
        model.train(was_training)
    return out


def build_qa_policy(base: str | Path, path: str | Path, *, steps: int, wrong_rate: float = 0.35,
                    world_seed: int = 2, seed: int = 0, lr: float = 1e-3,
                    log: Callable[[int, float], None] | None = None) -> Path:
    """Fine-tune the base VLM at ``base`` into a QA policy at ``path`` on noisy answers."""
    from .sft import finetune_vlm

    return finetune_vlm(base, noisy_qa_examples(World(world_seed), wrong_rate=wrong_rate), steps=steps, lr=lr,
                        seed=seed, out=path, log=log)

