"""The ``openai`` backend against a real ``transformers serve`` (a subprocess on 127.0.0.1, CPU, offline)
running the trained tiny judge: the answers equal the in-process ``transformers`` backend's, and what the
server cannot do (log-probabilities: it refuses vLLM's fields with 422) is refused before a job starts."""

from __future__ import annotations

import json
import shutil

import pytest

from unireward_sdk.cli import main
from unireward_sdk.errors import CapabilityError

PAIRWISE = "image_generation.pairwise_rank.qwen_v1"
POINTWISE = "image_generation.pointwise_score.qwen_v1"


def _openai(registry, server, **options):
    # transformers serve is pinned to the folder it serves: requests name it as their model
    return registry.backend("openai", base_url=server.base_url, model=server.model, **options)


def _image_head(registry, backend):
    return registry.reward_head("generative", backend=backend, task="image_generation", registry=registry,
                                template=PAIRWISE, pointwise_template=POINTWISE)


def test_image_verdicts_and_scores_equal_in_process(registry, served_backend, transformers_serve, colour_items):
    pairwise, pointwise = colour_items
    pairs, points = [item for item, _ in pairwise], [item for item, _ in pointwise]
    local = _image_head(registry, served_backend)
    served = _image_head(registry, _openai(registry, transformers_serve, max_concurrency=2))
    want_v, got_v = local.judge_pairwise(pairs), served.judge_pairwise(pairs)
    assert [(v.winner, v.raw, v.status) for v in got_v] == [(v.winner, v.raw, v.status) for v in want_v]
    assert [v.winner for v in got_v] == [winner for _, winner in pairwise]  # the trained judge really decides
    want_s, got_s = local.score_pointwise(points), served.score_pointwise(points)
    assert [(s.value, s.raw) for s in got_s] == [(s.value, s.raw) for s in want_s]
    assert [s.value for s in got_s] == [score for _, score in pointwise]


class _FramesAsImages:
    """The in-process backend shown each video as its frames, one image each: what the ``frames`` transport
    gives a server, so the two must agree exactly."""

    def __init__(self, backend):
        self._backend = backend

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def generate(self, requests):
        from unireward_sdk.interfaces import JudgeRequest

        def as_images(request):
            parts = []
            for kind, value in request.parts:
                parts.extend([("image", frame) for frame in value] if kind == "video" else [(kind, value)])
            return JudgeRequest(parts, template_id=request.template_id, max_new_tokens=request.max_new_tokens,
                                item_id=request.item_id)

        return self._backend.generate([as_images(r) for r in requests])


def _video_items(mp4_videos):
    from unireward_sdk.records import Candidate, JudgeItem

    def candidate(colour):
        return Candidate(colour, "video", path=str(mp4_videos[colour]))

    pairs = [JudgeItem(id=f"{a}-{b}", task="video_generation", prompt="a red bar sweeping across",
                       candidates=[candidate(a), candidate(b)]) for a, b in (("red", "blue"), ("blue", "red"))]
    points = [JudgeItem(id=c, task="video_generation", prompt="a red bar sweeping across", candidates=[candidate(c)])
              for c in ("red", "blue")]
    return pairs, points


def test_video_frames_through_the_server_equal_in_process(registry, served_backend, transformers_serve, mp4_videos):
    from unireward_sdk.media import MediaCache, VideoSampling

    pairs, points = _video_items(mp4_videos)

    def head(backend):
        return registry.reward_head("generative", backend=backend, task="video_generation", registry=registry,
                                    media=MediaCache(registry=registry, video_policy=VideoSampling(frames=4)))

    local = head(_FramesAsImages(served_backend))
    served = head(_openai(registry, transformers_serve, video_transport="frames"))
    want_v, got_v = local.judge_pairwise(pairs), served.judge_pairwise(pairs)
    assert [(v.winner, v.raw, v.status) for v in got_v] == [(v.winner, v.raw, v.status) for v in want_v]
    assert all(v.raw for v in got_v)  # the judge wrote something: equal texts, not two empty answers
    want_s, got_s = local.score_pointwise(points), served.score_pointwise(points)
    assert [(s.value, s.raw, s.status) for s in got_s] == [(s.value, s.raw, s.status) for s in want_s]


