"""The component contract: capability protocols, head needs against backend capabilities (specs and
objects), model-free heads without --model, option tables, the trainable backend for judge training."""

from __future__ import annotations

import json
import os

import pytest

import unireward_sdk
from unireward_sdk import (
    FEATURES,
    GENERATE,
    SCORE_CONTINUATIONS,
    TRAINABLE,
    BackendSpec,
    CapabilityError,
    ConfigError,
    ContinuationScores,
    JudgeHeadBase,
    MediaError,
    Option,
    Pipeline,
    Registry,
    RewardHeadSpec,
    Score,
    judging_mode,
)
from unireward_sdk.cli import main
from unireward_sdk.host import PluginHost
from unireward_sdk.interfaces import ContinuationScorer, FeatureExtractor, TextGenerator, missing_capabilities
from unireward_sdk.settings import PluginSettings
from unireward_sdk.testing import spec_plugin
from unireward_sdk.training.config import JudgeTrainingConfig
from unireward_sdk.training.runtime import trainable_backend_name


class FileSizeHead(JudgeHeadBase):
    """A model-free head: the score is the candidate file's size in bytes (a missing file fails its item)."""

    name = "file_size"
    modes = ("pointwise",)
    needs = ()
    renders_requests = False

    def _run(self, mode, template_id, template, items, item_ids):
        out = []
        for item, item_id in zip(items, item_ids):
            path = item.candidates[0].path
            if not os.path.exists(path):
                raise MediaError("file not found", who=path)
            out.append(Score(item_id=item_id, value=float(os.path.getsize(path)), raw=""))
        return out


def _size_head(**kwargs):
    return FileSizeHead(**kwargs)


class Echo:
    """A backend object that only generates."""

    name, checkpoint, family = "echo", "echo-1", "qwen_v1"

    def generate(self, requests):
        return ["Image 1 is better."] * len(requests)


@pytest.fixture
def registry():
    host = PluginHost.load(PluginSettings(), entry_points=[])
    host.register(spec_plugin(
        RewardHeadSpec(name="file_size", factory=_size_head, modes=("pointwise",), needs_backend=False,
                       backend_capabilities=(), options=(Option("batch_size", int, default=16),)),
        BackendSpec(name="echo", factory=lambda **kw: Echo(), capabilities=(GENERATE,),
                    options=(Option("checkpoint", str, default=""),)),
    ), name="contract_plugin")
    return Registry(host)


@pytest.fixture
def as_default(monkeypatch, registry):
    monkeypatch.setattr("unireward_sdk.registry._default", registry)
    return registry


# --- the protocols ----------------------------------------------------------------------------------


def test_capability_protocols_check_the_methods_a_head_uses():
    assert isinstance(Echo(), TextGenerator) and not isinstance(Echo(), ContinuationScorer)
    assert not isinstance(Echo(), FeatureExtractor)
    assert missing_capabilities(Echo(), (GENERATE, SCORE_CONTINUATIONS, FEATURES)) == {
        SCORE_CONTINUATIONS: ["score_continuations"], FEATURES: ["last_hidden_states"]}
    scored = ContinuationScores([-1, -2.5], "exact")
    assert scored.logprobs == (-1.0, -2.5) and scored.method == "exact"


def test_judging_mode_is_answered_in_one_place():
    assert judging_mode("pairwise_rank") == "pairwise" and judging_mode("pointwise_multi") == "pointwise"
    assert judging_mode("pointwise_rubric") == "pointwise"  # a plugin's own detailed mode, read by its first word
    assert judging_mode("listwise") == "listwise"  # anything else stays as it is, so comparisons refuse it
    from unireward_sdk import pipeline

    assert pipeline.TEMPLATE_MODES is unireward_sdk.interfaces.TEMPLATE_MODES


def test_the_package_exports_the_contract_without_importing_torch():
    import subprocess
    import sys

    code = "import sys, unireward_sdk; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
    for name in ("JudgeHeadBase", "TextGenerator", "ContinuationScorer", "FeatureExtractor", "TrainableBackend",
                 "Backend", "Task", "Aligner", "Option", "REQUIRED", "GENERATE", "TRAINABLE"):
        assert name in unireward_sdk.__all__ and hasattr(unireward_sdk, name)


# --- needs against capabilities ---------------------------------------------------------------------


def test_builtin_specs_declare_capabilities_and_needs(registry):
    assert set(registry.backend_spec("transformers").capabilities) == {GENERATE, SCORE_CONTINUATIONS, FEATURES,
                                                                       TRAINABLE}
    needs = {name: registry.reward_head_spec(name).backend_capabilities for name in ("generative", "fast", "scalar")}
    assert needs == {"generative": (GENERATE,), "fast": (SCORE_CONTINUATIONS,), "scalar": (FEATURES,)}


