"""The transformers backend on tiny Qwen2-VL / Qwen2.5-VL judges loaded through from_pretrained(path)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from unireward_sdk.errors import ConfigError, ModelLoadError
from unireward_sdk.interfaces import JudgeRequest

from unireward_builtins.backends.transformers_backend import TransformersBackend, infer_family


def _image(seed: int, size=(64, 64)) -> Image.Image:
    return Image.fromarray(np.random.RandomState(seed).randint(0, 255, (*size, 3), dtype=np.uint8))


def _requests() -> list[JudgeRequest]:
    """Mixed lengths, image counts, a video, a larger image: the batch needs real left padding."""
    return [
        JudgeRequest(parts=[("image", _image(1)), ("image", _image(2)), ("text", "Which image is better? a cube")],
                     max_new_tokens=6, item_id="two-images"),
        JudgeRequest(parts=[("image", _image(3, (96, 64))), ("text", "Rate it. " * 6)], max_new_tokens=6,
                     item_id="long-text"),
        JudgeRequest(parts=[("video", [_image(10 + i) for i in range(8)]), ("text", "Rate the video.")],
                     max_new_tokens=6, item_id="video"),
        JudgeRequest(parts=[("image", _image(4)), ("text", "Short")], max_new_tokens=4, item_id="other-budget"),
    ]


def _tol(backend) -> float:
    """Batched vs single runs agree to float32 rounding; bf16 kernels (CUDA default) may reduce differently."""
    import torch

    return 1e-4 if backend.dtype == torch.float32 else 2e-2


@pytest.fixture(scope="module", params=["qwen2_vl", "qwen2_5_vl"])
def backend(request):
    path = request.getfixturevalue(f"tiny_{request.param}")
    from unireward_sdk.registry import get_registry

    return get_registry().backend("transformers", checkpoint=str(path), batch_size=8)


def test_loads_like_a_released_checkpoint(backend):
    import torch

    assert backend.family == "qwen_v1"
    if torch.cuda.is_available():  # the defaults: bf16 on CUDA when present, fp32 on the CPU
        assert backend.dtype == torch.bfloat16 and backend.device == "cuda"
    else:
        assert backend.dtype == torch.float32 and backend.device == "cpu"
    assert next(backend.model.parameters()).dtype == backend.dtype
    assert backend.tokenizer.padding_side == "left"
    assert backend.model_type in ("qwen2_vl", "qwen2_5_vl")


def test_media_parts_come_first_in_the_chat_prompt(backend):
    prompt = backend.prompt_text(_requests()[0])
    user = prompt.split("<|im_start|>user\n", 1)[1]
    assert user.startswith("<|vision_start|><|image_pad|><|vision_end|><|vision_start|><|image_pad|><|vision_end|>"
                           "Which image is better?")
    assert prompt.endswith("<|im_start|>assistant\n")


def test_batched_generation_equals_per_item(backend):
    requests = _requests()
    batched = backend.generate(requests)
    alone = [backend.generate([r])[0] for r in requests]
    assert batched == alone
    assert all(isinstance(t, str) for t in batched)


def test_greedy_is_pinned_even_if_the_checkpoint_samples(backend):
    config = backend.model.generation_config
    saved = (config.do_sample, config.temperature)
    config.do_sample, config.temperature = True, 1.5
    try:
        outs = {tuple(backend.generate(_requests()[:2])) for _ in range(3)}
    finally:
        config.do_sample, config.temperature = saved
    assert len(outs) == 1


def test_continuation_logprobs_exact_path_is_teacher_forcing(backend):
    """The exact path equals a hand-written teacher-forced sum on an unpadded single sequence."""
    import torch

    requests = _requests()
    prefix, choices = "Image ", ["1 is better.", "2 is better.", "Both images are equally good."]
    scored = backend.score_continuations(requests, [prefix] * 4, [choices] * 4, method="exact")
    assert [s.method for s in scored] == ["exact"] * 4
    got = [list(s.logprobs) for s in scored]
    assert got == backend.continuation_logprobs(requests, [prefix] * 4, [choices] * 4, method="exact")
    tok = backend.tokenizer
    for request, row in zip(requests, got):
        prompt = backend.prompt_text(request)
        base = tok(prompt + prefix, add_special_tokens=False)["input_ids"]
        for choice, value in zip(choices, row):
            full = tok(prompt + prefix + choice, add_special_tokens=False)["input_ids"]
            k = next(i for i, (a, b) in enumerate(zip(base + [None], full)) if a != b)
            batch = backend.encode([request], [prefix + choice])
            with torch.no_grad():
                logprobs = torch.log_softmax(backend.model(**batch).logits[0].float(), -1)
            ids = batch["input_ids"][0]
            n = len(full) - k
            start = len(ids) - n
            expected = sum(float(logprobs[t - 1, ids[t]]) for t in range(start, len(ids)))
            assert value == pytest.approx(expected, abs=_tol(backend))


def test_single_pass_readout_equals_exact_for_single_token_choices(backend):
    requests = _requests()
    prefix, choices = "Final Score:", [" 1", " 2", " 3"]
    plan = backend.readout_plan(backend.prompt_text(requests[0]), prefix, choices)
    assert plan.method == "single_pass" and plan.spine == () and plan.exact
    scored = backend.score_continuations(requests, [prefix] * 4, [choices] * 4)
    assert [s.method for s in scored] == ["single_pass"] * 4  # the record names its readout
    fast = [list(s.logprobs) for s in scored]
    exact = backend.continuation_logprobs(requests, [prefix] * 4, [choices] * 4, method="exact")
    assert np.allclose(fast, exact, atol=_tol(backend))
    alone = [backend.continuation_logprobs([r], [prefix], [choices])[0] for r in requests]
    assert np.allclose(fast, alone, atol=_tol(backend))


def test_single_pass_reads_verdict_sentences_at_their_decisive_tokens(backend):
    """'Image 1 is better.' / 'Image 2 is better.' / 'Both ...': one pass over prompt + 'Image'."""
    requests = _requests()
    choices = ["Image 1 is better.", "Image 2 is better.", "Both images are equally good."]
    plan = backend.readout_plan(backend.prompt_text(requests[0]), "", choices)
    assert plan.method == "single_pass" and len(plan.spine) == 1 and not plan.exact
    assert backend.tokenizer.decode(list(plan.spine)) == "Image"
    fast = backend.continuation_logprobs(requests, [""] * 4, [choices] * 4)
    decisive = [backend.tokenizer.decode(list(c[:d])) for c, d in zip(plan.continuations, plan.decisive)]
    assert decisive == ["Image 1", "Image 2", "Both"]
    exact = backend.continuation_logprobs(requests, [""] * 4, [decisive] * 4, method="exact")
    assert np.allclose(fast, exact, atol=_tol(backend))


def test_trailing_space_of_a_prefix_is_retokenised_with_the_choice(backend):
    """'Final Score: ' + '3' tokenises as ':' 'G3' here: the prompt's last token is dropped, not kept."""
    requests = _requests()
    prefix, choices = "Final Score: ", ["1", "2", "3"]
    plan = backend.readout_plan(backend.prompt_text(requests[0]), prefix, choices)
    assert plan.method == "single_pass" and plan.dropped == 1
    fast = backend.continuation_logprobs(requests, [prefix] * 4, [choices] * 4)
    exact = backend.continuation_logprobs(requests, ["Final Score:"] * 4, [[" 1", " 2", " 3"]] * 4, method="exact")
    assert np.allclose(fast, exact, atol=_tol(backend))


