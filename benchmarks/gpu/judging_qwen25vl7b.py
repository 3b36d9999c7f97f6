"""Judging speed on a GPU with the real Qwen2.5-VL-7B shapes (the base of UnifiedReward-qwen-7b).

Builds a RANDOMLY INITIALISED judge with Qwen2.5-VL-7B's exact configuration (28 layers of width 3584,
a 32-block vision tower, vocabulary 152064) in bf16 on CUDA, with a tiny local tokenizer and the real
Qwen2.5-VL image processor settings (patch 14, merge 2) - no model hub, no download. Then, on 16 image
pairs (pairwise) and 16 images (pointwise) of 448x448 (256 visual tokens per image), it measures:

1. the reference method of the official scripts (batch size 1, media decoded and prepared again on every
   call, ``generate``, parse) vs our batched generative head vs our fast (single-pass) head: items/s and
   ratios (target: fast >= 10x reference), for the pairwise and the pointwise qwen_v1 templates;
2. our fast head end to end vs a bare replay of the model call(s) it makes (same tensors), pairwise:
   overhead ratio (target <= 1.15).

A random judge never writes a verdict and stops, so generation is capped at the length of the answers a
trained checkpoint gives: ``--answer-tokens`` (default 8: "Image 1 is better." is about 7 tokens, then the
turn ends) and ``--pointwise-answer-tokens`` (default 48: an element checklist, then "Final Score: x").
The official scripts' 4096-token budget is never reached by a trained judge on these templates.

    python benchmarks/gpu/judging_qwen25vl7b.py            # on a CUDA machine: well under 3 minutes on an H100
    python benchmarks/gpu/judging_qwen25vl7b.py --tiny     # the same code path with a tiny config (CPU is fine)

Without CUDA (and without --tiny) it prints why and exits with status 0. Runs from a source checkout
without installing the package (it puts the checkout and its plugins folder on sys.path).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TASK = "image_generation"

# Qwen2.5-VL-7B-Instruct's configuration, written out by hand (the shapes are what matter here)
QWEN25_VL_7B_TEXT = dict(
    hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28,
    num_key_value_heads=4, vocab_size=152064, max_position_embeddings=128000, rms_norm_eps=1e-6,
    hidden_act="silu", attention_dropout=0.0, use_sliding_window=False, sliding_window=32768,
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [16, 24, 24]},
    tie_word_embeddings=False,
)
QWEN25_VL_7B_VISION = dict(
    depth=32, hidden_size=1280, intermediate_size=3420, num_heads=16, out_hidden_size=3584, in_channels=3,
    patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112,
    fullatt_block_indexes=[7, 15, 23, 31], hidden_act="silu", tokens_per_second=2,
)
# the --tiny smoke configuration: same processor geometry, toy widths
TINY_TEXT = dict(
    hidden_size=128, intermediate_size=256, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
    max_position_embeddings=4096, rms_norm_eps=1e-6, hidden_act="silu",
    rope_parameters={"rope_type": "default", "rope_theta": 1000000.0, "mrope_section": [4, 6, 6]},
    tie_word_embeddings=True,
)
TINY_VISION = dict(
    depth=2, hidden_size=64, intermediate_size=128, num_heads=4, out_hidden_size=128, in_channels=3,
    patch_size=14, spatial_merge_size=2, temporal_patch_size=2, window_size=112, fullatt_block_indexes=[1],
    hidden_act="silu", tokens_per_second=2,
)


def _setup_path() -> None:
    try:
        import unireward_sdk  # noqa: F401
    except ImportError:
        sys.path[:0] = [str(REPO), str(REPO / "plugins")]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tiny", action="store_true", help="tiny config (smoke test of the code path; CPU is fine)")
    p.add_argument("--items", type=int, default=16, help="image pairs judged (default 16)")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--image-size", type=int, default=None, help="square image side (default 448; --tiny 112)")
    p.add_argument("--modes", default="pairwise,pointwise", help="judging modes to time (default both)")
    p.add_argument("--answer-tokens", type=int, default=8,
                   help="new tokens per generated pairwise answer (default 8, as 'Image 1 is better.')")
    p.add_argument("--pointwise-answer-tokens", type=int, default=48,
                   help="new tokens per generated pointwise answer (default 48: an element checklist, then "
                   "'Final Score: x')")
    p.add_argument("--rounds", type=int, default=5, help="timed rounds for the batched heads (default 5)")
    p.add_argument("--reference-rounds", type=int, default=2,
                   help="timed rounds for the pairwise reference (default 2; the pointwise reference gets 1)")
    p.add_argument("--budget-s", type=float, default=140.0, help="skip further rounds past this many seconds")
    p.add_argument("--json", type=Path, default=None, help="also write the results to this JSON file")
    return p.parse_args(argv)


# --- building the judge ------------------------------------------------------------------------------


def build_processor(image_size: int):
    """Tiny local tokenizer + the Qwen2.5-VL processor geometry (patch 14, merge 2, temporal 2)."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    from unireward_sdk.testing.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer("qwen2_5_vl")
    geometry = dict(patch_size=14, merge_size=2, temporal_patch_size=2)
    pixels = dict(min_pixels=56 * 56, max_pixels=max(image_size * image_size, 28 * 28))
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**pixels, **geometry),
        video_processor=Qwen2VLVideoProcessor(**pixels, do_sample_frames=False, **geometry),
        tokenizer=tokenizer,
        chat_template=tokenizer.chat_template,
    )


