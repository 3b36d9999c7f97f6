"""The helpers plugin authors test with: temporary_plugin, spec_plugin, fake_distribution."""

from __future__ import annotations

import importlib.metadata as md
import sys

import pytest

from unireward_sdk import ModalitySpec, PluginError, Registry, TaskSpec, hookimpl
from unireward_sdk.host import PluginHost
from unireward_sdk.testing import fake_distribution, spec_plugin, temporary_plugin


@pytest.fixture
def host():
    return PluginHost.load(builtins=("unireward_builtins.modalities.text",), entry_points=[])


def test_temporary_plugin_registers_and_restores(host):
    before = (dict(host.plugins), list(host.failures), host.components())
    with temporary_plugin(spec_plugin(TaskSpec(name="t", factory=object)), name="tmp", host=host) as inside:
        assert inside is host
        assert host.plugins["tmp"].distribution == "test"
        assert "t" in host.components()["task"]
    assert (dict(host.plugins), list(host.failures)) == before[:2]
    assert host.components() == before[2]


def test_temporary_plugin_unregisters_when_the_block_raises(host):
    with pytest.raises(RuntimeError):
        with temporary_plugin(spec_plugin(), name="tmp", host=host):
            raise RuntimeError
    assert "tmp" not in host.plugins


def test_temporary_plugin_accepts_a_registry_and_refreshes_its_instances(host):
    reg = Registry.from_host(host)

    class Beep:
        name = "beep"

    with temporary_plugin(spec_plugin(ModalitySpec(name="beep", factory=Beep)), host=reg):
        assert isinstance(reg.modality("beep"), Beep)
    assert "beep" not in reg.names("modality")


def test_refused_plugin_raises_with_the_host_message_and_leaves_no_trace(host):
    class Typo:
        @staticmethod
        @hookimpl
        def unireward_register_modality():
            yield from ()

    with pytest.raises(PluginError, match="Did you mean 'unireward_register_modalities'"):
        with temporary_plugin(Typo, name="typo", host=host):
            pass  # pragma: no cover
    assert host.failures == [] and "typo" not in host.plugins


def test_taken_name_raises_and_keeps_the_existing_plugin(host):
    with pytest.raises(PluginError, match="a plugin named 'text' is already registered"):
        with temporary_plugin(spec_plugin(), name="text", host=host):
            pass  # pragma: no cover
    assert host.plugins["text"].builtin and "text" in host.components()["modality"]


def test_default_target_is_the_process_wide_registry(monkeypatch, host):
    import unireward_sdk.registry as registry_module

    monkeypatch.setattr(registry_module, "_default", Registry.from_host(host))
    with temporary_plugin(spec_plugin(TaskSpec(name="global_t", factory=object)), name="g"):
        assert registry_module.get_registry().task_spec("global_t").name == "global_t"
    assert "g" not in host.plugins


def test_spec_plugin_groups_specs_by_hook_and_rejects_unknown_kinds():
    plugin = spec_plugin(TaskSpec(name="a", factory=object), ModalitySpec(name="m", factory=object),
                         TaskSpec(name="b", factory=object))
    assert [s.name for s in plugin.unireward_register_tasks()] == ["a", "b"]
    assert [s.name for s in plugin.unireward_register_modalities()] == ["m"]
    assert not hasattr(plugin, "unireward_register_filters")

    class OddSpec(ModalitySpec):
        kind = "gadget"

    with pytest.raises(ValueError, match="no registration hook yields 'gadget' specs"):
        spec_plugin(OddSpec(name="g", factory=object))


def test_fake_distribution_writes_real_metadata_and_packages(tmp_path, monkeypatch):
    dist = fake_distribution(tmp_path, "Unireward.Demo_Pkg", "1.0.0",
                             entry_points={"demo": "demo_pkg.sub.plugin:PLUGIN"},
                             modules={"demo_pkg.sub.plugin": "PLUGIN = 'the plugin object'\n",
                                      "demo_pkg": "TOP = 1\n"})
    assert dist.dist_info.name == "Unireward_Demo_Pkg-1.0.0.dist-info"
    assert dist.modules == ("demo_pkg",)
    assert (tmp_path / "demo_pkg" / "sub" / "__init__.py").exists()
    assert (tmp_path / "demo_pkg" / "__init__.py").read_text() == "TOP = 1\n"

    [ep] = dist.entry_points()
    assert (ep.name, ep.group, ep.dist.name, ep.dist.version) == ("demo", "unireward", "Unireward.Demo_Pkg", "1.0.0")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert ep.load() == "the plugin object"
        assert md.version("unireward-demo-pkg") == "1.0.0"  # normalised lookup, as for a real wheel
        assert any(e.name == "demo" for e in md.entry_points(group="unireward"))
    finally:
        dist.unload()
    assert "demo_pkg" not in sys.modules and "demo_pkg.sub.plugin" not in sys.modules
