"""Pipeline composition and validation, from Python and from TOML, against fake registered components."""

from __future__ import annotations

import pytest

from unireward_sdk import (
    AlignerSpec,
    BackendSpec,
    CapabilityError,
    ConfigError,
    FilterSpec,
    Pipeline,
    Registry,
    RewardHeadSpec,
    TaskSpec,
    TemplateSpec,
    UniRewardError,
    UnknownComponentError,
)
from unireward_sdk.host import PluginHost
from unireward_sdk.testing import spec_plugin


def _template(task, mode):
    return TemplateSpec(name=f"{task}.{mode}.qwen_v1", task=task, mode=mode, family="qwen_v1", factory=lambda: None)


@pytest.fixture(scope="module")
def reg():
    host = PluginHost.load(builtins=("unireward_builtins.modalities.text",), entry_points=[])
    ok = host.register(
        spec_plugin(
            TaskSpec(name="gen", factory=object, modalities=("text",)),
            TaskSpec(name="qa", factory=object, modalities=("text",), modes=("pairwise",)),
            TaskSpec(name="listen", factory=object, modalities=("audio",)),
            RewardHeadSpec(name="generative", factory=object),
            RewardHeadSpec(name="pairwise_only", factory=object, modes=("pairwise",)),
            RewardHeadSpec(name="gen_only", factory=object, tasks=("gen",)),
            BackendSpec(name="transformers", factory=object),
            BackendSpec(name="served", factory=object),
            FilterSpec(name="pair_ranking", factory=object, needs=("pairwise",)),
            FilterSpec(name="point_sifting", factory=object, needs=("pointwise",)),
            _template("gen", "pairwise_rank"),
            _template("gen", "pointwise_score"),
            _template("qa", "pairwise_rank"),
            AlignerSpec(name="gen_dpo", factory=object, tasks=("gen",)),
        ),
        name="fakes",
    )
    assert ok, host.failures
    return Registry.from_host(host)


def test_valid_pipeline_from_python(reg):
    p = Pipeline(task="gen", mode="pairwise", head="generative", template="gen.pairwise_rank.qwen_v1",
                 pointwise_template="gen.pointwise_score.qwen_v1", filters=["pair_ranking", "point_sifting"],
                 aligner="gen_dpo", options={"batch_size": 4}, registry=reg)
    assert [stage.name for stage in p.filters] == ["pair_ranking", "point_sifting"]
    assert p.required_modes() == ("pairwise", "pointwise")
    data = p.to_dict()
    assert "registry" not in data and data["options"] == {"batch_size": 4}
    assert Pipeline.from_dict(data, registry=reg) == p


def test_unknown_task_is_a_config_error_with_a_hint(reg):
    with pytest.raises(ConfigError, match=r"no task named 'gne'\. Did you mean 'gen'\?"):
        Pipeline(task="gne", registry=reg)


@pytest.mark.parametrize("field, value, message", [
    ("head", "generativ", r"no reward head named 'generativ'\. Did you mean 'generative'"),
    ("backend", "transformer", r"no backend named 'transformer'\. Did you mean 'transformers'"),
    ("filters", ("pair_rank",), r"no filter named 'pair_rank'\. Did you mean 'pair_ranking'"),
    ("aligner", "gen-dpo", r"no aligner named 'gen-dpo'\. Did you mean 'gen_dpo'"),
    ("template", "gen.pairwise.qwen_v1", r"no template named 'gen\.pairwise\.qwen_v1'"),
])
def test_unknown_component_names_the_field_value_and_a_hint(reg, field, value, message):
    with pytest.raises(UnknownComponentError, match=message):
        Pipeline(task="gen", mode="pairwise", registry=reg, **{field: value})


def test_head_that_does_not_support_the_mode(reg):
    with pytest.raises(CapabilityError) as info:
        Pipeline(task="gen", mode="pointwise", head="pairwise_only", registry=reg)
    assert "reward head 'pairwise_only' does not support pointwise judging for task 'gen'" in str(info.value)
    assert "It supports modes pairwise" in str(info.value)


def test_head_limited_to_other_tasks(reg):
    with pytest.raises(CapabilityError, match="reward head 'gen_only' does not support pairwise judging for task 'qa'"):
        Pipeline(task="qa", mode="pairwise", head="gen_only", registry=reg)


def test_filters_needs_are_checked_against_the_head(reg):
    Pipeline(task="gen", head="pairwise_only", filters=["pair_ranking"], registry=reg)
    with pytest.raises(CapabilityError, match="does not support pointwise judging"):
        Pipeline(task="gen", head="pairwise_only", filters=["pair_ranking", "point_sifting"], registry=reg)


def test_task_that_does_not_support_the_mode(reg):
    with pytest.raises(CapabilityError, match=r"task 'qa' does not support pointwise judging \(it supports pairwise\)"):
        Pipeline(task="qa", mode="pointwise", registry=reg)


def test_task_whose_modality_is_not_installed(reg):
    with pytest.raises(CapabilityError, match="needs the 'audio' modality, which no loaded plugin provides"):
        Pipeline(task="listen", mode="pairwise", registry=reg)


