"""`unireward plugins [--json] [--check]`, in process and as a real subprocess with a fake installed plugin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from unireward_sdk.cli import main
from unireward_sdk.host import SDK_DISTRIBUTION, PluginHost
from unireward_sdk.settings import DISABLE_VAR, LOAD_VAR, STRICT_VAR

TEXT_BUILTIN = ("unireward_builtins.modalities.text",)
SHADOW = '''
from unireward_sdk import ModalitySpec, hookimpl

@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="text", factory=object)
'''


@pytest.fixture
def only_text_builtin(monkeypatch):
    """In-process CLI runs see one built-in, so their exit codes depend only on this test's plugins."""
    real_load = PluginHost.load.__func__
    monkeypatch.setattr(PluginHost, "load", classmethod(
        lambda cls, settings=None, **kw: real_load(cls, settings, **{**kw, "builtins": TEXT_BUILTIN})))


@pytest.fixture
def installed(make_dist, sources, only_text_builtin):
    make_dist("unireward-beep", "1.2.3", entry_points={"beep": "beep_plugin"},
              modules={"beep_plugin": sources["good"].format(name="beep")})
    make_dist("unireward-broken", "0.3", entry_points={"broken": "broken_plugin"},
              modules={"broken_plugin": sources["import_error"]})


def _run(capsys, *argv):
    code = main(["plugins", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_text_lists_plugins_components_and_failures(installed, capsys):
    code, out, _ = _run(capsys)
    assert code == 0  # failures are listed, not fatal, without --check
    assert f"text  ({SDK_DISTRIBUTION} " in out and "built-in" in out
    beep = out.split("beep  (unireward-beep 1.2.3, third-party)\n", 1)[1].splitlines()[:2]
    assert beep == ["    hooks: unireward_register_modalities", "    modality: beep"]
    failures = out.split("\nfailures:\n", 1)[1]
    assert "broken (unireward-broken 0.3) [import]: ModuleNotFoundError" in failures
    assert "unireward_missing_dependency_xyz" in failures


def test_json_has_every_plugin_failure_and_field(installed, capsys):
    code, out, _ = _run(capsys, "--json")
    data = json.loads(out)
    assert code == 0
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["beep"] == {"name": "beep", "distribution": "unireward-beep", "version": "1.2.3", "builtin": False,
                               "hooks": ["unireward_register_modalities"], "components": {"modality": ["beep"]}}
    assert plugins["text"]["builtin"] is True and plugins["text"]["distribution"] == SDK_DISTRIBUTION
    [failure] = [f for f in data["failures"] if f["entry_point"] == "broken"]
    assert (failure["distribution"], failure["version"], failure["phase"]) == ("unireward-broken", "0.3", "import")
    assert "unireward_missing_dependency_xyz" in failure["error"] and "UNIREWARD_DISABLE_PLUGINS" in failure["message"]
    assert data["conflicts"] == [] and data["skipped"] == []


def test_check_exit_codes(installed, capsys, monkeypatch):
    assert _run(capsys, "--check")[0] == 1
    monkeypatch.setenv(DISABLE_VAR, "broken")
    code, out, _ = _run(capsys, "--check", "--json")
    assert code == 0
    assert json.loads(out)["skipped"] == [{"entry_point": "broken", "distribution": "unireward-broken",
                                           "version": "0.3", "reason": f"blocked by {DISABLE_VAR}"}]


def test_check_fails_on_a_conflict_and_lists_providers(make_dist, only_text_builtin, capsys):
    make_dist("unireward-shadow", "9.9", entry_points={"shadow": "shadow_plugin"}, modules={"shadow_plugin": SHADOW})
    code, out, _ = _run(capsys, "--check")
    assert code == 1
    conflicts = out.split("\nconflicts:\n", 1)[1]
    assert "modality 'text' is provided by 2 plugins" in conflicts and "unireward-shadow 9.9" in conflicts
    data = json.loads(_run(capsys, "--json")[1])
    [conflict] = data["conflicts"]
    assert {p["distribution"] for p in conflict["providers"]} == {SDK_DISTRIBUTION, "unireward-shadow"}


def test_strict_env_makes_the_command_fail_naming_the_plugin(installed, capsys, monkeypatch):
    monkeypatch.setenv(STRICT_VAR, "1")
    code, out, err = _run(capsys)
    assert code == 1 and out == ""
    assert "unireward plugins: error:" in err and "'broken' (unireward-broken 0.3)" in err


def _subprocess(args, site, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in (LOAD_VAR, DISABLE_VAR, STRICT_VAR)}
    full_env["PYTHONPATH"] = os.pathsep.join([str(site), full_env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    full_env.update(env)
    return subprocess.run([sys.executable, "-m", "unireward_sdk", *args], env=full_env, capture_output=True,
                          text=True, timeout=120)


def test_installed_failing_plugin_end_to_end(make_dist, sources, site):
    """The issue's 'done when': a broken extra distribution on the path, seen by a fresh interpreter."""
    make_dist("unireward-broken", "0.3", entry_points={"broken": "broken_plugin"},
              modules={"broken_plugin": sources["import_error"]})

    listed = _subprocess(["plugins", "--json"], site)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    [failure] = [f for f in data["failures"] if f["entry_point"] == "broken"]
    assert failure["distribution"] == "unireward-broken" and "unireward_missing_dependency_xyz" in failure["error"]
    assert "text" in {p["name"] for p in data["plugins"]}  # the host kept working

    checked = _subprocess(["plugins", "--check"], site)
    assert checked.returncode == 1
    assert "broken (unireward-broken 0.3) [import]" in checked.stdout

    strict = _subprocess(["plugins"], site, **{STRICT_VAR: "1"})
    assert strict.returncode == 1
    assert "'broken' (unireward-broken 0.3)" in strict.stderr and "unireward_missing_dependency_xyz" in strict.stderr


def test_shipped_builtins_load_cleanly():
    """With no third-party plugins, every built-in in BUILTIN_PLUGINS imports and registers: --check exits 0."""
    script = Path(sys.executable).with_name("unireward")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "unireward_sdk"]
    env = {**os.environ, LOAD_VAR: ""}
    result = subprocess.run([*command, "plugins", "--check", "--json"], env=env, capture_output=True, text=True,
                            timeout=120)
    data = json.loads(result.stdout)
    assert result.returncode == 0, data["failures"] + data["conflicts"]
    assert all(p["builtin"] and p["distribution"] == SDK_DISTRIBUTION for p in data["plugins"])
    assert {"modality"} <= {kind for p in data["plugins"] for kind in p["components"]}


def test_no_subcommand_prints_help(capsys):
    assert main([]) == 2
    assert "plugins" in capsys.readouterr().out


def test_a_command_that_cannot_be_imported_does_not_break_the_others(monkeypatch, capsys):
    import unireward_sdk.cli as cli

    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, "no-such-command"))
    assert main(["plugins", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["plugins"]
    assert main(["no-such-command"]) == 1
    err = capsys.readouterr().err
    assert "unireward no-such-command: this command could not be loaded (ModuleNotFoundError" in err
