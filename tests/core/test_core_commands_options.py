"""The commands hook (plugin subcommands with per-plugin isolation) and declared option schemas."""

from __future__ import annotations

import pytest

from unireward_sdk import cli, get_registry
from unireward_sdk.errors import ConfigError
from unireward_sdk.hookspecs import hookimpl
from unireward_sdk.options import REQUIRED, Option, validate_options
from unireward_sdk.specs import CommandSpec, FilterSpec


class _Greeter:
    @hookimpl
    def unireward_register_commands(self):
        def configure(parser):
            parser.add_argument("--who", default="world")

        def run(args):
            print(f"hello {args.who}")
            return 3

        yield CommandSpec(name="hello", summary="say hello", configure=configure, factory=run)


class _BrokenSetup:
    @hookimpl
    def unireward_register_commands(self):
        def configure(parser):
            raise RuntimeError("argument setup exploded")

        yield CommandSpec(name="kaboom", summary="never works", configure=configure, factory=lambda args: 0)


class _Clash:
    @hookimpl
    def unireward_register_commands(self):
        yield CommandSpec(name="score", summary="tries to replace a core command", factory=lambda args: 0)


class _KeepFilter:
    @hookimpl
    def unireward_register_filters(self):
        yield FilterSpec(name="keep_some", factory=lambda **kw: kw, needs=(), options=(
            Option("fraction", float, default=0.5, help="share of groups kept"),
            Option("mode", str, default="head", choices=("head", "tail")),
        ))


@pytest.fixture
def plugged():
    host = get_registry().host
    names = []

    def plug(obj, name):
        assert host.register(obj, name=name)
        names.append(name)

    yield plug
    for name in names:
        host.unregister(name)


def test_plugin_command_runs_with_its_own_arguments(plugged, capsys):
    plugged(_Greeter(), "greeter")
    assert cli.main(["hello", "--who", "plugins"]) == 3
    assert "hello plugins" in capsys.readouterr().out


def test_broken_command_setup_is_unavailable_and_others_still_run(plugged, capsys):
    plugged(_BrokenSetup(), "broken_setup")
    plugged(_Greeter(), "greeter")
    assert cli.main(["kaboom"]) == 1
    err = capsys.readouterr().err
    assert "argument setup exploded" in err and "broken_setup" in err
    assert cli.main(["hello"]) == 3


def test_plugin_cannot_replace_an_sdk_command(plugged, capsys):
    plugged(_Clash(), "clash")
    parser = cli.build_parser()
    assert "ignoring command 'score' of plugin 'clash'" in capsys.readouterr().err
    # the SDK's own `score` is intact: its own arguments still parse
    assert parser.parse_args(["score", "--task", "image_generation", "--mode", "pairwise", "--model", "m"]).task \
        == "image_generation"


def test_declared_options_are_validated_by_the_registry(plugged):
    plugged(_KeepFilter(), "keep_filter")
    registry = get_registry()
    assert registry.filter("keep_some", fraction=1) == {"fraction": 1.0}  # the factory keeps its defaults
    with pytest.raises(ConfigError, match="Did you mean 'fraction'"):
        registry.filter("keep_some", fractoin=0.2)
    with pytest.raises(ConfigError, match="one of 'head', 'tail'"):
        registry.filter("keep_some", mode="middle")
    with pytest.raises(ConfigError, match="must be float"):
        registry.filter("keep_some", fraction="lots")


def test_option_schema_required_and_bool_is_not_int():
    schema = (Option("k", int, default=REQUIRED, help="how many"), Option("flag", bool, default=False))
    with pytest.raises(ConfigError, match="'k' is required"):
        validate_options(schema, {}, who="x")
    with pytest.raises(ConfigError, match="must be int"):
        validate_options(schema, {"k": True}, who="x")
    assert validate_options(schema, {"k": 2}, who="x", fill_defaults=True) == {"k": 2, "flag": False}
