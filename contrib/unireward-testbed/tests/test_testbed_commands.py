"""The testbed's commands arrive through its entry point and the ``unireward_register_commands`` hook."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from unireward_sdk.testing import fake_distribution

DISTRIBUTION = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((DISTRIBUTION / "pyproject.toml").read_text(encoding="utf-8"))["project"]

# what `unireward plugins --json` reports and whether listing the commands imported torch, in a fresh process
_LIST = """
import contextlib, io, json, sys
from unireward_sdk.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    main(["plugins", "--json"])
print(json.dumps({"plugins": json.loads(out.getvalue())["plugins"], "torch": "torch" in sys.modules}))
"""


def test_the_entry_point_is_discovered_and_lists_both_commands(tmp_path):
    # an installed-looking copy of the distribution's metadata (entry points from pyproject.toml), so the
    # host finds the plugin by real entry-point discovery even where the distribution is not pip-installed
    site = tmp_path / "site"
    fake_distribution(site, PROJECT["name"], PROJECT["version"], entry_points=PROJECT["entry-points"]["unireward"])
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNIREWARD_")}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(DISTRIBUTION / "src"), *filter(None, [env.get("PYTHONPATH")])])
    result = subprocess.run([sys.executable, "-c", _LIST], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    plugins = {p["name"]: p for p in report["plugins"]}
    testbed = plugins["testbed"]
    assert (testbed["distribution"], testbed["version"], testbed["builtin"]) == (PROJECT["name"], PROJECT["version"],
                                                                                 False)
    assert testbed["hooks"] == ["unireward_register_commands"]
    assert testbed["components"] == {"command": ["demo", "testbed"]}
    assert report["torch"] is False  # setting up the commands' arguments imports nothing heavy


def test_demo_keeps_its_options_and_defaults(testbed_cli):
    from unireward_sdk.cli import build_parser

    args = build_parser().parse_args(["demo"])
    assert (args.profile, args.out, args.seed, args.threads, args.checkpoints, args.rebuild_checkpoints,
            args.quiet) == ("quick", "demo-report", 0, None, None, False, False)
    args = build_parser().parse_args(["demo", "--profile", "full", "--out", "runs/full", "--seed", "3",
                                      "--threads", "2", "--checkpoints", "ckpt", "--rebuild-checkpoints", "--quiet"])
    assert (args.profile, args.out, args.seed, args.threads, args.checkpoints, args.rebuild_checkpoints,
            args.quiet) == ("full", "runs/full", 3, 2, "ckpt", True, True)


def test_testbed_command_needs_a_subcommand(testbed_cli, capsys):
    with pytest.raises(SystemExit) as exc:
        testbed_cli(["testbed"])
    assert exc.value.code == 2
    assert "build" in capsys.readouterr().err


def test_an_unknown_probe_is_refused_with_the_choices(testbed_cli, capsys):
    with pytest.raises(SystemExit):
        testbed_cli(["testbed", "probe", "eyesight"])
    assert "perception" in capsys.readouterr().err


def test_the_command_line_choices_are_the_modules_names():
    from unireward_testbed import commands, demo, probes

    assert set(commands.PROFILE_NAMES) == set(demo.PROFILES)
    assert commands.PROBE_ATTRIBUTES == probes.ATTRIBUTES
