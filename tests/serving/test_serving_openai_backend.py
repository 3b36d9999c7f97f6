"""The ``openai`` backend against real HTTP servers on 127.0.0.1: the same verdicts and scores as the
in-process judge, capabilities that follow the server, and failures that become values."""

from __future__ import annotations

import math
import socket

import pytest

from unireward_builtins.backends.openai_http import ServedJudgeError
from unireward_sdk.errors import CapabilityError, ConfigError
from unireward_sdk.records import ParseStatus

PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
POINTWISE = "image_generation.pointwise_score.qwen_v1"


def _openai(registry, server_or_url, **options):
    url = server_or_url if isinstance(server_or_url, str) else server_or_url.base_url
    return registry.backend("openai", base_url=url, model="tiny-judge", **options)


def _head(registry, backend, name="generative", **kwargs):
    return registry.reward_head(name, backend=backend, task="image_generation", registry=registry,
                                template=PAIRWISE, pointwise_template=POINTWISE, **kwargs)


def _items(colour_items):
    pairwise, pointwise = colour_items
    return [item for item, _ in pairwise], [item for item, _ in pointwise]


# --- the same answers as in-process ---------------------------------------------------------------


def test_generative_verdicts_and_scores_equal_in_process(registry, served_backend, judge_server, colour_items):
    pairs, points = _items(colour_items)
    local = _head(registry, served_backend)
    served = _head(registry, _openai(registry, judge_server, logprobs=False, max_concurrency=4))
    want_v, got_v = local.judge_pairwise(pairs), served.judge_pairwise(pairs)
    assert [(v.winner, v.raw, v.status) for v in got_v] == [(v.winner, v.raw, v.status) for v in want_v]
    assert {v.winner for v in want_v} >= {"A", "B"}  # the trained judge really decides
    want_s, got_s = local.score_pointwise(points), served.score_pointwise(points)
    assert [(s.value, s.raw) for s in got_s] == [(s.value, s.raw) for s in want_s]
    assert all(s.value is not None for s in got_s)
    assert all(v.provenance.checkpoint == "tiny-judge" for v in got_v)


def test_fast_head_through_logprobs_equals_in_process(registry, served_backend, judge_server, colour_items):
    pairs, points = _items(colour_items)
    backend = _openai(registry, judge_server)  # "auto": the probe finds log-probabilities
    assert hasattr(backend, "score_continuations")
    local, served = _head(registry, served_backend, "fast"), _head(registry, backend, "fast")
    for want, got in zip(local.judge_pairwise(pairs), served.judge_pairwise(pairs)):
        assert got.winner == want.winner, (got, want)
        for label, p in want.probabilities.items():
            assert math.isclose(got.probabilities[label], p, rel_tol=1e-3, abs_tol=1e-5), (label, got, want)
        assert got.provenance.extra["readout_method"].startswith("top_logprobs")
    for want, got in zip(local.score_pointwise(points), served.score_pointwise(points)):
        assert math.isclose(got.value, want.value, rel_tol=1e-3), (got, want)


def test_fast_head_refused_without_logprobs(registry, start_judge_server):
    # like `transformers serve`: the vLLM fields are refused with 422, so the probe says no
    server = start_judge_server(logprobs=False)
    backend = _openai(registry, server)
    assert not hasattr(backend, "score_continuations")
    assert any(r["body"].get("continue_final_message") for r in server.requests)  # it did probe
    with pytest.raises(CapabilityError, match="score_continuations"):
        _head(registry, backend, "fast")
    sent = len(server.requests)
    told = _openai(registry, server, logprobs=False)  # told, so no probe
    assert len(server.requests) == sent
    with pytest.raises(CapabilityError, match="score_continuations"):
        _head(registry, told, "fast")


def test_generation_sends_only_standard_fields(registry, judge_server, colour_items):
    pairs, _ = _items(colour_items)
    start = len(judge_server.requests)
    _head(registry, _openai(registry, judge_server, logprobs=False)).judge_pairwise(pairs[:1])
    body = judge_server.requests[start]["body"]
    assert set(body) == {"model", "messages", "max_tokens", "temperature"}
    assert body["temperature"] == 0.0 and body["model"] == "tiny-judge"
    parts = body["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url", "image_url", "text"]
    assert parts[0]["image_url"]["url"].startswith("data:image/png;base64,")


