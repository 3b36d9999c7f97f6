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

from .world import Motion, Scene, World, motion_questions, render_motion, render_scene, scene_questions

IMAGE_PROMPT = "Describe the image."
VIDEO_PROMPT = "Describe the video."

# --- text-to-image -------------------------------------------------------------------------------


def scene_tensor(scene: Scene, size: int = 32):
    """A rendered scene as a [-1, 1] channels-first tensor (the diffusion model's pixel space)."""
    import numpy as np
    import torch

    array = np.asarray(render_scene(scene, size), dtype=np.float32)
    return torch.from_numpy(array).permute(2, 0, 1) / 127.5 - 1.0


# Half the project's tiny UNet widths: a quarter of the weights and about half the time per image on a
# CPU, which is what lets the demo sample, train and re-sample within minutes.
T2I_BLOCK_CHANNELS = (16, 32)


def build_t2i_policy(path: str | Path, *, steps: int, world_seed: int = 1, batch_size: int = 32,
                     lr: float = 1e-3, caption_dropout: float = 0.1, seed: int = 0,
                     block_channels: tuple[int, ...] = T2I_BLOCK_CHANNELS, prediction_type: str = "sample",
                     log: Callable[[int, float], None] | None = None) -> Path:
    """Build the tiny text-to-image model at ``path`` and pretrain it for ``steps`` DDPM steps on scenes of
    ``World(world_seed)`` (UNet and text encoder both trained; a caption is dropped with probability
    ``caption_dropout`` so classifier-free guidance has an unconditional model).

    The model is the project's tiny pixel-space text-to-image layout (``build_tiny_t2i``) with its UNet
    rebuilt at ``block_channels`` widths (same blocks, same text conditioning), trained for
    ``prediction_type`` (``sample``, i.e. the clean image, by default: a tiny UNet that predicts the noise
    leaves visible noise in few-step samples, one that predicts the image gives clean backgrounds after a
    short pretraining)."""
    import torch
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from transformers import AutoTokenizer, CLIPTextModel

    from unireward_sdk.tiny import build_tiny_t2i

    path = Path(build_tiny_t2i(path, seed=seed))
    config = dict(UNet2DConditionModel.load_config(path, subfolder="unet"))
    if tuple(config["block_out_channels"]) != tuple(block_channels):
        torch.manual_seed(seed)
        config = {k: v for k, v in config.items() if not k.startswith("_")}
        UNet2DConditionModel.from_config({**config, "block_out_channels": list(block_channels)}).save_pretrained(
            path / "unet", safe_serialization=True)
    unet = UNet2DConditionModel.from_pretrained(path, subfolder="unet")
    encoder = CLIPTextModel.from_pretrained(path, subfolder="text_encoder")
    tokenizer = AutoTokenizer.from_pretrained(path, subfolder="tokenizer")
    scheduler = DDPMScheduler.from_pretrained(path, subfolder="scheduler")
    if scheduler.config.prediction_type != prediction_type:
        scheduler = DDPMScheduler.from_config(scheduler.config, prediction_type=prediction_type)
        scheduler.save_pretrained(path / "scheduler")
    length = min(tokenizer.model_max_length, encoder.config.max_position_embeddings)
    world = World(world_seed)
    rng = random.Random(seed)
    torch.manual_seed(seed)
    params = list(unet.parameters()) + list(encoder.parameters())
    optim = torch.optim.AdamW(params, lr=lr)
    schedule = torch.optim.lr_scheduler.LambdaLR(optim, lambda s: min(1.0, (s + 1) / 50))
    unet.train()
    encoder.train()
    for step in range(steps):
        scenes = [world.scene(rng.randrange(10**9)) for _ in range(batch_size)]
        x = torch.stack([scene_tensor(s) for s in scenes])
        captions = ["" if rng.random() < caption_dropout else s.caption() for s in scenes]
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

