"""Plugin loading from fake installed distributions: each broken entry point becomes a recorded failure."""

from __future__ import annotations

import importlib.metadata as md

import pytest

from unireward_sdk import ModalitySpec, PluginLoadError, TaskSpec, hookimpl
from unireward_sdk.host import ENTRY_POINT_GROUP, SDK_DISTRIBUTION, PluginHost
from unireward_sdk.settings import PluginSettings
from unireward_sdk.testing import spec_plugin, temporary_plugin, unireward_entry_points

TEXT_BUILTIN = ("unireward_builtins.modalities.text",)


def _failure(host, plugin):
    found = [f for f in host.failures if f.plugin == plugin]
    assert len(found) == 1, f"expected one failure for {plugin!r}, got {host.failures}"
    return found[0]


def test_good_plugin_is_discovered_through_importlib_metadata(make_dist, sources, monkeypatch):
    dist = make_dist("unireward-beep", "1.2.3", entry_points={"beep": "beep_plugin"},
                     modules={"beep_plugin": sources["good"].format(name="beep")})
    monkeypatch.syspath_prepend(str(dist.path))
    # the real discovery call finds the entry point, bound to its distribution
    found = [ep for ep in md.entry_points(group=ENTRY_POINT_GROUP) if ep.name == "beep"]
    assert [(ep.value, ep.dist.name, ep.dist.version) for ep in found] == [("beep_plugin", "unireward-beep", "1.2.3")]

    host = PluginHost.load(builtins=())  # no entry_points=: discovery as in production
    info = host.plugins["beep"]
    assert (info.distribution, info.version, info.builtin) == ("unireward-beep", "1.2.3", False)
    assert info.hooks == ("unireward_register_modalities",)
    [provided] = host.resolve("modality", "beep")
    assert provided.spec.extensions == (".beep",)
    assert not [f for f in host.failures if f.plugin == "beep"]


def test_entry_point_to_an_attribute_loads_that_object(make_dist, sources):
    source = sources["good"].format(name="chirp").replace("@hookimpl\ndef", "class Plugin:\n    @staticmethod\n    @hookimpl\n    def")
    source = source.replace("\n    yield ModalitySpec", "\n        yield ModalitySpec")
    dist = make_dist("unireward-chirp", entry_points={"chirp": "chirp_plugin:Plugin"}, modules={"chirp_plugin": source})
    host = PluginHost.load(builtins=(), entry_points=dist.entry_points())
    assert host.failures == []
    assert "chirp" in host.components()["modality"]


def test_import_error_is_recorded_and_the_host_keeps_working(make_dist, sources):
    good = make_dist("unireward-beep", "1.0", entry_points={"beep": "beep_plugin"},
                     modules={"beep_plugin": sources["good"].format(name="beep")})
    broken = make_dist("unireward-broken", "0.3", entry_points={"broken": "broken_plugin"},
                       modules={"broken_plugin": sources["import_error"]})
    host = PluginHost.load(builtins=TEXT_BUILTIN, entry_points=unireward_entry_points(good.path, broken.path))
    assert good.path == broken.path  # one site folder, listed twice: still one entry point each

    failure = _failure(host, "broken")
    assert (failure.distribution, failure.version, failure.phase) == ("unireward-broken", "0.3", "import")
    assert "ModuleNotFoundError" in failure.error and "unireward_missing_dependency_xyz" in failure.error
    assert "could not load unireward plugin 'broken' (unireward-broken 0.3)" in failure.message
    assert "UNIREWARD_DISABLE_PLUGINS=broken" in failure.message
    assert "broken" not in host.plugins
    assert set(host.components()["modality"]) == {"beep", "text"}


def test_exception_and_system_exit_at_import_are_both_recorded(make_dist):
    dist = make_dist("unireward-rude", entry_points={"raises": "raising_plugin", "exits": "exiting_plugin"},
                     modules={"raising_plugin": "raise RuntimeError('boom at import')",
                              "exiting_plugin": "raise SystemExit(3)"})
    host = PluginHost.load(builtins=(), entry_points=dist.entry_points())
    assert "RuntimeError: boom at import" in _failure(host, "raises").error
    assert _failure(host, "exits").error.startswith("SystemExit")


def test_bad_hook_signature_is_a_register_failure(make_dist, sources):
    dist = make_dist("unireward-badsig", "2.0", entry_points={"badsig": "badsig_plugin"},
                     modules={"badsig_plugin": sources["bad_signature"]})
    host = PluginHost.load(builtins=(), entry_points=dist.entry_points())
    failure = _failure(host, "badsig")
    assert failure.phase == "register"
    assert "PluginValidationError" in failure.error and "registry" in failure.error
    assert "badsig" not in host.plugins and host.components()["task"] == {}


