"""Session-wide fixtures for the judging tests: a registry with the built-in tasks, tiny judges built once
and saved locally (loaded through from_pretrained like released checkpoints), and a tiny judge trained for
a few steps to answer image-generation prompts with fixed verdicts and scores."""

from __future__ import annotations

from pathlib import Path

import pytest

TASK_MODULES = tuple(f"unireward_builtins.tasks.{t}" for t in (
    "image_generation", "video_generation", "image_understanding", "video_understanding"))

# the rule the trained judge learns: red images are best, green middling, blue worst
COLOURS = {"red": 5, "green": 3, "blue": 1}
PAIRS = [("red", "blue"), ("blue", "red"), ("green", "red"), ("red", "green"), ("blue", "green")]
CAPTIONS = ["a red square"]


@pytest.fixture(scope="session")
def template_texts(registry) -> tuple[str, ...]:
    """Every built-in template text: the tiny tokenizers learn them, so prompts are ~175 tokens, not ~340."""
    return tuple(sorted({t.text for name in registry.names("task") for t in registry.task(name).templates().values()}))


def _build(tmp_path_factory, template_texts, arch: str, seed: int = 0):
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp(f"tiny_{arch}"), arch=arch, seed=seed, vocab_size=1000,
                            tokenizer_corpus=template_texts)


@pytest.fixture(scope="session")
def registry():
    """The built-in plugins plus the four built-in tasks; no third-party plugins of this machine."""
    from unireward_sdk.host import BUILTIN_PLUGINS, PluginHost
    from unireward_sdk.registry import Registry
    from unireward_sdk.settings import PluginSettings

    modules = tuple(dict.fromkeys(BUILTIN_PLUGINS + TASK_MODULES))
    return Registry(PluginHost.load(PluginSettings(), builtins=modules, entry_points=[]))


@pytest.fixture(scope="session")
def tiny_qwen2_vl(tmp_path_factory, template_texts):
    """Path of a saved random tiny Qwen2-VL judge (model + processor)."""
    return _build(tmp_path_factory, template_texts, "qwen2_vl")


@pytest.fixture(scope="session")
def tiny_qwen2_5_vl(tmp_path_factory, template_texts):
    """Path of a saved random tiny Qwen2.5-VL judge (model + processor)."""
    return _build(tmp_path_factory, template_texts, "qwen2_5_vl")


@pytest.fixture(scope="session")
def tiny_llava_onevision(tmp_path_factory, template_texts):
    """Path of a saved random tiny LLaVA-OneVision judge (transformers format)."""
    return _build(tmp_path_factory, template_texts, "llava_onevision")


@pytest.fixture(scope="session")
def colour_images(tmp_path_factory) -> dict[str, Path]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("colours")
    paths = {}
    for colour in COLOURS:
        paths[colour] = folder / f"{colour}.png"
        Image.new("RGB", (64, 64), colour).save(paths[colour])
    return paths


@pytest.fixture(scope="session")
def colour_items(colour_images):
    """Pairwise and pointwise image-generation items over the coloured squares, with the taught answers:
    ``([(item, winner), ...], [(item, score), ...])``."""
    paths = colour_images
    from unireward_sdk.records import Candidate, JudgeItem

    pairwise, pointwise = [], []
    for c, caption in enumerate(CAPTIONS):
        for a, b in PAIRS:
            winner = "A" if COLOURS[a] > COLOURS[b] else "B" if COLOURS[b] > COLOURS[a] else "tie"
            if a != "red" and b != "red":
                winner = "tie"  # without a red square the judge says both are equally good
            item = JudgeItem(id=f"{a}-{b}-{c}", task="image_generation", prompt=caption,
                             candidates=[Candidate(a, "image", path=str(paths[a])),
                                         Candidate(b, "image", path=str(paths[b]))])
            pairwise.append((item, winner))
        for colour, score in COLOURS.items():
            item = JudgeItem(id=f"{colour}-{c}", task="image_generation", prompt=caption,
                             candidates=[Candidate(colour, "image", path=str(paths[colour]))])
            pointwise.append((item, score))
    return pairwise, pointwise


ANSWERS = {"A": "Image 1 is better.", "B": "Image 2 is better.", "tie": "Both images are equally good."}


@pytest.fixture(scope="session")
def trained_qwen2_vl(tmp_path_factory, registry, colour_items, template_texts):
    """A tiny Qwen2-VL judge taught (a few dozen CPU steps) to answer the colour items like a checkpoint:
    the qwen_v1 verdict sentence for pairwise prompts, 'Final Score: n' for pointwise ones."""
    from unireward_sdk.media import MediaCache
    from unireward_sdk.testing.tiny import train_tiny_judge_to_emit

    path = _build(tmp_path_factory, template_texts, "qwen2_vl", seed=1)
    task = registry.task("image_generation")
    media = MediaCache(registry=registry)
    pairwise, pointwise = colour_items
    examples = []
    for item, winner in pairwise:
        request = task.build_request(item, "image_generation.pairwise_rank.qwen_v1", media)
        examples.append((request.parts, ANSWERS[winner]))
    for item, score in pointwise:
        request = task.build_request(item, "image_generation.pointwise_score.qwen_v1", media)
        examples.append((request.parts, f"Final Score: {score}"))
    return train_tiny_judge_to_emit(path, examples, steps=40, lr=3e-3)


def write_mp4(path: Path, colour: tuple[int, int, int], frames: int = 24, size: int = 64) -> Path:
    """A real H.264 MP4 (PyAV): a bar of ``colour`` sweeping across a black frame."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = size, size, "yuv420p"
        for i in range(frames):
            frame = np.zeros((size, size, 3), dtype=np.uint8)
            frame[:, : max(1, (i + 1) * size // frames)] = colour
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture(scope="session")
def mp4_videos(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("videos")
    return {"red": write_mp4(folder / "red.mp4", (255, 0, 0)), "blue": write_mp4(folder / "blue.mp4", (0, 0, 255))}