def test_api_key_comes_from_the_named_variable_and_never_shows(registry, start_judge_server, colour_items, monkeypatch):
    server = start_judge_server(api_key="s3cret-key")
    monkeypatch.setenv("JUDGE_KEY", "s3cret-key")
    backend = _openai(registry, server, api_key_env="JUDGE_KEY", logprobs=False)
    assert "s3cret" not in repr(backend)
    verdicts = _head(registry, backend).judge_pairwise(_items(colour_items)[0][:1])
    assert verdicts[0].status == ParseStatus.OK
    assert server.requests[-1]["auth"] == "Bearer s3cret-key"
    wrong = _head(registry, _openai(registry, server, logprobs=False)).judge_pairwise(_items(colour_items)[0][:1])
    assert wrong[0].status == ParseStatus.BACKEND_ERROR and "HTTP 401: invalid API key" in wrong[0].error
    monkeypatch.delenv("JUDGE_KEY")
    with pytest.raises(ConfigError, match="JUDGE_KEY"):
        _openai(registry, server, api_key_env="JUDGE_KEY", logprobs=False)


def test_base_urls_are_used_round_robin(registry, fault_server):
    one, two = fault_server(["ok"]), fault_server(["ok"])
    backend = registry.backend("openai", base_url=[one.base_url, two.base_url], model="m", logprobs=False)
    from unireward_sdk.interfaces import JudgeRequest

    backend.generate([JudgeRequest([("text", f"q{i}")]) for i in range(4)])
    assert len(one.requests) == 2 and len(two.requests) == 2


def test_options_are_checked(registry):
    with pytest.raises(ConfigError, match="base_url"):
        registry.backend("openai", model="m", base_url="127.0.0.1:8000")
    with pytest.raises(ConfigError, match="model"):
        registry.backend("openai", base_url="http://127.0.0.1:9/v1", logprobs=False)
    with pytest.raises(ConfigError, match="logprobs"):
        registry.backend("openai", base_url="http://127.0.0.1:9/v1", model="m", logprobs="maybe")
    with pytest.raises(ConfigError, match="max_concurrency"):
        registry.backend("openai", base_url="http://127.0.0.1:9/v1", model="m", logprobs=False, max_concurrency=0)


# --- failures become values -----------------------------------------------------------------------


def _judge_one(registry, server_or_url, colour_items, **options):
    backend = _openai(registry, server_or_url, logprobs=False, backoff=0.01, **options)
    return _head(registry, backend).judge_pairwise(_items(colour_items)[0][:1])[0], backend


@pytest.mark.parametrize("faults", [["drop"], ["429"], ["500", "429"]])
def test_recoverable_faults_are_retried(registry, fault_server, colour_items, faults):
    server = fault_server(faults + ["ok"])
    verdict, backend = _judge_one(registry, server, colour_items, max_retries=3)
    assert verdict.status == ParseStatus.OK and verdict.winner == "A"
    assert len(server.requests) == len(faults) + 1
    assert backend.client.stats.retries == len(faults)


def test_a_stall_past_the_timeout_is_retried_then_answered(registry, fault_server, colour_items):
    server = fault_server(["stall", "ok"], stall=1.0)
    verdict, backend = _judge_one(registry, server, colour_items, timeout=0.3, max_retries=2)
    assert verdict.status == ParseStatus.OK
    assert backend.client.stats.retries == 1


@pytest.mark.parametrize("action, expected, attempts, status", [
    ("500", "HTTP 500: server says 500 (after 3 attempts)", 3, ParseStatus.BACKEND_ERROR),
    ("429", "HTTP 429: server says 429 (after 3 attempts)", 3, ParseStatus.BACKEND_ERROR),
    # a gateway with nothing behind it, and a server that never answers: the server is unreachable
    ("503 retry-after=0", "HTTP 503: server says 503 (after 3 attempts)", 3, ParseStatus.BACKEND_UNAVAILABLE),
    ("stall", "no answer within the timeout", 3, ParseStatus.BACKEND_UNAVAILABLE),
    ("malformed", "the answer is not JSON", 1, ParseStatus.BACKEND_ERROR),
    ("filter", "content filter", 1, ParseStatus.BACKEND_ERROR),
])
def test_persistent_faults_become_failure_values(registry, fault_server, colour_items, action, expected, attempts,
                                                 status):
    server = fault_server([action], stall=0.6)
    verdict, _ = _judge_one(registry, server, colour_items, max_retries=2, timeout=0.2)
    assert verdict.status == status
    assert expected in verdict.error
    # an HTTP-level failure names the URL; a well-formed answer the server withheld names the item
    assert (server.base_url if action != "filter" else "item red-blue-0") in verdict.error
    assert len(server.requests) == attempts