def build_model(processor, *, tiny: bool, device: str, dtype):
    import torch
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration

    tok = processor.tokenizer
    text = dict(TINY_TEXT if tiny else QWEN25_VL_7B_TEXT)
    if tiny:
        text["vocab_size"] = len(tok)
    text.update(bos_token_id=None, eos_token_id=tok.convert_tokens_to_ids("<|im_end|>"), pad_token_id=tok.pad_token_id)
    ids = {name: tok.convert_tokens_to_ids(t) for name, t in (
        ("image_token_id", "<|image_pad|>"), ("video_token_id", "<|video_pad|>"),
        ("vision_start_token_id", "<|vision_start|>"), ("vision_end_token_id", "<|vision_end|>"))}
    config = Qwen2_5_VLConfig(text_config=text, vision_config=dict(TINY_VISION if tiny else QWEN25_VL_7B_VISION),
                              tie_word_embeddings=text["tie_word_embeddings"], **ids)
    config._attn_implementation = "sdpa"
    torch.manual_seed(0)
    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):
            model = Qwen2_5_VLForConditionalGeneration(config)
    finally:
        torch.set_default_dtype(previous)
    model = model.to(device=device, dtype=dtype).eval()
    model.generation_config.pad_token_id = tok.pad_token_id
    model.generation_config.eos_token_id = tok.convert_tokens_to_ids("<|im_end|>")
    return model


def make_backend(model, processor, *, device: str, dtype, batch_size: int, answer_tokens: int):
    """The project's transformers backend around an in-memory model (only the loading step is replaced)."""
    from unireward_builtins.backends.transformers_backend import TransformersBackend

    class InMemoryBackend(TransformersBackend):
        def _load(self, attn_implementation, revision):  # noqa: ARG002 - same signature as the real loader
            return model, processor, model.config.model_type

    return InMemoryBackend("random-init/Qwen2.5-VL-7B-shapes", family="qwen_v1", device=device, dtype=dtype,
                           batch_size=batch_size, max_new_tokens=answer_tokens)


