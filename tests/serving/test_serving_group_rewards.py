"""Group rewards from `unireward serve` over HTTP: the endpoint gives the SDK's win rates, with per-candidate
failures; trl's and verl's reward functions built on the client give what the in-process head gives."""

from __future__ import annotations

import base64

import pytest

httpx = pytest.importorskip("httpx")

PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
POINTWISE = "image_generation.pointwise_score.qwen_v1"


@pytest.fixture
def local_head(served_backend, registry):
    return registry.reward_head("generative", backend=served_backend, task="image_generation", registry=registry,
                                template=PAIRWISE, pointwise_template=POINTWISE)


def _in_process_rewards(head, prompts, completions):
    from unireward_sdk.judging import grpo_reward_function
    from unireward_sdk.records import Candidate, JudgeItem

    def make_item(prompt, a, b, *, item_id, extras):
        return JudgeItem(id=item_id, task="image_generation", prompt=prompt,
                         candidates=[Candidate("a", "image", path=a), Candidate("b", "image", path=b)])

    return grpo_reward_function(head, "image_generation", make_item=make_item)(prompts, completions)


def _image(colour):
    return {"id": colour, "modality": "image", "path": f"{colour}.png"}


def test_group_rewards_endpoint_gives_the_sdk_win_rates(start_server, media_root, local_head):
    server = start_server(media_root=media_root)
    groups = [{"id": "g0", "prompt": "a red square", "candidates": [_image(c) for c in ("blue", "red", "green")]},
              {"id": "g1", "prompt": "a red square", "candidates": [_image(c) for c in ("red", "blue")]}]
    answer = httpx.post(server.url + "/v1/group_rewards", json={"groups": groups}, timeout=60)
    assert answer.status_code == 200, answer.text
    got = answer.json()["groups"]
    paths = {c: str(media_root / f"{c}.png") for c in ("blue", "red", "green")}
    want = (_in_process_rewards(local_head, ["a red square"] * 3, [paths["blue"], paths["red"], paths["green"]])
            + _in_process_rewards(local_head, ["a red square"] * 2, [paths["red"], paths["blue"]]))
    assert [g["id"] for g in got] == ["g0", "g1"]
    assert got[0]["rewards"] + got[1]["rewards"] == want
    assert got[0]["rewards"][1] == max(got[0]["rewards"])  # the red square wins its group
    assert [c["id"] for c in got[0]["candidates"]] == ["blue", "red", "green"]
    assert all(c["status"] == "ok" and c["games"] == 2 and c["failed_games"] == 0 for c in got[0]["candidates"])
    assert [v["item_id"] for v in got[0]["verdicts"]] == ["g0/0-1", "g0/0-2", "g0/1-2"]
    health = httpx.get(server.url + "/health").json()
    assert (health["requests"], health["items"]) == (1, 4)  # one request: both groups' 3 + 1 pairs


def test_a_candidate_the_judge_cannot_read_is_a_failure_value(start_server, media_root):
    server = start_server(media_root=media_root)
    broken = {"id": "broken", "modality": "image", "data": base64.b64encode(b"not an image").decode()}
    group = {"prompt": "a red square", "candidates": [_image("red"), broken, _image("blue")]}
    answer = httpx.post(server.url + "/v1/group_rewards", json={"groups": [group]}, timeout=60)
    assert answer.status_code == 200, answer.text
    (got,) = answer.json()["groups"]
    red, bad, blue = got["candidates"]
    assert bad["reward"] is None and bad["status"] == "failed" and bad["failed_games"] == 2 and bad["error"]
    assert got["rewards"][1] is None
    # the others' games against it count 0.5 each (no evidence either way), their game together counts
    assert (red["status"], red["failed_games"], red["reward"]) == ("ok", 1, 0.75)
    assert (blue["status"], blue["failed_games"], blue["reward"]) == ("ok", 1, 0.25)


def test_trl_group_reward_function_end_to_end(start_server, media_root, local_head, monkeypatch):
    from unireward_builtins.serving.client import RewardClient
    from unireward_builtins.serving.trl_reward import group_reward_function
    from unireward_sdk.records import Candidate

    monkeypatch.setenv("SERVE_TOKEN", "t0ken")
    server = start_server(media_root=media_root, token_env="SERVE_TOKEN")

    def image(completion, *, candidate_id, extras):
        return Candidate(candidate_id, "image", path=completion)

    prompts = ["a red square"] * 3 + ["a lone prompt"]
    completions = [str(media_root / f"{c}.png") for c in ("green", "blue", "red", "red")]
    want = _in_process_rewards(local_head, prompts, completions)
    for inline in (False, True):
        client = RewardClient(server.url, token_env="SERVE_TOKEN", inline=inline)
        reward = group_reward_function(client, make_candidate=image)
        assert reward(prompts, completions) == want
        assert want[3] is None and want[2] == max(want[:3])  # alone in its group: no reward
        assert [len(v) for v in reward.last_verdicts] == [3]
        client.close()
    requests = httpx.get(server.url + "/health", headers={"Authorization": "Bearer t0ken"}).json()["requests"]
    assert requests == 2  # one /v1/group_rewards request per trainer step


def test_verl_reward_functions_end_to_end(start_server, media_root, local_head, monkeypatch):
    from unireward_builtins.serving import verl_reward
    from unireward_sdk.errors import ConfigError
    from unireward_sdk.records import Candidate, JudgeItem

    server = start_server(media_root=media_root)
    monkeypatch.setenv("UNIREWARD_SERVE_URL", server.url)
    info = {"question": "a red square", "index": 0}
    for colour in ("red", "blue"):
        got = verl_reward.compute_score("colours", str(media_root / f"{colour}.png"), None, info, modality="image")
        (want,) = local_head.score_pointwise([JudgeItem(
            id="x", task="image_generation", prompt="a red square",
            candidates=[Candidate("c", "image", path=str(media_root / f"{colour}.png"))])])
        assert got == {"score": want.value, "judge_ok": True, "judge_error": ""}

    solutions = [str(media_root / f"{c}.png") for c in ("blue", "red", "green", "green")]
    infos = [info, info, info, {"question": "another prompt"}]
    got = verl_reward.compute_score_batch(["colours"] * 4, solutions, [None] * 4, infos, modality="image",
                                          failure_score=-1.0)
    want = _in_process_rewards(local_head, [i["question"] for i in infos], solutions)
    assert [g["score"] for g in got[:3]] == want[:3] and all(g["judge_ok"] for g in got[:3])
    assert got[3] == {"score": -1.0, "judge_ok": False,
                      "judge_error": "alone in its group: no other response to the same prompt"}
    with pytest.raises(ConfigError, match="extra_info has no 'question'"):
        verl_reward.compute_score("colours", solutions[0], None, {"prompt": "a red square"}, modality="image")


def test_a_group_request_too_large_to_judge_is_refused_before_any_judging(start_server, media_root):
    # 12 candidates are 66 pairwise judgments; with --max-batch 1 the server takes at most 64 per request
    server = start_server(media_root=media_root, max_batch=1)
    group = {"prompt": "a red square", "candidates": [{"id": str(i), "modality": "text", "text": f"answer {i}"}
                                                       for i in range(12)]}
    answer = httpx.post(server.url + "/v1/group_rewards", json={"groups": [group]}, timeout=60)
    assert answer.status_code == 413, answer.text
    assert "66 pairwise judgments" in answer.json()["error"]["message"]
    assert httpx.get(server.url + "/health").json()["items"] == 0
