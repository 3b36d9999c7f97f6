"""`unireward serve` request throughput with and without the batching window, one run, one tiny judge.

Two servers built by the command's own code (``build_server``, uvicorn on loopback ports) over the same
backend and generative head: ``--batch-window 0`` (every request is its own head call) and
``--batch-window 0.02 --max-batch 64``. CONCURRENCY client threads send REQUESTS single-item pairwise
requests (the way an RL trainer's workers ask for rewards); reported: requests/s of each, the ratio, and
the head calls the server made. Also the cost of the window to a lone client: the median latency of
LONE sequential requests on each server. Rounds alternate between the two servers so machine noise hits
both alike.

The judge is a tiny Qwen2-VL taught for a few dozen steps to answer "Image k is better." and stop, so
generation ends at end-of-turn as a trained checkpoint's does. Greedy decoding; one torch thread.

Run: .venv/bin/pytest benchmarks/test_bench_serving_endpoint.py -s (add --benchmark-disable for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from bench_media import write_squares

torch = pytest.importorskip("torch")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

REQUESTS = 64
CONCURRENCY = 16
LONE = 16
ROUNDS = 3
WINDOW = 0.02
TASK = "image_generation"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from unireward_builtins.serving.command import build_server, configure
    from unireward_sdk import Candidate, JudgeItem, get_registry
    from unireward_sdk.media import MediaCache
    from unireward_sdk.testing.tiny import build_tiny_judge, train_tiny_judge_to_emit

    before = torch.get_num_threads()
    torch.set_num_threads(1)  # a steady measure on a shared box (see test_bench_judging.py)
    root = tmp_path_factory.mktemp("bench_serving")
    images = write_squares(root, 16)
    registry = get_registry()
    task = registry.task(TASK)
    template = task.default_template("pairwise", "qwen_v1")
    media = MediaCache(registry=registry)
    examples = []
    for i in range(8):
        item = JudgeItem(id=f"t{i}", task=TASK, prompt=f"a coloured square, picture {i}",
                         candidates=(Candidate("a", "image", path=str(images[2 * i])),
                                     Candidate("b", "image", path=str(images[2 * i + 1]))))
        examples.append((task.build_request(item, template, media).parts, f"Image {1 + i % 2} is better."))
    judge = build_tiny_judge(root / "judge", arch="qwen2_vl", seed=0)
    train_tiny_judge_to_emit(judge, examples, steps=60, lr=3e-3)

    def args(window: float):
        parser = argparse.ArgumentParser()
        configure(parser)
        return parser.parse_args(["--task", TASK, "--model", str(judge), "--port", "0", "--media-root", str(root),
                                  "--template", template, "--batch-window", str(window), "--max-batch", "64",
                                  "--batch-size", "16"])

    servers = {"no window": build_server(args(0.0), registry).start(),
               f"window {WINDOW * 1000:.0f} ms": build_server(args(WINDOW), registry).start()}
    bodies = [{"mode": "pairwise", "items": [{
        "id": f"r{r}", "prompt": f"a coloured square, picture {r % 8}",
        "candidates": [{"modality": "image", "path": images[(2 * r) % 16].name},
                       {"modality": "image", "path": images[(2 * r + 1) % 16].name}]}]} for r in range(REQUESTS)]
    yield {"servers": servers, "bodies": bodies}
    for server in servers.values():
        server.close()
    torch.set_num_threads(before)


def _send_all(url: str, bodies: list[dict]) -> list[str]:
    """Every body as its own request, CONCURRENCY at a time; the winners, in order."""
    with ThreadPoolExecutor(CONCURRENCY) as pool, httpx.Client(timeout=600) as client:
        answers = list(pool.map(lambda body: client.post(url + "/v1/judge", json=body), bodies))
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers if a.status_code != 200][:1]
    return [a.json()["results"][0]["winner"] for a in answers]


def test_bench_serve_requests_with_and_without_the_batching_window(benchmark, world):
    servers, bodies = world["servers"], world["bodies"]
    # warm-up, and batching must not change the answers
    winners = {name: _send_all(server.url, bodies) for name, server in servers.items()}
    assert len(set(map(tuple, winners.values()))) == 1, winners
    assert None not in next(iter(winners.values()))
    rounds = 1 if getattr(benchmark, "disabled", False) else ROUNDS
    wall: dict[str, list[float]] = {name: [] for name in servers}
    calls: dict[str, list[int]] = {name: [] for name in servers}
    for _ in range(rounds):
        for name, server in servers.items():
            before = server.stats.model_calls
            start = time.perf_counter()
            _send_all(server.url, bodies)
            wall[name].append(time.perf_counter() - start)
            calls[name].append(server.stats.model_calls - before)
    lone: dict[str, list[float]] = {name: [] for name in servers}
    with httpx.Client(timeout=600) as client:
        for body in bodies[:LONE]:
            for name, server in servers.items():
                start = time.perf_counter()
                assert client.post(server.url + "/v1/judge", json=body).status_code == 200
                lone[name].append(time.perf_counter() - start)
    windowed = next(name for name in servers if name != "no window")
    benchmark.pedantic(_send_all, args=(servers[windowed].url, bodies), rounds=1, iterations=1)

    per_second = {name: REQUESTS / statistics.median(v) for name, v in wall.items()}
    ratio = per_second[windowed] / per_second["no window"]
    print(f"\n[unireward serve, {REQUESTS} single-item pairwise requests, {CONCURRENCY} concurrent clients, "
          f"generative head, batch size 16, tiny Qwen2-VL on the CPU, one torch thread, {rounds} rounds]")
    for name in servers:
        print(f"  {name}: {per_second[name]:.1f} requests/s (median of rounds; best "
              f"{REQUESTS / min(wall[name]):.1f}), head calls per round {statistics.median(calls[name]):.0f}; "
              f"a lone request {1000 * statistics.median(lone[name]):.0f} ms")
    print(f"  window vs no window: {ratio:.2f}x")
    benchmark.extra_info.update({f"requests_per_s_{name.replace(' ', '_')}": round(v, 2)
                                 for name, v in per_second.items()})
    benchmark.extra_info.update({f"lone_request_ms_{name.replace(' ', '_')}": round(1000 * statistics.median(v), 1)
                                 for name, v in lone.items()})
    benchmark.extra_info.update(ratio_window_vs_none=round(ratio, 2), requests=REQUESTS, concurrency=CONCURRENCY,
                                head_calls={name: statistics.median(v) for name, v in calls.items()})
