"""`unireward score --backend openai` against a loopback server gives the in-process command's lines."""

from __future__ import annotations

import json

import pytest

from unireward_sdk.cli import main


@pytest.fixture(autouse=True)
def _use_test_registry(monkeypatch, registry):
    monkeypatch.setattr("unireward_sdk.registry._default", registry)


def _lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.mark.parametrize("head, mode", [("generative", "pairwise"), ("fast", "pointwise")])
def test_score_through_the_server_equals_in_process(capsys, trained_qwen2_vl, judge_server, colour_images, head, mode):
    media = [str(colour_images["red"]), str(colour_images["blue"])][: 2 if mode == "pairwise" else 1]
    common = ["--task", "image_generation", "--mode", mode, "--head", head, "--prompt", "a red square",
              "--media", *media]
    assert main(["score", "--model", str(trained_qwen2_vl), *common]) == 0
    (local,) = _lines(capsys.readouterr().out)
    served_flags = ["--backend", "openai", "--model", "tiny-judge",
                    "--backend-option", f"base_url={judge_server.base_url}", "--backend-option", "max_retries=0"]
    assert main(["score", *served_flags, *common]) == 0
    (served,) = _lines(capsys.readouterr().out)
    assert served["status"] == local["status"] == "ok"
    if mode == "pairwise":
        assert (served["winner"], served["raw"]) == (local["winner"], local["raw"])
    else:
        assert served["value"] == pytest.approx(local["value"], rel=1e-3)
    assert served["provenance"]["checkpoint"] == "tiny-judge"


def test_a_malformed_backend_option_is_refused(capsys):
    argv = ["score", "--backend", "openai", "--model", "m", "--backend-option", "base_url", "--task",
            "image_generation", "--mode", "pairwise", "--prompt", "p", "--media", "a.png", "b.png"]
    assert main(argv) == 2
    assert "is not KEY=VALUE" in capsys.readouterr().err


def test_serve_refuses_the_fast_head_against_a_server_without_logprobs(capsys, start_judge_server):
    # the server refuses vLLM's fields (as transformers serve does): `unireward serve` says so, naming the
    # server and its 422, before it loads a head or listens
    server = start_judge_server(logprobs=False)
    argv = ["serve", "--task", "image_generation", "--head", "fast", "--backend", "openai", "--model", "tiny-judge",
            "--backend-option", f"base_url={server.base_url}", "--port", "0"]
    assert main(argv) == 2
    error = capsys.readouterr().err
    assert "reward head 'fast' needs a backend with score_continuations" in error
    assert f"the server at {server.base_url}" in error and "HTTP 422" in error
    assert len(server.requests) == 1  # the probe alone: no backend built after the refusal