def test_refused_connection_is_a_value_and_other_items_survive(registry, fault_server, colour_items):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    verdict, _ = _judge_one(registry, dead, colour_items, max_retries=1)
    # nothing listens: the server is unreachable, not the item at fault
    assert verdict.status == ParseStatus.BACKEND_UNAVAILABLE and "connection failed" in verdict.error
    # one bad request in a batch: only its item fails, and the good ones are not sent twice
    server = fault_server(["ok", "500", "ok", "500", "ok"], content="Image 2 is better.")
    backend = _openai(registry, server, logprobs=False, max_retries=0, max_concurrency=1)
    verdicts = _head(registry, backend).judge_pairwise(_items(colour_items)[0][:3])
    assert [v.status for v in verdicts] == [ParseStatus.OK, ParseStatus.BACKEND_ERROR, ParseStatus.OK]
    assert "HTTP 500" in verdicts[1].error
    assert [v.winner for v in verdicts] == ["B", None, "B"]
    assert len(server.requests) == 4  # three, then the failed one again on its own


def test_a_connection_closed_after_a_500_is_not_reused(registry, fault_server):
    # uvicorn (vLLM, SGLang, transformers serve) answers an unhandled exception with 500 and closes the
    # connection a moment later: the next request must not be sent on it (it would be reset unanswered and
    # read as an unreachable server), even with no retries
    from unireward_sdk.interfaces import JudgeRequest

    server = fault_server(["500 then close", "ok"], content="Image 2 is better.")
    backend = _openai(registry, server, logprobs=False, max_retries=0, max_concurrency=1)
    with pytest.raises(ServedJudgeError, match="HTTP 500"):
        backend.generate([JudgeRequest([("text", "first")])])
    assert backend.generate([JudgeRequest([("text", "second")])]) == ["Image 2 is better."]
    assert len(server.requests) == 2


def test_fast_head_failures_become_values(registry, fault_server, colour_items):
    server = fault_server(["500"])
    backend = _openai(registry, server, logprobs=True, max_retries=1, backoff=0.01)
    verdicts = _head(registry, backend, "fast").judge_pairwise(_items(colour_items)[0][:2])
    assert [v.status for v in verdicts] == [ParseStatus.BACKEND_ERROR] * 2
    assert all("HTTP 500: server says 500 (after 2 attempts)" in v.error for v in verdicts)


