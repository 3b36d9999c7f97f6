"""Judging speed, as ratios measured in one run on one tiny judge and the same 16 image pairs.

1. The reference method (what the official UnifiedReward scripts do: batch size 1, media decoded and
   prepared again for every call, a full ``generate`` with a large token budget, then parse) vs our
   batched generative head vs our fast (single-pass) head: items/s and speed-up ratios. Target: the fast
   head >= 10x the reference at batch 16.
2. Our fast head vs a bare batched forward pass over the very batch the fast head feeds the model
   (already encoded): the head's overhead ratio (request building, chat template, processor, readout
   bookkeeping). Target: <= 1.15.

The judge is a tiny Qwen2-VL taught for a few dozen steps to answer "Image 1 is better." / "Image 2 is
better." (so that generation stops at end-of-turn like a trained checkpoint, instead of running a random
model to the token limit, which would flatter our heads). Greedy decoding everywhere, for determinism.

Run: .venv/bin/pytest benchmarks/test_bench_judging.py -s (add --benchmark-disable for a smoke run).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

N_ITEMS = 16
BATCH_SIZE = 16
# the official scripts allow up to 4096 new tokens; a trained judge stops at end-of-turn long before
REFERENCE_MAX_NEW_TOKENS = 1024
ROUNDS = 5
TASK = "image_generation"
ANSWERS = ("Image 1 is better.", "Image 2 is better.")


def _write_images(folder: Path, n: int) -> list[Path]:
    """Deterministic 64x64 pictures: a coloured square on a plain background."""
    from PIL import Image, ImageDraw

    paths = []
    for i in range(n):
        image = Image.new("RGB", (64, 64), ((37 * i) % 256, (91 * i) % 256, (53 * i + 80) % 256))
        ImageDraw.Draw(image).rectangle([8 + i % 16, 8, 40 + i % 16, 40], fill=(255 - (37 * i) % 256, 30, 200))
        path = folder / f"img_{i:02d}.png"
        image.save(path)
        paths.append(path)
    return paths


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """The tiny judge (saved, taught, reloaded via from_pretrained), its task, heads and 16 pair items."""
    from unireward_sdk import Candidate, JudgeItem, get_registry
    from unireward_sdk.media import MediaCache
    from unireward_sdk.testing.tiny import build_tiny_judge, train_tiny_judge_to_emit

    root = tmp_path_factory.mktemp("bench_judging")
    images = _write_images(root, 2 * N_ITEMS)
    registry = get_registry()
    task = registry.task(TASK)
    template_id = task.default_template("pairwise", "qwen_v1")
    items = [
        JudgeItem(id=f"pair{i}", task=TASK, prompt=f"a coloured square, picture {i}",
                  candidates=(Candidate(id=f"{i}a", path=str(images[2 * i]), modality="image"),
                              Candidate(id=f"{i}b", path=str(images[2 * i + 1]), modality="image")))
        for i in range(N_ITEMS)
    ]
    judge = build_tiny_judge(root / "judge", arch="qwen2_vl", seed=0)
    media = MediaCache(registry=registry)
    examples = [(task.build_request(item, template_id, media).parts, ANSWERS[i % 2]) for i, item in enumerate(items)]
    train_tiny_judge_to_emit(judge, examples, steps=60, lr=3e-3)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    backend = registry.backend("transformers", checkpoint=str(judge), device="cpu", batch_size=BATCH_SIZE)
    heads = {name: registry.reward_head(name, backend=backend, task=TASK, template=template_id,
                                        batch_size=BATCH_SIZE, registry=registry)
             for name in ("generative", "fast")}
    return {"registry": registry, "task": task, "template_id": template_id, "items": items,
            "backend": backend, "heads": heads}


def reference_judge(world, items, max_new_tokens: int = REFERENCE_MAX_NEW_TOKENS):
    """The official scripts' loop: one item at a time, media prepared from the files on every call."""
    from unireward_sdk.media import MediaCache

    backend, task, template_id = world["backend"], world["task"], world["template_id"]
    verdicts = []
    for item in items:
        media = MediaCache(registry=world["registry"])  # nothing survives between calls
        request = task.build_request(item, template_id, media)
        batch = backend.encode([request])
        with torch.inference_mode():
            ids = backend.model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                                         pad_token_id=backend.tokenizer.pad_token_id)
        raw = backend.tokenizer.decode(ids[0, batch["input_ids"].shape[1]:], skip_special_tokens=True)
        verdicts.append(task.parse(template_id, raw, item.id))
    return verdicts


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _interleaved(fns: dict, rounds: int) -> dict[str, float]:
    """Median seconds per call of each function, calls interleaved so machine noise hits all alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(_timed(fn))
    return {name: statistics.median(values) for name, values in times.items()}


def test_bench_reference_vs_generative_vs_fast(benchmark, world):
    items = world["items"]
    generative, fast = world["heads"]["generative"], world["heads"]["fast"]
    # warm-up, and the answers we compare: the taught judge answers with a verdict and stops (a random
    # judge would run to the token limit), and batching must not change the generated answers
    ref_verdicts = reference_judge(world, items)
    gen_verdicts = generative.judge_pairwise(items)
    fast_verdicts = fast.judge_pairwise(items)
    assert all(v.ok for v in ref_verdicts), [v.raw for v in ref_verdicts]
    assert [v.raw for v in gen_verdicts] == [v.raw for v in ref_verdicts]
    agreement = sum(f.winner == g.winner for f, g in zip(fast_verdicts, gen_verdicts)) / N_ITEMS

    seconds = _interleaved({
        "reference": lambda: reference_judge(world, items),
        "generative": lambda: generative.judge_pairwise(items),
        "fast": lambda: fast.judge_pairwise(items),
    }, ROUNDS)
    benchmark.pedantic(fast.judge_pairwise, args=(items,), rounds=ROUNDS, iterations=1)

    per_second = {name: N_ITEMS / s for name, s in seconds.items()}
    ratios = {
        "fast_vs_reference": seconds["reference"] / seconds["fast"],
        "generative_vs_reference": seconds["reference"] / seconds["generative"],
        "fast_vs_generative": seconds["generative"] / seconds["fast"],
    }
    benchmark.extra_info.update({f"items_per_s_{k}": round(v, 2) for k, v in per_second.items()})
    benchmark.extra_info.update({k: round(v, 2) for k, v in ratios.items()})
    benchmark.extra_info["fast_generative_agreement"] = agreement
    benchmark.extra_info["n_items"] = N_ITEMS
    print(f"\n[judging speed, {N_ITEMS} image pairs, batch {BATCH_SIZE}, median of {ROUNDS}]")
    for name in ("reference", "generative", "fast"):
        print(f"  {name:>10}: {per_second[name]:8.1f} items/s  ({seconds[name] * 1000:8.1f} ms per 16)")
    for name, value in ratios.items():
        print(f"  {name}: {value:.1f}x")
    print(f"  fast/generative verdict agreement: {agreement:.2f}")


def capture_forward_calls(model, fn):
    """Run ``fn`` and return the keyword arguments of every forward call it made on ``model``."""
    calls = []
    original = model.forward

    def recording(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    model.forward = recording
    try:
        fn()
    finally:
        del model.forward  # back to the class's method
    return calls


def test_bench_fast_head_overhead_vs_bare_forward(benchmark, world):
    """The fast head end to end (media cached, as in a job) vs the bare model forward on its encoded batch.

    The bare forward replays exactly the model call(s) the fast head made (same tensors, same
    ``logits_to_keep``), so the ratio is the head's own cost: requests, chat template, processor, readout.
    """
    items, backend = world["items"], world["backend"]
    fast = world["heads"]["fast"]
    fast.judge_pairwise(items)  # warm: media decoded into the head's cache
    calls = capture_forward_calls(backend.model, lambda: fast.judge_pairwise(items))
    methods = set(backend.last_readout_methods)

    def bare_forward():
        with torch.inference_mode():
            for args, kwargs in calls:
                backend.model(*args, **kwargs)

    seconds = _interleaved({"bare": bare_forward, "fast": lambda: fast.judge_pairwise(items)}, ROUNDS * 2)
    benchmark.pedantic(bare_forward, rounds=ROUNDS, iterations=1)
    ratio = seconds["fast"] / seconds["bare"]
    benchmark.extra_info.update({"fast_over_bare_forward": round(ratio, 3), "n_items": N_ITEMS,
                                 "forward_calls": len(calls), "readout_methods": sorted(methods),
                                 "bare_ms": round(seconds["bare"] * 1000, 2),
                                 "fast_ms": round(seconds["fast"] * 1000, 2)})
    print(f"\n[fast head overhead, {N_ITEMS} items, {len(calls)} forward call(s), readout {sorted(methods)}, "
          f"median of {ROUNDS * 2}]")
    print(f"  bare forward: {seconds['bare'] * 1000:.1f} ms, fast head: {seconds['fast'] * 1000:.1f} ms, "
          f"ratio {ratio:.2f} (target <= 1.15)")
