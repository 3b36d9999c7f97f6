"""`unireward serve` over HTTP: results equal the head's, concurrent requests share model calls, a bearer
token is required when set, paths outside the media root are refused, bodies over the limit too."""

from __future__ import annotations

import argparse
import base64
import shutil
from concurrent.futures import ThreadPoolExecutor

import pytest

httpx = pytest.importorskip("httpx")

PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
POINTWISE = "image_generation.pointwise_score.qwen_v1"


def _args(**overrides):
    from unireward_builtins.serving.command import configure

    parser = argparse.ArgumentParser()
    configure(parser)
    argv = ["--task", "image_generation", "--port", "0", "--template", PAIRWISE, "--pointwise-template", POINTWISE]
    for key, value in overrides.items():
        argv += [f"--{key.replace('_', '-')}"] + ([] if value is True else [str(value)])
    return parser.parse_args(argv)


@pytest.fixture
def media_root(tmp_path, colour_images):
    root = tmp_path / "media"
    root.mkdir()
    for colour, path in colour_images.items():
        shutil.copy(path, root / f"{colour}.png")
    return root


@pytest.fixture
def start_server(registry, trained_qwen2_vl):
    from unireward_builtins.serving.command import build_server

    servers = []

    def start(**overrides):
        servers.append(build_server(_args(model=str(trained_qwen2_vl), **overrides), registry).start())
        return servers[-1]

    yield start
    for server in servers:
        server.close()


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
