"""unireward-audio is found through the ``unireward`` entry point of the installed distribution.

Nothing here imports ``unireward_audio`` itself: the host discovers it through importlib.metadata as it
would on a user's machine. Install first: ``pip install -e contrib/unireward-audio``.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import subprocess
import sys

import pytest

from unireward_sdk import BackendSpec, CapabilityError, MediaCache, Pipeline, RewardHeadSpec, TaskSpec
from unireward_sdk.host import PluginHost
from unireward_sdk.registry import Registry
from unireward_sdk.settings import PluginSettings
from unireward_sdk.testing import spec_plugin, temporary_plugin

DISTRIBUTION = "unireward-audio"
ONLY_TEXT = ("unireward_builtins.modalities.text",)  # keep other built-ins out: this is about discovery


@pytest.fixture(scope="module")
def installed() -> md.EntryPoint:
    found = [ep for ep in md.entry_points(group="unireward") if ep.name == "audio"]
    if not found:
        pytest.fail(f"{DISTRIBUTION} is not installed: run `pip install -e contrib/unireward-audio`")
    return found[0]


def discovered_registry(**settings) -> Registry:
    """A registry whose third-party plugins come from real entry-point discovery (entry_points=None)."""
    return Registry.from_host(PluginHost.load(PluginSettings(**settings), builtins=ONLY_TEXT))


def test_entry_point_belongs_to_the_distribution(installed):
    assert installed.value == "unireward_audio.plugin"
    assert installed.dist.name == DISTRIBUTION
    assert installed.dist.version == md.version(DISTRIBUTION)


def test_host_discovers_the_audio_modality(installed):
    registry = discovered_registry(load=("audio",))
    info = registry.host.plugins["audio"]
    assert (info.distribution, info.version, info.builtin) == (DISTRIBUTION, md.version(DISTRIBUTION), False)
    assert info.hooks == ("unireward_register_modalities",)
    (provider,) = registry.host.resolve("modality", "audio")
    assert provider.plugin.name == "audio"
    assert provider.spec.extensions == (".wav", ".flac")
    assert registry.host.failures == []


def test_files_route_to_the_discovered_modality(installed, tmp_path, write_wav, write_flac):
    registry = discovered_registry(load=("audio",))
    wav, flac = write_wav(tmp_path / "a.wav"), write_flac(tmp_path / "b.FLAC")
    media = registry.modality_for_path(str(wav)).load(wav)
    assert media.modality == "audio" and media.meta["sample_rate"] == 16000
    cache = MediaCache(registry)
    assert cache(flac).meta["format"] == "flac"
    cache(flac)
    assert (cache.misses, cache.hits) == (1, 1)


def _audio_judging_plugin():
    """A throwaway task needing the audio modality, with a head and backend, registered only in a test."""
    def unused(**_kw):
        raise AssertionError("not built in this test")

    return spec_plugin(
        TaskSpec(name="audio_judging", factory=unused, modalities=("audio",), modes=("pairwise",)),
        RewardHeadSpec(name="audio_test_head", factory=unused, modes=("pairwise",)),
        BackendSpec(name="audio_test_backend", factory=unused),
        name="audio_judging_plugin",
    )


def test_pipeline_composes_with_the_discovered_modality(installed):
    registry = discovered_registry(load=("audio",))
    with temporary_plugin(_audio_judging_plugin(), host=registry):
        pipeline = Pipeline(task="audio_judging", mode="pairwise", head="audio_test_head",
                            backend="audio_test_backend", registry=registry)
        assert pipeline.task == "audio_judging"
        assert pipeline.evolve(symmetric=True).symmetric is True


def test_without_the_plugin_the_pipeline_is_refused(installed):
    registry = discovered_registry(disable=("audio",))
    assert "audio" not in registry.host.plugins
    assert [s.plugin for s in registry.host.skipped] == ["audio"]
    with temporary_plugin(_audio_judging_plugin(), host=registry):
        with pytest.raises(CapabilityError, match="needs the 'audio' modality"):
            Pipeline(task="audio_judging", mode="pairwise", head="audio_test_head", backend="audio_test_backend",
                     registry=registry)


def test_cli_lists_the_contrib_modality(installed):
    env = {**os.environ, "UNIREWARD_LOAD_PLUGINS": "audio"}
    env.pop("UNIREWARD_DISABLE_PLUGINS", None)
    out = subprocess.run([sys.executable, "-m", "unireward_sdk", "plugins", "--json"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    plugins = {p["name"]: p for p in json.loads(out.stdout)["plugins"]}
    audio = plugins["audio"]
    assert (audio["distribution"], audio["version"], audio["builtin"]) == (DISTRIBUTION, md.version(DISTRIBUTION),
                                                                           False)
    assert audio["components"] == {"modality": ["audio"]}
    assert plugins["image"]["distribution"] == "unireward-sdk"
