"""Judging through a served judge vs in-process, as ratios measured in one run on the same 64 pairwise items.

In-process: the generative head on the ``transformers`` backend, batch 16. Served: the same head on the
``openai`` backend, sending one chat-completions request per item to a local OpenAI-compatible server
(the test suite's server, tests/serving/conftest.py, running the very same loaded judge), with 1, 4 and
16 requests in flight (``max_concurrency``). Reported: items/s of each, and served / in-process.

What this measures: the cost of the protocol (base64 PNG per image, JSON, HTTP over loopback, the
server's request decoding) and of giving up batching, since that server runs one request at a time, as
``transformers serve`` without continuous batching does. A serving engine that batches concurrent
requests (vLLM, SGLang) on a GPU is not measured here. Client and server share this process (and its
GIL), on one torch thread, so the figures are a floor for the protocol, not a forecast for a real
deployment.

The judge is a tiny Qwen2-VL taught for a few dozen steps to answer "Image k is better." so that
generation stops at end-of-turn (5 answer tokens). Every served run uses a fresh backend: the backend remembers answers it
already got, and a rerun would otherwise send nothing.

Run: .venv/bin/pytest benchmarks/test_bench_serving_backend.py -s (add --benchmark-disable for a smoke run).
"""

from __future__ import annotations

import importlib.util
import statistics
import time
from pathlib import Path

import pytest
from bench_media import write_squares

torch = pytest.importorskip("torch")
pytest.importorskip("httpx")

N_ITEMS = 64
BATCH_SIZE = 16
CONCURRENCY = (1, 4, 16)
ROUNDS = 3
TASK = "image_generation"
TEMPLATE = "image_generation.pairwise_rank.qwen_v1"
ANSWERS = ("Image 1 is better.", "Image 2 is better.")


def _suite_servers():
    """tests/serving/conftest.py, loaded as a module: its JudgeServer is the local server measured here."""
    path = Path(__file__).resolve().parents[1] / "tests" / "serving" / "conftest.py"
    spec = importlib.util.spec_from_file_location("serving_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def world(tmp_path_factory, one_thread):
    from unireward_sdk import Candidate, JudgeItem, get_registry
    from unireward_sdk.media import MediaCache
    from unireward_sdk.testing.tiny import build_tiny_judge, train_tiny_judge_to_emit

    root = tmp_path_factory.mktemp("bench_serving")
    images = write_squares(root, 2 * N_ITEMS)
    registry = get_registry()
    task = registry.task(TASK)
    items = [JudgeItem(id=f"pair{i}", task=TASK, prompt=f"a coloured square, picture {i}",
                       candidates=(Candidate(id=f"{i}a", path=str(images[2 * i]), modality="image"),
                                   Candidate(id=f"{i}b", path=str(images[2 * i + 1]), modality="image")))
             for i in range(N_ITEMS)]
    judge = build_tiny_judge(root / "judge", arch="qwen2_vl", seed=0)
    media = MediaCache(registry=registry)
    examples = [(task.build_request(item, TEMPLATE, media).parts, ANSWERS[i % 2]) for i, item in enumerate(items)]
    train_tiny_judge_to_emit(judge, examples, steps=40, lr=3e-3)
    backend = registry.backend("transformers", checkpoint=str(judge), device="cpu", batch_size=BATCH_SIZE)
    server = _suite_servers().JudgeServer(backend, logprobs=False)
    yield {"registry": registry, "items": items, "backend": backend, "server": server}
    server.close()


def _head(world, backend):
    return world["registry"].reward_head("generative", backend=backend, task=TASK, template=TEMPLATE,
                                         batch_size=BATCH_SIZE, registry=world["registry"])


def _served_head(world, concurrency: int):
    backend = world["registry"].backend("openai", base_url=world["server"].base_url, model="tiny-judge",
                                        logprobs=False, max_concurrency=concurrency, max_retries=0)
    return _head(world, backend)


def test_served_vs_in_process_items_per_second(benchmark, world):
    items = world["items"]
    local = _head(world, world["backend"])
    want = local.judge_pairwise(items)  # warm-up, and the answers every run must give
    # a taught answer that stops at end-of-turn (which of the two it picks does not matter for speed)
    assert all(v.ok and v.raw in ANSWERS for v in want), [v.raw for v in want]
    for concurrency in CONCURRENCY:
        got = _served_head(world, concurrency).judge_pairwise(items)
        assert [(v.winner, v.raw) for v in got] == [(v.winner, v.raw) for v in want]

    # each run: (build, judge); building the served backend is per job, not per item, so it is not timed
    runs = {"in_process": lambda: local}
    for concurrency in CONCURRENCY:
        runs[f"served_c{concurrency}"] = (lambda c: lambda: _served_head(world, c))(concurrency)
    rounds = 1 if getattr(benchmark, "disabled", False) else ROUNDS
    wall: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):  # interleaved, so machine noise hits every variant alike
        for name, build in runs.items():
            head = build()
            start = time.perf_counter()
            head.judge_pairwise(items)
            wall[name].append(time.perf_counter() - start)
    benchmark.pedantic(lambda: _served_head(world, 16).judge_pairwise(items), rounds=1, iterations=1)

    seconds = {name: statistics.median(v) for name, v in wall.items()}
    per_second = {name: N_ITEMS / s for name, s in seconds.items()}
    print(f"\n[{N_ITEMS} pairwise items, template {TEMPLATE}, in-process batch {BATCH_SIZE}, one torch thread, "
          f"median of {rounds} interleaved rounds, wall clock]")
    for name, rate in per_second.items():
        ratio = rate / per_second["in_process"]
        benchmark.extra_info[f"items_per_s_{name}"] = round(rate, 2)
        benchmark.extra_info[f"ratio_{name}_vs_in_process"] = round(ratio, 3)
        print(f"  {name}: {rate:.1f} items/s ({ratio:.2f}x in-process)")