def test_a_video_part_fails_on_transformers_serve_as_a_value(registry, transformers_serve, mp4_videos):
    # transformers serve reads a video_url only from http(s) or its own disk, not base64: the item fails,
    # with the server's status, and the job goes on (hence the "frames" default)
    from unireward_sdk.media import MediaCache, VideoSampling

    pairs, _ = _video_items(mp4_videos)
    backend = _openai(registry, transformers_serve, video_transport="video_url", max_retries=0)
    head = registry.reward_head("generative", backend=backend, task="video_generation", registry=registry,
                                media=MediaCache(registry=registry, video_policy=VideoSampling(frames=4)))
    verdicts = head.judge_pairwise(pairs)
    assert [v.status for v in verdicts] == ["backend_error"] * len(pairs), [v.error for v in verdicts]
    assert all("HTTP 500" in v.error and transformers_serve.base_url in v.error for v in verdicts), [
        v.error for v in verdicts]


def test_pair_job_through_transformers_serve_equals_in_process(tmp_path, registry, trained_qwen2_vl,
                                                               transformers_serve, colour_images):
    from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig

    data = tmp_path / "data"
    data.mkdir()
    for colour, path in colour_images.items():
        shutil.copy(path, data / f"{colour}.png")
    line = {"id": "p0", "prompt": "a red square", "candidates": [f"{c}.png" for c in ("blue", "red", "green")]}
    (data / "prompts.jsonl").write_text(json.dumps(line) + "\n")

    def pairs(name, **config):
        cfg = PairJobConfig(manifest=str(data / "prompts.jsonl"), output=str(tmp_path / name), task="image_generation",
                            head="generative", progress=False, **config)
        summary = PairJob(cfg, registry=registry).run()
        kept = PairDataset(tmp_path / name).pairs()
        return summary, [(p.chosen.id, p.rejected.id, [v.winner for v in p.verdicts]) for p in kept]

    local_summary, local = pairs("local", model=str(trained_qwen2_vl), backend_options={"device": "cpu"})
    served_summary, served = pairs("served", backend="openai", model=transformers_serve.model,
                                   backend_options={"base_url": transformers_serve.base_url})
    assert served == local and local
    assert served_summary["pairs_kept"] == local_summary["pairs_kept"] >= 1


# --- what transformers serve cannot do is refused, naming both sides, before anything starts -----------


def test_the_fast_head_is_refused_against_transformers_serve(registry, transformers_serve):
    options = {"base_url": transformers_serve.base_url, "model": transformers_serve.model}
    registry.check_head_backend("generative", "openai", options)  # generation is fine
    with pytest.raises(CapabilityError) as refused:
        registry.check_head_backend("fast", "openai", options)
    message = str(refused.value)
    assert "reward head 'fast'" in message and "backend 'openai'" in message
    assert transformers_serve.base_url in message and "HTTP 422" in message
    assert "Unexpected fields in the request" in message  # the server's own words
    backend = _openai(registry, transformers_serve)  # "auto" probes: no score_continuations
    assert not hasattr(backend, "score_continuations")


def test_a_fast_pair_job_against_transformers_serve_writes_nothing(tmp_path, registry, transformers_serve,
                                                                   colour_images):
    from unireward_sdk.pairs import PairJobConfig

    manifest = tmp_path / "prompts.jsonl"
    line = {"id": "p0", "prompt": "a red square", "candidates": [str(p) for p in colour_images.values()]}
    manifest.write_text(json.dumps(line) + "\n")
    with pytest.raises(CapabilityError, match="reward head 'fast'.*score_continuations.*HTTP 422"):
        PairJobConfig(manifest=str(manifest), output=str(tmp_path / "out"), task="image_generation", head="fast",
                      backend="openai", model=transformers_serve.model, allow_outside=True,
                      backend_options={"base_url": transformers_serve.base_url})
    assert not (tmp_path / "out").exists()


def test_unireward_score_with_the_fast_head_is_refused(capsys, monkeypatch, registry, transformers_serve,
                                                       colour_images):
    monkeypatch.setattr("unireward_sdk.registry._default", registry)
    argv = ["score", "--backend", "openai", "--model", transformers_serve.model, "--head", "fast",
            "--backend-option", f"base_url={transformers_serve.base_url}", "--task", "image_generation",
            "--mode", "pointwise", "--prompt", "a red square", "--media", str(colour_images["red"])]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "reward head 'fast'" in err and transformers_serve.base_url in err and "HTTP 422" in err
    # the generative head through the same command answers
    argv[argv.index("fast")] = "generative"
    assert main(argv) == 0
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]
    assert line["status"] == "ok" and line["value"] == 5