def test_pipeline_refuses_a_head_whose_needs_the_backend_lacks(registry):
    Pipeline(task="image_generation", mode="pairwise", head="generative", backend="echo", registry=registry)
    with pytest.raises(CapabilityError) as info:
        Pipeline(task="image_generation", mode="pairwise", head="fast", backend="echo", registry=registry)
    message = str(info.value)
    assert "reward head 'fast' needs a backend with score_continuations" in message
    assert "backend 'echo' offers generate" in message and "transformers" in message  # names one that fits


def test_a_backend_whose_instances_differ_is_asked_before_a_pipeline_starts(registry):
    # a spec may offer a capability only some instances have (a served judge): its probe says, per options
    asked = []

    def probe(needed, options):
        asked.append((needed, dict(options)))
        if SCORE_CONTINUATIONS in needed and options.get("server") == "plain":
            return {SCORE_CONTINUATIONS: "the server at http://plain answered without log-probabilities"}
        return {}

    registry.host.register(spec_plugin(
        BackendSpec(name="served", factory=lambda **kw: Echo(), capabilities=(GENERATE, SCORE_CONTINUATIONS),
                    options=(Option("checkpoint", str, default=""), Option("server", str, default="")), probe=probe),
    ), name="served_plugin")
    # without options only the spec is checked, and nothing is asked
    Pipeline(task="image_generation", mode="pairwise", head="fast", backend="served", registry=registry)
    registry.check_head_backend("fast", "served")
    assert asked == []
    Pipeline(task="image_generation", mode="pairwise", head="fast", backend="served", model="m",
             backend_options={"server": "rich"}, registry=registry)
    assert asked == [((SCORE_CONTINUATIONS,), {"checkpoint": "m", "server": "rich"})]
    with pytest.raises(CapabilityError) as info:
        Pipeline(task="image_generation", mode="pairwise", head="fast", backend="served", model="m",
                 backend_options={"server": "plain"}, registry=registry)
    message = str(info.value)
    assert "reward head 'fast' needs a backend with score_continuations" in message
    assert "backend 'served' as configured" in message and "http://plain answered without" in message
    registry.check_head_backend("generative", "served", {"server": "plain"})  # generating is fine there
    with pytest.raises(ConfigError, match="server"):  # the options are checked against the schema first
        registry.check_head_backend("fast", "served", {"server": 3})


def test_a_model_free_head_needs_no_backend(registry):
    # the backend is not even looked up: a head that needs none fits any pipeline of its task
    Pipeline(task="image_generation", mode="pointwise", head="file_size", backend="nothing", registry=registry)
    registry.check_head_backend("file_size", "echo")


def test_a_backend_object_lacking_a_needed_method_is_refused_at_construction(registry):
    with pytest.raises(CapabilityError) as info:
        registry.reward_head("fast", backend=Echo(), task="image_generation", registry=registry)
    message = str(info.value)
    assert "reward head 'fast'" in message and "backend 'echo'" in message
    assert "score_continuations" in message and "ContinuationScorer" in message
    with pytest.raises(CapabilityError, match="last_hidden_states"):
        registry.reward_head("scalar", backend=Echo(), task="image_generation", registry=registry)
    with pytest.raises(CapabilityError, match="none was given"):
        registry.reward_head("generative", task="image_generation", registry=registry)
    # the generative head needs only generate: Echo is enough
    assert registry.reward_head("generative", backend=Echo(), task="image_generation", registry=registry)


def test_head_options_are_validated_by_their_schema(registry):
    with pytest.raises(ConfigError, match="Did you mean 'batch_size'"):
        registry.reward_head("generative", backend=Echo(), task="image_generation", registry=registry, batchsize=4)
    with pytest.raises(ConfigError, match="one of 'tie', 'fail', 'average'"):
        registry.reward_head("fast", task="image_generation", registry=registry, on_disagreement="coin")
    with pytest.raises(ConfigError, match="Did you mean 'threshold'"):
        registry.filter("margin", treshold=0.5)


# --- the model-free head in the CLI -----------------------------------------------------------------


