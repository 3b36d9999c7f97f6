"""The pair job's config: stages as a list with options, old keys refused, paths, checks before any output."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs
import pytest
from pairs_helpers import cli, fake_job_keys, generation_manifest, ranking, understanding_manifest, write_config

from unireward_sdk import CandidateGroup, CapabilityError, ConfigError, DroppedPrompt, FilterSpec, RewardHeadSpec
from unireward_sdk.host import PluginHost
from unireward_sdk.options import Option
from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig
from unireward_sdk.registry import Registry
from unireward_sdk.testing import spec_plugin
from unireward_sdk.testing.filter import HashJudge


class DropAll:
    """A third-party stage with one option: drops every prompt, giving ``reason`` as the reason."""

    def __init__(self, reason: str = "dropped_by_plugin"):
        self.reason = reason

    def apply(self, groups: Sequence[CandidateGroup], judge) -> list[CandidateGroup]:
        return [attrs.evolve(g, pair=None, dropped=DroppedPrompt(g.prompt_id, self.reason, detail="every prompt"))
                for g in groups]


def model_free_head(*, backend, **_wiring):
    assert backend is None, "a head whose spec needs no backend is built without one"
    return HashJudge()


@pytest.fixture(scope="module")
def registry():
    host = PluginHost.load(entry_points=[])
    ok = host.register(spec_plugin(
        FilterSpec(name="drop_all", factory=DropAll, options=(Option("reason", str, default="dropped_by_plugin"),)),
        RewardHeadSpec(name="rule", factory=model_free_head, needs_backend=False),
        RewardHeadSpec(name="pairwise_only", factory=model_free_head, modes=("pairwise",), needs_backend=False),
    ), name="third_party")
    assert ok, host.failures
    return Registry.from_host(host)


def _keys(tmp_path, **extra):
    manifest = understanding_manifest(tmp_path / "data", prompts=4)
    return fake_job_keys(manifest, tmp_path / "out", **extra)


def test_default_stages_are_the_papers_two():
    cfg = PairJobConfig(manifest="m.jsonl", output="out", task="image_generation", model="some/judge")
    assert [(s.name, dict(s.options)) for s in cfg.filters] == [("pair_ranking", {}), ("point_sifting", {})]
    assert cfg.to_dict()["filters"] == [{"name": "pair_ranking", "options": {}},
                                        {"name": "point_sifting", "options": {}}]
    assert cfg.pipeline.task == "image_generation" and [s.name for s in cfg.pipeline.filters] == [
        "pair_ranking", "point_sifting"]


@pytest.mark.parametrize("old, new", [
    ("on_tie", 'name = "pair_ranking", options = {on_tie'), ("strategy", 'options = {strategy'),
    ("margin", 'name = "margin", options = {threshold'), ("swap_check", 'name = "swap_consistency"'),
    ("extra_filters", "entries of filters"),
])
def test_old_top_level_keys_are_refused_naming_the_new_form(tmp_path, old, new):
    keys = _keys(tmp_path)
    keys[old] = ["x"] if old == "extra_filters" else 1.0 if old == "margin" else True if old == "swap_check" else "tie"
    path = write_config(tmp_path / "job.toml", **keys)
    with pytest.raises(ConfigError, match=f"'{old}' is now") as info:
        PairJobConfig.from_toml(path)
    assert new in str(info.value) and info.value.who == str(path)


def test_unknown_key_gets_a_did_you_mean(tmp_path):
    with pytest.raises(ConfigError, match="Did you mean 'filters'"):
        PairJobConfig.from_mapping({"pairs": {**_keys(tmp_path), "filtres": []}})


def test_relative_paths_resolve_once_against_the_files_folder(tmp_path, monkeypatch):
    job_dir = tmp_path / "jobs"
    generation_manifest(job_dir / "data", prompts=1, n=2)
    (job_dir / "judge").mkdir()  # a local judge folder next to the config
    path = write_config(job_dir / "job.toml", manifest="data/prompts.jsonl", output="../out", task="image_generation",
                        model="judge")
    monkeypatch.chdir(tmp_path)  # not the config's folder
    cfg = PairJobConfig.from_toml(path)
    assert cfg.manifest == str(job_dir / "data" / "prompts.jsonl") and cfg.output == str(tmp_path / "out")
    assert cfg.model == str(job_dir / "judge")
    # once: a copy does not resolve again; a name with no folder next to the config stays a hub id
    assert cfg.evolve(seed=1).manifest == cfg.manifest
    hub = write_config(job_dir / "hub.toml", manifest="data/prompts.jsonl", output="out", task="image_generation",
                       model="org/judge-7b")
    assert PairJobConfig.from_toml(hub).model == "org/judge-7b"


def test_a_filters_options_reach_it(tmp_path, registry):
    cfg = PairJobConfig(**_keys(tmp_path, filters=[*ranking(), {"name": "drop_all", "options": {"reason": "grid"}}]),
                        registry=registry)
    summary = PairJob(cfg).run()
    assert summary["dropped"] == {"grid": 4}
    assert {d.reason for d in PairDataset(cfg.output).dropped()} == {"grid"}


def test_a_bad_filter_option_is_refused_when_the_config_is_built(tmp_path, registry):
    with pytest.raises(ConfigError, match="Did you mean 'reason'") as info:
        PairJobConfig(**_keys(tmp_path, filters=[{"name": "drop_all", "options": {"reasn": "x"}}]), registry=registry)
    assert "filter 'drop_all'" in str(info.value)
    with pytest.raises(ConfigError, match="must be str"):
        PairJobConfig(**_keys(tmp_path, filters=[{"name": "drop_all", "options": {"reason": 3}}]), registry=registry)
    assert not (tmp_path / "out").exists()


def test_a_stage_is_written_name_and_options_only(tmp_path):
    with pytest.raises(ConfigError, match="move threshold into options"):
        PairJobConfig(**_keys(tmp_path, filters=[{"name": "margin", "threshold": 1.0}]))


def test_model_free_head_needs_no_model(tmp_path, registry):
    keys = {k: v for k, v in _keys(tmp_path).items() if k not in ("judge_factory", "head_options")}
    with pytest.raises(ConfigError, match="no judge is configured"):
        PairJobConfig(**keys, registry=registry)  # the default head needs a model
    cfg = PairJobConfig(**keys, head="rule", registry=registry)
    assert cfg.model is None
    summary = PairJob(cfg).run()
    assert summary["prompts_seen"] == 4 and summary["pairs_kept"] > 0


def test_a_head_that_cannot_serve_the_stages_is_refused_at_construction(tmp_path, registry):
    keys = {k: v for k, v in _keys(tmp_path).items() if k not in ("judge_factory", "head_options")}
    with pytest.raises(CapabilityError, match="does not support pointwise judging"):
        PairJobConfig(**keys, head="pairwise_only", registry=registry)


@pytest.mark.parametrize("edit, message", [
    ({"template": "video_generation.pairwise_rank.data_construction"}, "is for task 'video_generation'"),
    ({"filters": ranking(strategy="bogus")}, "option 'strategy' must be one of"),
])
def test_cli_refuses_before_writing_anything(tmp_path, edit, message):
    manifest = generation_manifest(tmp_path / "data", prompts=2, n=2)
    keys = fake_job_keys(manifest, tmp_path / "out", task="image_generation", **edit)
    done = cli(["pairs", "--config", str(write_config(tmp_path / "job.toml", **keys)), "--no-progress"])
    assert done.returncode == 2 and message in done.stderr, done.stderr  # bad usage
    assert not Path(tmp_path / "out").exists()