def test_misspelt_hook_name_says_did_you_mean(make_dist, sources):
    dist = make_dist("unireward-typo", entry_points={"typo": "typo_plugin"},
                     modules={"typo_plugin": sources["misspelt"]})
    host = PluginHost.load(builtins=(), entry_points=dist.entry_points())
    failure = _failure(host, "typo")
    assert failure.phase == "validate"
    assert "unknown hook 'unireward_register_modality'" in failure.error
    assert "Did you mean 'unireward_register_modalities'" in failure.error


def test_marked_hook_without_the_prefix_is_also_unknown():
    class Plugin:
        @staticmethod
        @hookimpl
        def unirewrd_register_tasks():
            yield TaskSpec(name="never", factory=object)

    host = PluginHost.load(builtins=(), entry_points=[])
    assert host.register(Plugin, name="typo2") is False
    assert "Did you mean 'unireward_register_tasks'" in _failure(host, "typo2").error


def test_specname_hooks_are_accepted_and_listed_under_their_hook():
    class Plugin:
        @staticmethod
        @hookimpl(specname="unireward_register_tasks")
        def my_tasks():
            yield TaskSpec(name="renamed", factory=object)

        @staticmethod
        @hookimpl(specname="unireward_register_task")
        def typo_tasks():
            yield TaskSpec(name="never", factory=object)

    host = PluginHost.load(builtins=(), entry_points=[])
    assert host.register(Plugin, name="specname") is False
    assert "unknown hook 'unireward_register_task'. Did you mean" in _failure(host, "specname").error
    del Plugin.typo_tasks
    assert host.register(Plugin, name="specname2") is True
    assert host.plugins["specname2"].hooks == ("unireward_register_tasks",)
    assert "renamed" in host.components()["task"]


def test_hook_without_hookimpl_marker_is_rejected():
    plugin = spec_plugin()
    plugin.unireward_register_tasks = lambda: iter(())  # forgot @hookimpl: pluggy would ignore it silently
    host = PluginHost.load(builtins=(), entry_points=[])
    assert host.register(plugin, name="unmarked") is False
    assert "not decorated with @hookimpl" in _failure(host, "unmarked").error


def test_duplicate_entry_point_name_across_two_distributions(make_dist, sources, site):
    make_dist("unireward-first", "1.0", entry_points={"same": "first_plugin"},
              modules={"first_plugin": sources["good"].format(name="first")})
    make_dist("unireward-second", "2.0", entry_points={"same": "second_plugin"},
              modules={"second_plugin": sources["good"].format(name="second")})
    eps = sorted(unireward_entry_points(site), key=lambda ep: ep.dist.name)
    assert [ep.dist.name for ep in eps] == ["unireward-first", "unireward-second"]
    host = PluginHost.load(builtins=(), entry_points=eps)

    assert host.plugins["same"].distribution == "unireward-first"
    failure = _failure(host, "same")
    assert (failure.distribution, failure.phase) == ("unireward-second", "discover")
    assert "duplicate entry-point name 'same'" in failure.error and "unireward-first" in failure.error
    assert set(host.components()["modality"]) == {"first"}


def test_entry_point_named_like_a_builtin_plugin_is_refused(make_dist, sources):
    dist = make_dist("unireward-impostor", entry_points={"text": "impostor_plugin"},
                     modules={"impostor_plugin": sources["good"].format(name="impostor")})
    host = PluginHost.load(builtins=TEXT_BUILTIN, entry_points=dist.entry_points())
    assert host.plugins["text"].builtin
    failure = _failure(host, "text")
    assert failure.distribution == "unireward-impostor" and SDK_DISTRIBUTION in failure.error


def test_third_party_cannot_silently_shadow_a_builtin_component(make_dist):
    shadow = '''
from unireward_sdk import ModalitySpec, hookimpl

@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="text", factory=object, extensions=(".txt",))
'''
    dist = make_dist("unireward-shadow", "9.9", entry_points={"shadow": "shadow_plugin"},
                     modules={"shadow_plugin": shadow})
    host = PluginHost.load(builtins=TEXT_BUILTIN, entry_points=dist.entry_points())
    [conflict] = host.conflicts()
    assert (conflict.kind, conflict.name) == ("modality", "text")
    assert {p.plugin.distribution for p in conflict.providers} == {SDK_DISTRIBUTION, "unireward-shadow"}
    assert "unireward-shadow 9.9" in conflict.message and f"{SDK_DISTRIBUTION} " in conflict.message
    assert "A built-in name cannot be replaced: disable shadow (UNIREWARD_DISABLE_PLUGINS=shadow)" in conflict.message

    with pytest.raises(PluginLoadError, match="unireward-shadow 9.9"):
        PluginHost.load(PluginSettings(strict=True), builtins=TEXT_BUILTIN, entry_points=dist.entry_points())


