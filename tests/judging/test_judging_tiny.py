"""The tiny judges load through the released-checkpoint path (Auto classes, offline, safetensors)."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("arch", ["qwen2_vl", "qwen2_5_vl", "llava_onevision"])
def test_tiny_judge_round_trips_through_auto_classes(tmp_path, arch):
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from unireward_sdk.testing.tiny import build_tiny_judge

    path = build_tiny_judge(tmp_path / arch, arch=arch, seed=3)
    assert list(path.glob("*.safetensors")) and not list(path.glob("*.bin"))
    model = AutoModelForImageTextToText.from_pretrained(path)
    processor = AutoProcessor.from_pretrained(path)
    assert sum(p.numel() for p in model.parameters()) < 1_000_000
    again = build_tiny_judge(tmp_path / f"{arch}_again", arch=arch, seed=3)
    other = AutoModelForImageTextToText.from_pretrained(again)
    for (name, a), (_, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert torch.equal(a, b), name
    assert processor.tokenizer.pad_token == "<|endoftext|>"
    assert processor.tokenizer.eos_token == "<|im_end|>"


def test_tiny_qwen_processor_matches_vision_config(tiny_qwen2_vl):
    from PIL import Image
    from transformers import AutoConfig, AutoProcessor

    config = AutoConfig.from_pretrained(tiny_qwen2_vl)
    processor = AutoProcessor.from_pretrained(tiny_qwen2_vl)
    assert processor.image_processor.patch_size == config.vision_config.patch_size
    assert processor.image_processor.merge_size == config.vision_config.spatial_merge_size
    assert processor.video_processor.temporal_patch_size == config.vision_config.temporal_patch_size
    image = Image.new("RGB", (64, 64), "red")
    batch = processor(text=["<|vision_start|><|image_pad|><|vision_end|>hi"], images=[image],
                      videos=None, return_tensors="pt")
    assert int((batch["input_ids"] == config.image_token_id).sum()) == 16
    video = processor(text=["<|vision_start|><|video_pad|><|vision_end|>hi"], videos=[[image] * 8],
                      do_sample_frames=False, return_tensors="pt")
    assert int((video["input_ids"] == config.video_token_id).sum()) == 64