def test_template_of_another_task(reg):
    with pytest.raises(CapabilityError, match="template 'qa.pairwise_rank.qwen_v1' is for task 'qa', not 'gen'"):
        Pipeline(task="gen", mode="pairwise", template="qa.pairwise_rank.qwen_v1", registry=reg)


def test_template_of_another_mode(reg):
    with pytest.raises(CapabilityError, match="is a pointwise template; template needs pairwise"):
        Pipeline(task="gen", mode="pairwise", template="gen.pointwise_score.qwen_v1", registry=reg)
    with pytest.raises(CapabilityError, match="is a pairwise template; pointwise_template needs pointwise"):
        Pipeline(task="gen", pointwise_template="gen.pairwise_rank.qwen_v1", registry=reg)


def test_aligner_for_another_task(reg):
    with pytest.raises(CapabilityError, match=r"aligner 'gen_dpo' does not train policies for task 'qa'"):
        Pipeline(task="qa", mode="pairwise", aligner="gen_dpo", registry=reg)


def test_invalid_mode_value(reg):
    with pytest.raises(ConfigError, match="mode must be one of pairwise, pointwise, not 'pair'"):
        Pipeline(task="gen", mode="pair", registry=reg)


def test_evolve_makes_a_validated_variant(reg):
    base = Pipeline(task="gen", mode="pairwise", registry=reg)
    variant = base.evolve(head="pairwise_only", backend="served", symmetric=True)
    assert (variant.head, variant.backend, variant.symmetric) == ("pairwise_only", "served", True)
    assert (base.head, base.symmetric) == ("generative", False)  # the original is untouched
    assert variant.registry is reg
    with pytest.raises(CapabilityError):
        variant.evolve(mode="pointwise")
    with pytest.raises(UnknownComponentError):
        base.evolve(head="nope")


def test_from_dict_rejects_unknown_keys_with_hints(reg):
    with pytest.raises(ConfigError) as info:
        Pipeline.from_dict({"task": "gen", "heads": "generative", "filter": ["pair_ranking"]}, registry=reg)
    message = str(info.value)
    assert "unknown pipeline keys ['heads', 'filter']" in message
    assert "Did you mean 'head'?" in message and "Did you mean 'filters'?" in message
    assert "Allowed keys:" in message


def test_from_dict_needs_a_task(reg):
    with pytest.raises(ConfigError, match="a pipeline needs a 'task'"):
        Pipeline.from_dict({"mode": "pairwise"}, registry=reg)


GOOD_TOML = """
[pipeline]
task = "gen"
head = "generative"
backend = "served"
template = "gen.pairwise_rank.qwen_v1"
filters = ["pair_ranking", "point_sifting"]
aligner = "gen_dpo"

[pipeline.options]
batch_size = 8
"""


def test_from_toml_builds_the_same_pipeline_as_python(reg, tmp_path):
    path = tmp_path / "job.toml"
    path.write_text(GOOD_TOML)
    from_file = Pipeline.from_toml(path, registry=reg)
    in_python = Pipeline(task="gen", head="generative", backend="served", template="gen.pairwise_rank.qwen_v1",
                         filters=("pair_ranking", "point_sifting"), aligner="gen_dpo", options={"batch_size": 8},
                         registry=reg)
    assert from_file == in_python


def test_from_toml_unknown_key_names_the_file(reg, tmp_path):
    path = tmp_path / "job.toml"
    path.write_text(GOOD_TOML.replace("aligner =", "alinger ="))
    with pytest.raises(ConfigError) as info:
        Pipeline.from_toml(path, registry=reg)
    assert info.value.who == str(path)
    assert "unknown pipeline keys ['alinger']" in str(info.value) and "Did you mean 'aligner'?" in str(info.value)


@pytest.mark.parametrize("edit, error, message", [
    (("head = \"generative\"", "head = \"pairwise_only\""), CapabilityError, "does not support pointwise judging"),
    (("head = \"generative\"", "head = \"generatve\""), UnknownComponentError, "Did you mean 'generative'"),
    (("task = \"gen\"", "task = \"qa\""), CapabilityError, "does not support pointwise judging"),
])
def test_from_toml_validation_errors_name_the_file(reg, tmp_path, edit, error, message):
    path = tmp_path / "job.toml"
    path.write_text(GOOD_TOML.replace(*edit))
    with pytest.raises(error, match=message) as info:
        Pipeline.from_toml(path, registry=reg)
    assert str(info.value).startswith(str(path))


def test_from_toml_missing_and_malformed_files(reg, tmp_path):
    with pytest.raises(ConfigError, match="config file not found") as info:
        Pipeline.from_toml(tmp_path / "absent.toml", registry=reg)
    assert info.value.who.endswith("absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[pipeline]\ntask = gen\n")
    with pytest.raises(ConfigError, match="invalid TOML") as info:
        Pipeline.from_toml(bad, registry=reg)
    assert isinstance(info.value, UniRewardError) and info.value.who == f"{bad}:2"  # the file and the line
