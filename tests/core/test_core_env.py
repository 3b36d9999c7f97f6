"""Environment switches: allow-list, block-list and strict mode, read from the real environment."""

from __future__ import annotations

import pytest

from unireward_sdk import PluginLoadError, Registry
from unireward_sdk.host import PluginHost
from unireward_sdk.settings import DISABLE_VAR, LOAD_VAR, STRICT_VAR, PluginSettings

TEXT_BUILTIN = ("unireward_builtins.modalities.text",)


@pytest.fixture
def three(make_dist, sources):
    """Three installed good plugins, alpha, beta and gamma, found by real entry-point discovery."""
    for name in ("alpha", "beta", "gamma"):
        make_dist(f"unireward-{name}", entry_points={name: f"{name}_plugin"},
                  modules={f"{name}_plugin": sources["good"].format(name=name)})


def _load_from_env():
    return PluginHost.load(PluginSettings.from_env(), builtins=TEXT_BUILTIN)


def _ours(host):
    return sorted(n for n in host.plugins if n in {"alpha", "beta", "gamma"})


def test_unset_switches_load_every_plugin(three):
    host = _load_from_env()
    assert _ours(host) == ["alpha", "beta", "gamma"]
    assert "text" in host.plugins


def test_allow_list_loads_only_named_plugins(three, monkeypatch):
    monkeypatch.setenv(LOAD_VAR, " beta , gamma")
    host = _load_from_env()
    assert _ours(host) == ["beta", "gamma"]
    [skipped] = [s for s in host.skipped if s.plugin == "alpha"]
    assert skipped.distribution == "unireward-alpha" and LOAD_VAR in skipped.reason
    assert "text" in host.plugins  # built-ins are not governed by the switches


def test_empty_allow_list_loads_no_third_party_plugin(three, monkeypatch):
    monkeypatch.setenv(LOAD_VAR, "")
    host = _load_from_env()
    assert _ours(host) == []
    assert {"alpha", "beta", "gamma"} <= {s.plugin for s in host.skipped}
    assert [p.name for p in host.plugins.values() if not p.builtin] == []
    assert host.failures == []


def test_block_list_skips_named_plugins(three, monkeypatch):
    monkeypatch.setenv(DISABLE_VAR, "alpha,gamma")
    host = _load_from_env()
    assert _ours(host) == ["beta"]
    assert {s.plugin: s.reason for s in host.skipped if s.plugin in {"alpha", "gamma"}} == {
        "alpha": f"blocked by {DISABLE_VAR}", "gamma": f"blocked by {DISABLE_VAR}"}


def test_block_list_wins_over_allow_list(three, monkeypatch):
    monkeypatch.setenv(LOAD_VAR, "alpha,beta")
    monkeypatch.setenv(DISABLE_VAR, "beta")
    assert _ours(_load_from_env()) == ["alpha"]


def test_disabling_a_broken_plugin_is_the_documented_fix(make_dist, sources, monkeypatch):
    make_dist("unireward-broken", entry_points={"broken": "broken_plugin"},
              modules={"broken_plugin": sources["import_error"]})
    monkeypatch.setenv(STRICT_VAR, "1")
    with pytest.raises(PluginLoadError, match=f"{DISABLE_VAR}=broken"):
        _load_from_env()
    monkeypatch.setenv(DISABLE_VAR, "broken")
    host = _load_from_env()  # strict, and now clean
    assert not [f for f in host.failures if f.plugin == "broken"]


@pytest.mark.parametrize("value, strict", [("1", True), ("true", True), ("On", True), ("0", False), ("", False)])
def test_strict_switch_values(value, strict, monkeypatch):
    monkeypatch.setenv(STRICT_VAR, value)
    assert PluginSettings.from_env().strict is strict


def test_strict_env_makes_the_registry_raise_naming_the_plugin(make_dist, sources, monkeypatch):
    make_dist("unireward-broken", "0.3", entry_points={"broken": "broken_plugin"},
              modules={"broken_plugin": sources["import_error"]})
    monkeypatch.setenv(STRICT_VAR, "1")
    with pytest.raises(PluginLoadError, match=r"'broken' \(unireward-broken 0.3\)"):
        Registry.from_env()


def test_settings_read_from_an_explicit_mapping_not_os_environ(monkeypatch):
    monkeypatch.setenv(LOAD_VAR, "from_os")
    settings = PluginSettings.from_env({LOAD_VAR: "a, b", DISABLE_VAR: "c", STRICT_VAR: "yes"})
    assert settings == PluginSettings(load=("a", "b"), disable=("c",), strict=True)
    assert PluginSettings.from_env({}).load is None


def test_settings_constructor_takes_a_comma_separated_string():
    settings = PluginSettings(load="alpha, beta", disable="gamma")
    assert (settings.load, settings.disable) == (("alpha", "beta"), ("gamma",))
    assert settings.allows("alpha") == (True, "")
    assert settings.allows("gamma")[0] is False