@pytest.mark.parametrize("problem", ["raises", "wrong_type", "invalid_spec"])
def test_broken_hook_is_a_collect_failure_and_contributes_nothing(problem):
    class Plugin:
        @staticmethod
        @hookimpl
        def unireward_register_modalities():
            yield ModalitySpec(name="half", factory=object)  # yielded before the problem
            if problem == "raises":
                raise RuntimeError("hook exploded")
            if problem == "wrong_type":
                yield TaskSpec(name="misplaced", factory=object)
            if problem == "invalid_spec":
                yield ModalitySpec(name="Bad Name!", factory=object)

    host = PluginHost.load(builtins=TEXT_BUILTIN, entry_points=[])
    with temporary_plugin(Plugin, name="flaky", host=host):
        components = host.components()
        assert "half" not in components["modality"]  # no half-registered plugin
        assert "text" in components["modality"]  # the host keeps working
        failure = _failure(host, "flaky")
        assert failure.phase == "collect"
        expected = {"raises": "RuntimeError: hook exploded", "wrong_type": "yielded TaskSpec, expected ModalitySpec",
                    "invalid_spec": "not a valid component name"}[problem]
        assert expected in failure.error
        # collecting again (another plugin registered) does not record the failure twice
        with temporary_plugin(spec_plugin(TaskSpec(name="t", factory=object)), name="other", host=host):
            host.components()
            _failure(host, "flaky")
    assert host.failures == []


def test_duplicate_collect_failure_not_recorded_on_recollect():
    class Plugin:
        @staticmethod
        @hookimpl
        def unireward_register_tasks():
            raise ValueError("no")
            yield  # pragma: no cover

    host = PluginHost.load(builtins=(), entry_points=[])
    host.register(Plugin, name="p")
    host.components()
    host.register(spec_plugin(), name="q")  # invalidates the cache
    host.components()
    assert [f.plugin for f in host.failures] == ["p"]


def test_builtin_import_failure_is_recorded_with_the_sdk_distribution():
    host = PluginHost.load(builtins=("unireward_builtins.modalities.does_not_exist",), entry_points=[])
    failure = _failure(host, "does_not_exist")
    assert failure.distribution == SDK_DISTRIBUTION and failure.phase == "import"
    assert "Reinstall unireward-sdk" in failure.message


def test_strict_mode_raises_naming_the_plugin_and_distribution(make_dist, sources):
    dist = make_dist("unireward-broken", "0.3", entry_points={"broken": "broken_plugin"},
                     modules={"broken_plugin": sources["import_error"]})
    with pytest.raises(PluginLoadError) as info:
        PluginHost.load(PluginSettings(strict=True), builtins=(), entry_points=dist.entry_points())
    message = str(info.value)
    assert "'broken' (unireward-broken 0.3)" in message and "unireward_missing_dependency_xyz" in message
    assert "UNIREWARD_STRICT_PLUGINS" in message


def test_strict_mode_with_only_good_plugins_loads(make_dist, sources):
    dist = make_dist("unireward-beep", entry_points={"beep": "beep_plugin"},
                     modules={"beep_plugin": sources["good"].format(name="beep")})
    host = PluginHost.load(PluginSettings(strict=True), builtins=TEXT_BUILTIN, entry_points=dist.entry_points())
    assert set(host.plugins) == {"text", "beep"}


def test_one_malformed_entry_points_file_does_not_stop_discovery(make_dist, sources):
    make_dist("unireward-beep", entry_points={"beep": "beep_plugin"},
              modules={"beep_plugin": sources["good"].format(name="beep")})
    ours = make_dist("unireward-mangled", "0.2")
    (ours.dist_info / "entry_points.txt").write_text("[unireward]\nno equals sign here\n")
    unrelated = make_dist("some-other-tool", "3.0")
    (unrelated.dist_info / "entry_points.txt").write_bytes(b"\xff\xfe[console_scripts]\n")
    # the standard library call gives up on the whole environment
    with pytest.raises(Exception):
        md.entry_points(group=ENTRY_POINT_GROUP)

    host = PluginHost.load(builtins=())
    assert "beep" in host.plugins
    failure = _failure(host, "unireward-mangled entry points")
    assert (failure.distribution, failure.version, failure.phase) == ("unireward-mangled", "0.2", "discover")
    assert "unreadable entry_points.txt" in failure.error
    assert not [f for f in host.failures if f.distribution == "some-other-tool"]
