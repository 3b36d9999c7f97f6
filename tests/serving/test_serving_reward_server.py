"""`unireward serve` over HTTP (uvicorn on a free loopback port): results equal the head's, concurrent requests
share model calls, a bearer token is required when set, nothing outside the media root is read, bodies over
the limit are refused (declared or streamed), the schema is published, and serving stays an optional extra."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")

PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
POINTWISE = "image_generation.pointwise_score.qwen_v1"


def _pair(a, b, n=0):
    return {"id": f"{a}-{b}-{n}", "prompt": "a red square",
            "candidates": [{"id": a, "modality": "image", "path": f"{a}.png"},
                           {"id": b, "modality": "image", "path": f"{b}.png"}]}


def test_judge_over_http_equals_the_head(start_server, media_root, served_backend, registry):
    server = start_server(media_root=media_root)
    pairs = [_pair("red", "blue"), _pair("blue", "red"), _pair("green", "blue")]
    answer = httpx.post(server.url + "/v1/judge", json={"mode": "pairwise", "items": pairs}, timeout=60)
    assert answer.status_code == 200, answer.text
    got = answer.json()["results"]
    head = registry.reward_head("generative", backend=served_backend, task="image_generation", registry=registry,
                                template=PAIRWISE)
    from unireward_sdk.records import Candidate, JudgeItem

    items = [JudgeItem(id=p["id"], task="image_generation", prompt=p["prompt"],
                       candidates=[Candidate(c["id"], "image", path=str(media_root / c["path"]))
                                   for c in p["candidates"]])
             for p in pairs]
    want = head.judge_pairwise(items)
    assert [(r["item_id"], r["winner"], r["raw"]) for r in got] == [(v.item_id, v.winner, v.raw) for v in want]
    inline = {"id": "inline", "prompt": "a red square", "candidates": [
        {"modality": "image", "data": base64.b64encode((media_root / "red.png").read_bytes()).decode()}]}
    scored = httpx.post(server.url + "/v1/judge", json={"mode": "pointwise", "items": [inline]}, timeout=60).json()
    assert scored["results"][0]["status"] == "ok" and scored["results"][0]["value"] == 5.0
    assert httpx.get(server.url + "/v1/info").json()["checkpoint"] == str(served_backend.checkpoint)


def test_inline_files_leave_no_per_path_record(start_server):
    server = start_server()
    cache = server.service.head.media
    data = base64.b64encode(_png_bytes()).decode()
    item = {"id": "inline", "prompt": "a red square", "candidates": [{"modality": "image", "data": data}]}
    for _ in range(3):  # each request writes the file under a new folder: a new path every time
        answer = httpx.post(server.url + "/v1/judge", json={"mode": "pointwise", "items": [item]}, timeout=60)
        assert answer.status_code == 200, answer.text
    stats = cache.stats
    # the decoded image is kept (one decode, then content hits); the three paths, deleted, are forgotten
    assert (stats.entries, stats.misses, stats.paths) == (1, 1, 0) and not cache.loads


def _png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (220, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_concurrent_requests_share_model_calls(start_server, media_root):
    server = start_server(media_root=media_root, batch_window=0.5)
    body = {"mode": "pairwise", "items": [_pair("red", "blue")]}
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda n: httpx.post(server.url + "/v1/judge", json=body, timeout=60), range(6)))
    assert all(a.status_code == 200 for a in answers)
    assert {a.json()["results"][0]["winner"] for a in answers} == {"A"}
    health = httpx.get(server.url + "/health").json()
    assert health["requests"] == 6 and health["model_calls"] < 6


def test_token_root_and_size_are_enforced(start_server, media_root, monkeypatch):
    monkeypatch.setenv("SERVE_TOKEN", "t0ken")
    server = start_server(media_root=media_root, token_env="SERVE_TOKEN", max_body=4096)
    body = {"mode": "pairwise", "items": [_pair("red", "blue")]}
    assert httpx.post(server.url + "/v1/judge", json=body).status_code == 401
    assert httpx.get(server.url + "/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
    auth = {"Authorization": "Bearer t0ken"}
    assert httpx.post(server.url + "/v1/judge", json=body, headers=auth, timeout=60).status_code == 200
    outside = {"mode": "pairwise", "items": [dict(_pair("red", "blue"), candidates=[
        {"modality": "image", "path": "../../etc/passwd"}, {"modality": "image", "path": "red.png"}])]}
    refused = httpx.post(server.url + "/v1/judge", json=outside, headers=auth)
    assert refused.status_code == 403 and "outside the media root" in refused.json()["error"]["message"]
    big = {"mode": "pairwise", "items": [_pair("red", "blue")] * 100}
    assert httpx.post(server.url + "/v1/judge", json=big, headers=auth).status_code == 413
    wrong_mode = {"mode": "pointwise", "items": [_pair("red", "blue")]}
    answer = httpx.post(server.url + "/v1/judge", json=wrong_mode, headers=auth)
    assert answer.status_code == 400 and "pointwise items have 1" in answer.json()["error"]["message"]
    assert httpx.get(server.url + "/health", headers=auth).json()["model_calls"] == 1


def test_paths_are_refused_without_a_media_root(start_server):
    server = start_server()
    answer = httpx.post(server.url + "/v1/judge", json={"mode": "pairwise", "items": [_pair("red", "blue")]})
    assert answer.status_code == 403 and "reads no paths" in answer.json()["error"]["message"]


def test_client_and_grpo_rewards_end_to_end(start_server, media_root, served_backend, registry, monkeypatch):
    from unireward_builtins.serving.client import RewardClient, ServeRequestError
    from unireward_sdk.judging import grpo_reward_function
    from unireward_sdk.records import Candidate, JudgeItem

    monkeypatch.setenv("SERVE_TOKEN", "t0ken")
    server = start_server(media_root=media_root, token_env="SERVE_TOKEN")

    def make_item(prompt, a, b, *, item_id, extras):
        return JudgeItem(id=item_id, task="image_generation", prompt=prompt,
                         candidates=[Candidate("a", "image", path=a), Candidate("b", "image", path=b)])

    prompts = ["a red square"] * 3
    completions = [str(media_root / f"{c}.png") for c in ("blue", "red", "green")]
    local_head = registry.reward_head("generative", backend=served_backend, task="image_generation",
                                      registry=registry, template=PAIRWISE)
    want = grpo_reward_function(local_head, "image_generation", make_item=make_item)(prompts, completions)
    for inline in (False, True):
        client = RewardClient(server.url, token_env="SERVE_TOKEN", inline=inline)
        got = grpo_reward_function(client, "image_generation", make_item=make_item)(prompts, completions)
        assert got == want and got[1] == max(got)  # the red square wins its group
        client.close()
    with pytest.raises(ServeRequestError, match="401"):
        RewardClient(server.url).info()


def test_nothing_outside_the_media_root_is_read(start_server, media_root, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes((media_root / "red.png").read_bytes())
    (media_root / "link.png").symlink_to(outside)
    server = start_server(media_root=media_root)
    answers = {
        "symlink": dict(_pair("red", "blue"), candidates=[{"modality": "image", "path": "link.png"},
                                                          {"modality": "image", "path": "red.png"}]),
        "absolute": dict(_pair("red", "blue"), candidates=[{"modality": "image", "path": str(outside)},
                                                           {"modality": "image", "path": "red.png"}]),
        "context": dict(_pair("red", "blue"), context=["../secret.png"]),
    }
    for case, item in answers.items():
        answer = httpx.post(server.url + "/v1/judge", json={"mode": "pairwise", "items": [item]})
        assert answer.status_code == 403, case
        assert "outside the media root" in answer.json()["error"]["message"], case
    assert "symbolic link" in httpx.post(server.url + "/v1/judge", json={
        "mode": "pairwise", "items": [answers["symlink"]]}).json()["error"]["message"]
    group = {"groups": [{"prompt": "p", "candidates": [{"modality": "image", "path": "../secret.png"},
                                                       {"modality": "image", "path": "red.png"}]}]}
    assert httpx.post(server.url + "/v1/group_rewards", json=group).status_code == 403
    assert httpx.get(server.url + "/health").json()["model_calls"] == 0


def test_a_streamed_body_is_cut_at_the_limit(start_server, media_root):
    server = start_server(media_root=media_root, max_body=4096)

    def chunks():  # no Content-Length: the server must count as it reads
        yield b'{"mode": "pairwise", "items": ['
        for _ in range(1000):
            yield b'{"candidates": []},'
        yield b"{}]}"

    answer = httpx.post(server.url + "/v1/judge", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and "passed 4096 bytes" in answer.json()["error"]["message"]


def test_the_schema_is_published_and_malformed_requests_are_refused(start_server, monkeypatch):
    monkeypatch.setenv("SERVE_TOKEN", "t0ken")
    server = start_server(token_env="SERVE_TOKEN")
    assert httpx.get(server.url + "/openapi.json").status_code == 401  # no endpoint is exempt
    auth = {"Authorization": "Bearer t0ken"}
    schema = httpx.get(server.url + "/openapi.json", headers=auth).json()
    assert {"/health", "/v1/info", "/v1/judge", "/v1/group_rewards"} <= set(schema["paths"])
    assert {"JudgeRequest", "GroupRewardsRequest", "GroupRewardsResponse"} <= set(schema["components"]["schemas"])
    misspelt = {"mode": "pairwise", "items": [{"prompt": "p", "candidates": [{"modality": "image", "pth": "a.png"}]}]}
    answer = httpx.post(server.url + "/v1/judge", json=misspelt, headers=auth)
    assert answer.status_code == 400 and "pth" in answer.json()["error"]["message"]
    lone = {"groups": [{"prompt": "p", "candidates": [{"modality": "text", "text": "only one"}]}]}
    answer = httpx.post(server.url + "/v1/group_rewards", json=lone, headers=auth)
    assert answer.status_code == 400 and "at least 2" in answer.json()["error"]["message"]
    assert httpx.get(server.url + "/v1/info", headers=auth).json()["auth"] is True


def test_serving_without_fastapi_names_the_extra(monkeypatch, served_backend, registry):
    import sys

    from unireward_builtins.serving.app import create_app
    from unireward_builtins.serving.service import RewardService
    from unireward_sdk.errors import MissingDependencyError

    monkeypatch.setitem(sys.modules, "fastapi", None)  # as if it were not installed
    head = registry.reward_head("generative", backend=served_backend, task="image_generation", registry=registry)
    service = RewardService(head, task="image_generation")
    with pytest.raises(MissingDependencyError, match=r"unireward-sdk\[serve\]"):
        create_app(service)
    service.close()


def test_importing_the_sdk_and_its_commands_loads_no_server():
    import subprocess
    import sys

    code = ("import sys, unireward_sdk; from unireward_sdk.registry import get_registry; "
            "get_registry().command_spec('serve'); "
            "print(sorted(m for m in ('fastapi', 'uvicorn', 'pydantic', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_serve_command_serves_until_interrupted(trained_qwen2_vl, colour_images, tmp_path):
    import os
    import queue
    import re
    import signal
    import subprocess
    import sys
    import threading

    env = dict(os.environ, SERVE_TOKEN="t0ken")
    command = [sys.executable, "-m", "unireward_sdk", "serve", "--task", "image_generation",
               "--model", str(trained_qwen2_vl), "--template", PAIRWISE, "--port", "0", "--token-env", "SERVE_TOKEN"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stderr], daemon=True).start()
    try:
        url = None
        while url is None:
            line = lines.get(timeout=120)
            found = re.search(r"unireward serve: (http://\S+)", line)
            url = found and found.group(1)
        auth = {"Authorization": "Bearer t0ken"}
        assert httpx.get(url + "/health").status_code == 401
        assert httpx.get(url + "/v1/info", headers=auth).json()["task"] == "image_generation"
        inline = [{"modality": "image", "data": base64.b64encode(colour_images[c].read_bytes()).decode()}
                  for c in ("red", "blue")]
        pair = {"mode": "pairwise", "items": [{"prompt": "a red square", "candidates": inline}]}
        answer = httpx.post(url + "/v1/judge", json=pair, headers=auth, timeout=60)
        assert answer.status_code == 200 and answer.json()["results"][0]["winner"] == "A", answer.text
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_a_request_that_timed_out_does_not_stop_the_batcher():
    """A request whose wait timed out cancels its future while the head is busy; the batcher thread must
    go on judging the next requests (it used to die on the cancelled future, and the server hung)."""
    import threading
    from concurrent.futures import CancelledError

    from unireward_builtins.serving.service import Batcher, ServerStats

    release = threading.Event()

    class SlowHead:
        def judge_pairwise(self, items):
            release.wait(10)
            return [f"judged {item}" for item in items]

    batcher = Batcher(SlowHead(), window=0.0, max_batch=8, stats=ServerStats())
    try:
        busy = batcher.submit("pairwise", ["first"])  # the head is now busy with it
        time.sleep(0.2)
        late = batcher.submit("pairwise", ["late"])  # waits in the queue ...
        assert late.cancel()  # ... and its request times out
        release.set()
        assert busy.result(timeout=10) == ["judged first"]
        assert batcher.submit("pairwise", ["next"]).result(timeout=10) == ["judged next"]
        with pytest.raises(CancelledError):
            late.result(timeout=0)
    finally:
        batcher.close()