def test_last_hidden_states_batched_equals_per_item(backend):
    import torch

    requests = _requests()
    together = backend.last_hidden_states(requests)
    hidden = backend.model.config.get_text_config().hidden_size
    assert together.shape == (4, hidden) and together.dtype == torch.float32
    alone = torch.cat([backend.last_hidden_states([r]) for r in requests])
    assert torch.allclose(together, alone, atol=_tol(backend))


def test_real_mp4_video_through_the_media_cache(backend, tmp_path):
    import av

    from unireward_sdk.media import MediaCache

    path = tmp_path / "clip.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=8)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for i in range(24):
            frame = np.zeros((64, 64, 3), dtype=np.uint8)
            frame[:, : (i * 64) // 24] = (255, 0, 0)
            for packet in stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    media = MediaCache()(path)
    assert media.modality == "video" and len(media.data) == 8
    request = JudgeRequest(parts=[("video", media.data), ("text", "Rate the video.")], max_new_tokens=4)
    batch = backend.encode([request])
    assert "pixel_values_videos" in batch
    video_tokens = int((batch["input_ids"] == backend.model.config.video_token_id).sum())
    assert video_tokens == 64  # 8 frames of 64x64: 4 temporal groups x 16 merged patches, no resampling
    assert backend.generate([request]) == backend.generate([request, _requests()[0]])[:1]


def test_family_is_inferred_from_name_then_architecture():
    assert infer_family("CodeGoat24/UnifiedReward-qwen-7b", "qwen2_5_vl") == "qwen_v1"
    assert infer_family("CodeGoat24/UnifiedReward-Think-qwen3vl-8b", "qwen3_vl") == "think"
    assert infer_family("CodeGoat24/UnifiedReward-2.0-qwen-7b", "qwen2_5_vl") == "v2"
    assert infer_family("/models/UnifiedReward-0.5b", "llava_onevision") == "llava_v1"
    # a hub cache snapshot is named by its repository, not by the commit folder
    snapshot = "/hf/hub/models--CodeGoat24--UnifiedReward-Think-qwen-7b/snapshots/0123abcd"
    assert infer_family(snapshot, "qwen2_5_vl") == "think"
    assert infer_family("/data/snapshots/UnifiedReward-qwen-7b", "qwen2_5_vl") == "qwen_v1"
    assert infer_family("/models/think/UnifiedReward-qwen-3b", "qwen2_5_vl") == "qwen_v1"


def test_family_can_be_overridden_and_is_validated(tiny_qwen2_vl):
    assert TransformersBackend(str(tiny_qwen2_vl), family="v2").family == "v2"
    with pytest.raises(ConfigError, match="family"):
        TransformersBackend(str(tiny_qwen2_vl), family="gpt")


def test_pickled_weights_are_refused(tmp_path, tiny_qwen2_vl):
    import shutil

    folder = tmp_path / "pickled"
    shutil.copytree(tiny_qwen2_vl, folder)
    for weights in folder.glob("*.safetensors"):
        weights.unlink()
    (folder / "pytorch_model.bin").write_bytes(b"not even a pickle")
    with pytest.raises(ModelLoadError, match="safetensors") as info:
        TransformersBackend(str(folder))
    assert str(folder) in str(info.value)


def test_missing_checkpoint_names_it_and_a_fix(tmp_path):
    with pytest.raises(ModelLoadError) as info:
        TransformersBackend(str(tmp_path / "nowhere"))
    # a folder that is not there is reported as a missing folder, not as a hub id to download
    assert "local folder" in str(info.value) and "nowhere' does not exist" in str(info.value)
    with pytest.raises(ModelLoadError, match="CodeGoat24/UnifiedReward-missing") as info:
        TransformersBackend("CodeGoat24/UnifiedReward-missing")  # HF_HUB_OFFLINE=1 in tests
    assert "download CodeGoat24/UnifiedReward-missing" in str(info.value)


def test_unsupported_architecture_is_refused(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "bert", "architectures": ["BertModel"]}))
    with pytest.raises(ModelLoadError, match="not a supported judge"):
        TransformersBackend(str(tmp_path))


