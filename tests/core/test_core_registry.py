"""The registry facade: typed lookups, "did you mean", conflicts listing every provider with versions."""

from __future__ import annotations

import pytest

from unireward_sdk import (
    ConflictError,
    ModalitySpec,
    Registry,
    RewardHeadSpec,
    TemplateSpec,
    UnknownComponentError,
)
from unireward_sdk.host import PluginFailure, PluginHost
from unireward_sdk.testing import spec_plugin, temporary_plugin


class Head:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


class Modality:
    name = "beep"


@pytest.fixture
def host():
    host = PluginHost.load(builtins=("unireward_builtins.modalities.text",), entry_points=[])
    host.register(
        spec_plugin(
            RewardHeadSpec(name="generative", factory=Head, modes=("pairwise", "pointwise")),
            RewardHeadSpec(name="logit", factory=Head, modes=("pairwise",)),
            ModalitySpec(name="beep", factory=Modality, extensions=(".beep", ".bp")),
        ),
        name="local", distribution="unireward-local", version="1.0",
    )
    return host


def test_typed_lookups_return_specs_and_build_components(host):
    reg = Registry.from_host(host)
    assert reg.names("reward_head") == ["generative", "logit"]
    assert reg.reward_head_spec("logit").modes == ("pairwise",)
    head = reg.reward_head("generative", backend="fake", symmetric=True)
    assert isinstance(head, Head) and head.kwargs == {"backend": "fake", "symmetric": True}
    assert reg.modality("beep") is reg.modality("beep")  # stateless components are built once
    assert reg.modality("text").name == "text"


def test_unknown_name_says_did_you_mean_and_lists_known(host):
    reg = Registry.from_host(host)
    with pytest.raises(UnknownComponentError) as info:
        reg.reward_head_spec("generativ")
    message = str(info.value)
    assert "no reward head named 'generativ'" in message
    assert "Did you mean 'generative'?" in message
    assert "Known: generative, logit" in message
    assert isinstance(info.value, LookupError)


def test_unknown_name_without_close_match_has_no_hint(host):
    with pytest.raises(UnknownComponentError) as info:
        Registry.from_host(host).aligner_spec("zzz")
    assert "Did you mean" not in str(info.value) and "Known: none" in str(info.value)


def test_unknown_name_points_at_plugins_that_failed(host):
    host.failures.append(PluginFailure("audio", "unireward-audio", "0.1", "import", "ImportError: soundfile"))
    with pytest.raises(UnknownComponentError, match=r"failed to load: audio \(see `unireward plugins`\)"):
        Registry.from_host(host).modality_spec("audio")


def test_conflict_raises_on_request_listing_every_provider_with_versions(host):
    host.register(spec_plugin(RewardHeadSpec(name="logit", factory=Head)), name="rival",
                  distribution="unireward-rival", version="2.5")
    reg = Registry.from_host(host)
    assert reg.reward_head_spec("generative").name == "generative"  # other names stay usable
    with pytest.raises(ConflictError) as info:
        reg.reward_head("logit")
    message = str(info.value)
    assert "reward_head 'logit' is provided by 2 plugins" in message
    assert "plugin 'local' (unireward-local 1.0)" in message
    assert "plugin 'rival' (unireward-rival 2.5)" in message
    assert "UNIREWARD_DISABLE_PLUGINS" in message
    assert [(c.kind, c.name) for c in host.conflicts()] == [("reward_head", "logit")]


def _template(override=False):
    return TemplateSpec(name="beep_gen.pairwise_rank.qwen_v1", task="beep_gen", mode="pairwise_rank",
                        family="qwen_v1", factory=lambda: "T", override=override)


def test_template_override_is_explicit(host):
    reg = Registry.from_host(host)
    with temporary_plugin(spec_plugin(_template()), name="base", host=host):
        with temporary_plugin(spec_plugin(_template(override=True)), name="mine", host=host):
            assert reg.template_spec("beep_gen.pairwise_rank.qwen_v1").override is True
            assert host.conflicts() == []
        with temporary_plugin(spec_plugin(_template()), name="silent", host=host):
            with pytest.raises(ConflictError, match="provided by 2 plugins"):
                reg.template_spec("beep_gen.pairwise_rank.qwen_v1")


def test_modality_for_path_matches_declared_extensions(host):
    reg = Registry.from_host(host)
    assert reg.modality_for_path("clip.BP").name == "beep"
    assert reg.modality_for_path("a/b/notes.txt").name == "text"
    with pytest.raises(UnknownComponentError, match=r"no modality handles '\.xyz' files") as info:
        reg.modality_for_path("song.xyz")
    assert ".beep" in str(info.value) and info.value.who == "song.xyz"


def test_cached_component_follows_plugin_changes(host):
    reg = Registry.from_host(host)
    first = reg.modality("beep")
    host.unregister("local")
    with pytest.raises(UnknownComponentError):
        reg.modality("beep")

    class Other:
        name = "beep"
    with temporary_plugin(spec_plugin(ModalitySpec(name="beep", factory=Other)), host=reg):
        assert isinstance(reg.modality("beep"), Other) and reg.modality("beep") is not first