def test_a_video_is_sent_as_its_sampled_frames(registry, fault_server, mp4_videos):
    from unireward_sdk.media import MediaCache, VideoSampling
    from unireward_sdk.records import Candidate, JudgeItem

    videos = [mp4_videos["red"], mp4_videos["blue"]]
    item = JudgeItem(id="v", task="video_generation", prompt="a red bar",
                     candidates=[Candidate(p.stem, "video", path=str(p)) for p in videos])
    server = fault_server(["ok"], content="Video 1 is better.")
    backend = _openai(registry, server, logprobs=False)
    head = registry.reward_head("generative", backend=backend, task="video_generation", registry=registry,
                                media=MediaCache(registry=registry, video_policy=VideoSampling(frames=4)))
    verdict = head.judge_pairwise([item])[0]
    assert verdict.status == ParseStatus.OK
    parts = server.requests[0]["body"]["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["image_url"] * 8 + ["text"]  # 4 frames of each video, then the text


def test_a_video_part_through_the_server_equals_in_process(registry, served_backend, judge_server, mp4_videos):
    # video_transport="video_url": one video part per clip, the sampled frames as a lossless MP4; the server
    # decodes it and judges a video, as in-process
    from unireward_sdk.media import MediaCache, VideoSampling
    from unireward_sdk.records import Candidate, JudgeItem

    def candidate(colour):
        return Candidate(colour, "video", path=str(mp4_videos[colour]))

    pairs = [JudgeItem(id=f"{a}-{b}", task="video_generation", prompt="a red bar", candidates=[candidate(a), candidate(b)])
             for a, b in (("red", "blue"), ("blue", "red"))]
    points = [JudgeItem(id=c, task="video_generation", prompt="a red bar", candidates=[candidate(c)])
              for c in ("red", "blue")]

    def head(backend):
        return registry.reward_head("generative", backend=backend, task="video_generation", registry=registry,
                                    media=MediaCache(registry=registry, video_policy=VideoSampling(frames=4)))

    start = len(judge_server.requests)
    served = head(_openai(registry, judge_server, logprobs=False, video_transport="video_url"))
    local = head(served_backend)
    want_v, got_v = local.judge_pairwise(pairs), served.judge_pairwise(pairs)
    assert [(v.winner, v.raw, v.status) for v in got_v] == [(v.winner, v.raw, v.status) for v in want_v]
    assert all(v.raw for v in got_v)
    want_s, got_s = local.score_pointwise(points), served.score_pointwise(points)
    assert [(s.value, s.raw, s.status) for s in got_s] == [(s.value, s.raw, s.status) for s in want_s]
    parts = judge_server.requests[start]["body"]["messages"][0]["content"]
    assert [p["type"] for p in parts] == ["video_url", "video_url", "text"]
    assert parts[0]["video_url"]["url"].startswith("data:video/mp4;base64,")


def test_video_transport_is_checked(registry):
    with pytest.raises(ConfigError, match="video_transport"):
        registry.backend("openai", base_url="http://127.0.0.1:9/v1", model="m", logprobs=False,
                         video_transport="gif")


# --- a server that says when to come back ---------------------------------------------------------


@pytest.mark.parametrize("status", ["429", "503"])
def test_retry_after_seconds_is_waited_instead_of_the_backoff(registry, fault_server, colour_items, status):
    server = fault_server([f"{status} retry-after=1", "ok"])
    verdict, backend = _judge_one(registry, server, colour_items, max_retries=2)  # backoff 0.01 s
    assert verdict.status == ParseStatus.OK
    assert backend.client.stats.waited == [1.0]  # the server's second, not 0.01-0.02


def test_retry_after_is_capped_by_max_backoff(registry, fault_server, colour_items):
    from email.utils import format_datetime
    from datetime import datetime, timedelta, timezone

    in_an_hour = format_datetime(datetime.now(timezone.utc) + timedelta(hours=1), usegmt=True)
    server = fault_server([f"429 retry-after={in_an_hour}", "429 retry-after=3600", "ok"])
    verdict, backend = _judge_one(registry, server, colour_items, max_retries=3, max_backoff=0.2)
    assert verdict.status == ParseStatus.OK
    assert backend.client.stats.waited == [0.2, 0.2]
    assert len(server.requests) == 3


def test_a_garbled_retry_after_falls_back_on_the_backoff(registry, fault_server, colour_items):
    server = fault_server(["503 retry-after=soon", "ok"])
    verdict, backend = _judge_one(registry, server, colour_items, max_retries=1)
    assert verdict.status == ParseStatus.OK
    (waited,) = backend.client.stats.waited
    assert 0.01 <= waited < 0.02  # backoff 0.01 s times a jitter in [1, 2)


def test_retry_after_reads_seconds_and_http_dates():
    from datetime import datetime, timezone

    from unireward_builtins.backends.openai_http import retry_after_seconds

    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("7", now=now) == 7.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:28:30 GMT", now=now) == 30.0
    assert retry_after_seconds("Wed, 21 Oct 2026 07:00:00 GMT", now=now) == 0.0  # already past
    assert retry_after_seconds("-3", now=now) is None and retry_after_seconds("", now=now) is None
    assert retry_after_seconds(None, now=now) is None


# --- the capability a head needs is checked against the server before a job starts ----------------


def test_pipeline_validation_asks_the_server(registry, judge_server, start_judge_server):
    from unireward_sdk.pipeline import Pipeline

    served = {"base_url": judge_server.base_url}
    Pipeline(task="image_generation", mode="pairwise", head="fast", backend="openai", model="tiny-judge",
             backend_options=served, registry=registry)  # this server returns log-probabilities
    plain = start_judge_server(logprobs=False)
    with pytest.raises(CapabilityError) as refused:
        Pipeline(task="image_generation", mode="pairwise", head="fast", backend="openai", model="tiny-judge",
                 backend_options={"base_url": plain.base_url}, registry=registry)
    message = str(refused.value)
    assert "reward head 'fast'" in message and "backend 'openai'" in message and plain.base_url in message
    assert "HTTP 422" in message
    with pytest.raises(CapabilityError, match="logprobs=false was set"):
        Pipeline(task="image_generation", mode="pairwise", head="fast", backend="openai", model="tiny-judge",
                 backend_options={**served, "logprobs": False}, registry=registry)
    sent = len(plain.requests)
    Pipeline(task="image_generation", mode="pairwise", head="generative", backend="openai", model="tiny-judge",
             backend_options={"base_url": plain.base_url}, registry=registry)
    assert len(plain.requests) == sent  # a generating head needs no probe