def test_llava_onevision_placeholders_and_frames_as_images(tiny_llava_onevision):
    """LLaVA templates write their own <image> placeholders; video frames then travel as images."""
    import torch

    backend = TransformersBackend(str(tiny_llava_onevision))
    assert backend.family == "llava_v1"
    frames = [_image(20 + i, (48, 64)) for i in range(4)]
    requests = [
        JudgeRequest(parts=[("image", _image(1)), ("image", _image(2)), ("text", "<image>\n <image>\nWhich?")]),
        JudgeRequest(parts=[("video", frames), ("text", "<image>\n" * 4 + "Rate the frames.")]),
        JudgeRequest(parts=[("video", frames), ("text", "Rate the video.")]),
    ]
    assert backend.prompt_text(requests[0]).count("<image>") == 2
    assert backend._media(requests[1]) == (frames, [])
    assert "<video>" in backend.prompt_text(requests[2])
    together = backend.continuation_logprobs(requests, ["Final Score:"] * 3, [[" 1", " 2"]] * 3)
    alone = [backend.continuation_logprobs([r], ["Final Score:"], [[" 1", " 2"]])[0] for r in requests]
    tol = _tol(backend)
    assert np.allclose(together, alone, atol=tol)
    assert torch.allclose(backend.last_hidden_states(requests),
                          torch.cat([backend.last_hidden_states([r]) for r in requests]), atol=tol)