def write_items(folder: Path, n: int, size: int) -> dict:
    """16 image pairs (pairwise) and 16 single images (pointwise), written as PNG files."""
    from PIL import Image, ImageDraw

    from unireward_sdk import Candidate, JudgeItem

    paths = []
    for i in range(2 * n):
        image = Image.new("RGB", (size, size), ((37 * i) % 256, (91 * i) % 256, (53 * i + 80) % 256))
        ImageDraw.Draw(image).ellipse([size // 8, size // 8, size // 2 + i, size // 2 + i], fill=(250, 40, 120))
        path = folder / f"img_{i:03d}.png"
        image.save(path)
        paths.append(str(path))
    caption = "a pink disc on a coloured background, number {}"
    return {
        "pairwise": [JudgeItem(id=f"pair{i}", task=TASK, prompt=caption.format(i),
                               candidates=(Candidate(id=f"{i}a", path=paths[2 * i], modality="image"),
                                           Candidate(id=f"{i}b", path=paths[2 * i + 1], modality="image")))
                     for i in range(n)],
        "pointwise": [JudgeItem(id=f"one{i}", task=TASK, prompt=caption.format(i),
                                candidates=(Candidate(id=f"{i}", path=paths[i], modality="image"),))
                      for i in range(n)],
    }


# --- the methods compared ------------------------------------------------------------------------------


def reference_judge(backend, registry, task, template_id, items, answer_tokens):
    """The official scripts' loop: batch size 1, media prepared from the files every call, generate, parse."""
    import torch

    from unireward_sdk.media import MediaCache

    out = []
    for item in items:
        request = task.build_request(item, template_id, MediaCache(registry=registry))
        batch = backend.encode([request])
        with torch.inference_mode():
            ids = backend.model.generate(**batch, max_new_tokens=answer_tokens, do_sample=False,
                                         pad_token_id=backend.tokenizer.pad_token_id)
        raw = backend.tokenizer.decode(ids[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        out.append(task.parse(template_id, raw, item.id))
    return out


def capture_forward_calls(model, fn):
    """Run ``fn``; return the (args, kwargs) of every forward call it made on ``model``."""
    calls = []
    original = model.forward

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    model.forward = recording
    try:
        fn()
    finally:
        del model.forward
    return calls


class Clock:
    def __init__(self, cuda: bool):
        import torch

        self.sync = torch.cuda.synchronize if cuda else (lambda: None)

    def __call__(self, fn) -> float:
        self.sync()
        start = time.perf_counter()
        fn()
        self.sync()
        return time.perf_counter() - start


def time_mode(mode, args, results, backend, registry, task, heads, items, clock, started) -> None:
    """Warm up and time the reference, the generative head and the fast head on one mode's items."""
    key = "" if mode == "pairwise" else f"{mode}_"
    tokens = args.answer_tokens if mode == "pairwise" else args.pointwise_answer_tokens
    template_id = task.default_template(mode, "qwen_v1")
    backend.max_new_tokens = tokens  # the generative head's cap: a random judge never ends its turn
    call = "judge_pairwise" if mode == "pairwise" else "score_pointwise"
    methods = {
        "reference": lambda subset=items: reference_judge(backend, registry, task, template_id, subset, tokens),
        "generative": lambda: getattr(heads["generative"], call)(items),
        "fast": lambda: getattr(heads["fast"], call)(items),
    }
    # warm-up (kernels, allocator, the heads' media caches); the reference warms up on two items
    for name, fn in methods.items():
        out: list = []
        seconds = clock(lambda: out.extend(fn(items[:2]) if name == "reference" else fn()))
        results[f"{key}warmup_s_{name}"] = round(seconds, 3)
        results[f"{key}ok_{name}"] = f"{sum(v.ok for v in out)}/{len(out)}"
        print(f"  {mode} warm-up {name}: {seconds:.2f} s, {results[f'{key}ok_{name}']} parsed", flush=True)
    # the warm-up loop ends with the fast head: its results name the readout each item used
    results[f"{key}fast_readout_methods"] = sorted({v.provenance.extra["readout_method"] for v in out if v.ok})
    reference_rounds = args.reference_rounds if mode == "pairwise" else 1
    times: dict[str, list[float]] = {name: [] for name in methods}
    for r in range(args.rounds):
        if time.perf_counter() - started > args.budget_s and r >= 1:
            print(f"  time budget reached after {r} rounds", flush=True)
            break
        for name, fn in methods.items():
            if name == "reference" and r >= reference_rounds:
                continue
            times[name].append(clock(fn))
    for name, values in times.items():
        results[f"{key}items_per_s_{name}"] = round(args.items / statistics.median(values), 2)
        results[f"{key}ms_per_batch_{name}"] = round(1000 * statistics.median(values), 1)
    med = {name: statistics.median(v) for name, v in times.items()}
    results[f"{key}fast_vs_reference"] = round(med["reference"] / med["fast"], 2)
    results[f"{key}generative_vs_reference"] = round(med["reference"] / med["generative"], 2)
    results[f"{key}fast_vs_generative"] = round(med["generative"] / med["fast"], 2)
    print(f"  {mode}: fast vs reference {results[f'{key}fast_vs_reference']}x", flush=True)


# --- main -------------------------------------------------------------------------------------------------


def main(argv=None) -> int:
    args = parse_args(argv)
    _setup_path()
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    if not cuda and not args.tiny:
        print("judging_qwen25vl7b: no CUDA device found; this benchmark needs a GPU with ~40 GB free. "
              "Run it with --tiny for a CPU smoke test of the same code path.")
        return 0
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    image_size = args.image_size or (112 if args.tiny else 448)
    started = time.perf_counter()
    results: dict = {
        "device": torch.cuda.get_device_name(0) if cuda else f"CPU ({platform.processor() or platform.machine()})",
        "config": "tiny" if args.tiny else "Qwen2.5-VL-7B shapes, random init",
        "dtype": str(dtype).replace("torch.", ""), "torch": torch.__version__,
        "transformers": transformers.__version__, "items": args.items, "batch_size": args.batch_size,
        "image_size": image_size, "answer_tokens": args.answer_tokens,
        "pointwise_answer_tokens": args.pointwise_answer_tokens,
    }
    print(f"[judging benchmark] {results['config']} on {results['device']} ({results['dtype']}), "
          f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)

    from unireward_sdk import get_registry

    registry = get_registry()
    task = registry.task(TASK)
    template_id = task.default_template("pairwise", "qwen_v1")
    processor = build_processor(image_size)
    t0 = time.perf_counter()
    model = build_model(processor, tiny=args.tiny, device=device, dtype=dtype)
    results["parameters_b"] = round(sum(p.numel() for p in model.parameters()) / 1e9, 3)
    results["build_s"] = round(time.perf_counter() - t0, 1)
    if cuda:
        results["gpu_memory_gb_after_build"] = round(torch.cuda.memory_allocated() / 2**30, 1)
    print(f"  built {results['parameters_b']}B parameters in {results['build_s']} s", flush=True)
    backend = make_backend(model, processor, device=device, dtype=dtype, batch_size=args.batch_size,
                           answer_tokens=args.answer_tokens)
    heads = {name: registry.reward_head(name, backend=backend, task=TASK, template=template_id,
                                        batch_size=args.batch_size, registry=registry)
             for name in ("generative", "fast")}
    clock = Clock(cuda)
    tmp = Path(tempfile.mkdtemp(prefix="judging_gpu_"))
    items = write_items(tmp, args.items, image_size)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    status = 0
    for mode in modes:
        try:
            time_mode(mode, args, results, backend, registry, task, heads, items[mode], clock, started)
        except Exception:  # noqa: BLE001 - keep whatever was measured, report the failure, go on
            traceback.print_exc()
            status = 1

    try:
        fast, pairs = heads["fast"], items["pairwise"]
        calls = capture_forward_calls(backend.model, lambda: fast.judge_pairwise(pairs))

        def bare():
            with torch.inference_mode():
                for a, k in calls:
                    backend.model(*a, **k)

        overhead = {"bare": [], "fast": []}
        for r in range(max(3, args.rounds)):
            if time.perf_counter() - started > args.budget_s + 20 and r >= 1:
                break
            overhead["bare"].append(clock(bare))
            overhead["fast"].append(clock(lambda: fast.judge_pairwise(pairs)))
        results["forward_calls_fast"] = len(calls)
        results["bare_forward_ms"] = round(1000 * statistics.median(overhead["bare"]), 1)
        results["fast_head_ms"] = round(1000 * statistics.median(overhead["fast"]), 1)
        results["fast_over_bare_forward"] = round(statistics.median(overhead["fast"]) / statistics.median(overhead["bare"]), 3)
    except Exception:  # noqa: BLE001
        traceback.print_exc()
        status = 1
    if cuda:
        results["gpu_peak_memory_gb"] = round(torch.cuda.max_memory_allocated() / 2**30, 1)
    results["total_s"] = round(time.perf_counter() - started, 1)

    for mode in modes:
        key = "" if mode == "pairwise" else "pointwise_"
        tokens = args.answer_tokens if mode == "pairwise" else args.pointwise_answer_tokens
        print(f"\n[{mode}: {args.items} items, {image_size}px images, batch {args.batch_size}, "
              f"{tokens} generated answer tokens]")
        for name in ("reference", "generative", "fast"):
            if f"{key}items_per_s_{name}" in results:
                print(f"  {name:>10}: {results[f'{key}items_per_s_{name}']:9.2f} items/s  "
                      f"({results[f'{key}ms_per_batch_{name}']:.1f} ms per {args.items})")
        for ratio in ("fast_vs_reference", "generative_vs_reference", "fast_vs_generative"):
            if key + ratio in results:
                print(f"  {ratio}: {results[key + ratio]}x" + ("  (target >= 10)" if ratio == "fast_vs_reference" else ""))
    if "fast_over_bare_forward" in results:
        print("\n[overhead, pairwise batch]")
        print(f"  fast head {results['fast_head_ms']} ms vs bare forward {results['bare_forward_ms']} ms: "
              f"overhead ratio {results['fast_over_bare_forward']} (target <= 1.15)")
    print("RESULTS_JSON " + json.dumps(results, sort_keys=True))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())