def test_score_runs_a_model_free_head_without_model(as_default, tmp_path, capsys):
    image = tmp_path / "a.png"
    image.write_bytes(b"\x89PNG" + b"0" * 96)
    missing = tmp_path / "gone.png"
    manifest = tmp_path / "items.jsonl"
    manifest.write_text(json.dumps({"id": "ok", "prompt": "x", "media": ["a.png"]}) + "\n"
                        + json.dumps({"id": "bad", "prompt": "x", "media": ["gone.png"]}) + "\n")
    assert not missing.exists()
    argv = ["score", "--task", "image_generation", "--mode", "pointwise", "--head", "file_size",
            "--manifest", str(manifest)]
    # a missing file is refused with the manifest's other problems, before anything is judged
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "items.jsonl:2: file 'gone.png' does not exist" in captured.err
    manifest.write_text(json.dumps({"id": "ok", "prompt": "x", "media": ["a.png"]}) + "\n")
    assert main(argv) == 0
    captured = capsys.readouterr()
    (ok,) = [json.loads(line) for line in captured.out.splitlines()]
    assert ok["item_id"] == "ok" and ok["value"] == 100.0 and ok["provenance"]["plugin"] == "file_size"
    assert "1/1 items judged (0 failed)" in captured.err


def _two_images(folder) -> None:
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(b"\x89PNG" + b"0" * 96)  # --media files must exist before anything loads


def test_score_still_needs_a_model_for_a_model_head(as_default, tmp_path, capsys):
    _two_images(tmp_path)
    argv = ["score", "--task", "image_generation", "--mode", "pairwise", "--head", "generative",
            "--prompt", "x", "--media", str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert main(argv) != 0
    err = capsys.readouterr().err
    assert "reward head 'generative' judges with a model, and no --model was given" in err and "--model" in err


def test_score_refuses_a_head_the_backend_cannot_serve_before_loading(as_default, tmp_path, capsys):
    _two_images(tmp_path)
    argv = ["score", "--model", "never-loaded", "--backend", "echo", "--task", "image_generation",
            "--mode", "pairwise", "--head", "fast", "--prompt", "x",
            "--media", str(tmp_path / "a.png"), str(tmp_path / "b.png")]
    assert main(argv) != 0
    assert "needs a backend with score_continuations" in capsys.readouterr().err


def test_eval_builds_model_free_heads_without_model(registry):
    import argparse

    from unireward_sdk.cli.eval import build_heads

    args = argparse.Namespace(head="file_size", model=None, backend="transformers", device=None, dtype=None,
                              family=None, batch_size=4, frames=None, template=None, symmetric=False)
    heads = build_heads(args, registry, ["image_generation"], mode="pointwise")
    assert isinstance(heads["image_generation"], FileSizeHead) and heads["image_generation"].backend is None
    args.head = "generative"
    with pytest.raises(ConfigError, match="no --model was given"):
        build_heads(args, registry, ["image_generation"])


# --- plugins --options and the JSON listing ---------------------------------------------------------


def test_plugins_options_prints_a_components_option_table(capsys):
    assert main(["plugins", "--options", "pair_ranking"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("filter 'pair_ranking' (plugin pair_ranking)")
    strategy = next(line for line in out.splitlines() if line.strip().startswith("strategy"))
    assert "str" in strategy and "'disjoint'" in strategy and "'round_robin'" in strategy
    assert main(["plugins", "--options", "transformers", "--json"]) == 0
    [entry] = json.loads(capsys.readouterr().out)
    checkpoint = next(o for o in entry["options"] if o["name"] == "checkpoint")
    assert checkpoint["required"] is True and entry["capabilities"][0] == GENERATE
    assert main(["plugins", "--options", "pair_rankin"]) != 0
    assert "Did you mean 'pair_ranking'?" in capsys.readouterr().err


def test_plugins_json_lists_capabilities_and_needs(capsys):
    assert main(["plugins", "--json"]) == 0
    components = {(c["kind"], c["name"]): c for c in json.loads(capsys.readouterr().out)["components"]}
    assert TRAINABLE in components[("backend", "transformers")]["capabilities"]
    fast = components[("reward_head", "fast")]
    assert fast["needs_backend"] is True and fast["backend_capabilities"] == [SCORE_CONTINUATIONS]
    assert components[("reward_head", "scalar")]["trainable"] is True
    assert components[("filter", "pair_ranking")]["needs"] == ["pairwise"]


# --- judge training asks for the trainable capability -----------------------------------------------


def test_training_picks_the_trainable_backend_and_refuses_others(registry):
    config = JudgeTrainingConfig()
    assert trainable_backend_name(registry, config) == "transformers"
    with pytest.raises(CapabilityError, match=r"backend 'echo' cannot be trained .*\(transformers\)"):
        trainable_backend_name(registry, JudgeTrainingConfig(backend="echo"))
    bare = Registry(PluginHost.load(PluginSettings(), builtins=("unireward_builtins.heads.generative",),
                                    entry_points=[]))
    with pytest.raises(CapabilityError, match="no installed backend has the 'trainable' capability"):
        trainable_backend_name(bare, config)
