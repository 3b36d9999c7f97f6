"""Fixtures for the judge-training tests: a registry with the built-in plugins, a tiny base judge built once,
and toy preference records written by the tests (see training_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from training_fixtures import SHORT_TEMPLATE, toy_records, write_jsonl


@pytest.fixture(scope="session")
def registry():
    """Built-in plugins only (no third-party plugins of this machine)."""
    from unireward_sdk.host import BUILTIN_PLUGINS, PluginHost
    from unireward_sdk.registry import Registry
    from unireward_sdk.settings import PluginSettings

    return Registry(PluginHost.load(PluginSettings(), builtins=BUILTIN_PLUGINS, entry_points=[]))


@pytest.fixture(scope="session")
def short_registry(tmp_path_factory):
    """Built-ins plus the short toy template (a user template file, loaded like any other)."""
    from unireward_sdk.host import BUILTIN_PLUGINS, PluginHost
    from unireward_sdk.registry import Registry
    from unireward_sdk.settings import PluginSettings
    from unireward_sdk.templates import register_template_file

    registry = Registry(PluginHost.load(PluginSettings(), builtins=BUILTIN_PLUGINS, entry_points=[]))
    path = tmp_path_factory.mktemp("templates") / "short.toml"
    path.write_text(SHORT_TEMPLATE)
    register_template_file(registry, path)
    return registry


@pytest.fixture(scope="session")
def tiny_base(tmp_path_factory) -> Path:
    """A random tiny Qwen2-VL judge saved like a released checkpoint."""
    from unireward_sdk.testing.tiny import build_tiny_judge

    return build_tiny_judge(tmp_path_factory.mktemp("base_judge"), arch="qwen2_vl", seed=0)


@pytest.fixture(scope="session")
def toy_data(tmp_path_factory) -> Path:
    """A folder with train.jsonl / eval.jsonl of toy pairs and points (default templates)."""
    folder = tmp_path_factory.mktemp("toy_data")
    write_jsonl(folder / "train.jsonl", toy_records(folder, 24, seed=0, pointwise=True))
    write_jsonl(folder / "eval.jsonl", toy_records(folder, 12, seed=1, pointwise=True))
    return folder


@pytest.fixture(scope="session")
def testbed_data(tmp_path_factory) -> Path:
    """A few testbed records of all four tasks (noise 0), with media, in train.jsonl (written by the testbed
    distribution's simulator: ``pip install -e contrib/unireward-testbed``)."""
    from unireward_testbed.preferences import PreferenceSimulator

    folder = tmp_path_factory.mktemp("testbed")
    PreferenceSimulator(folder, seed=0, noise=0.0, size=32).write(folder / "train.jsonl", n_per_task=4)
    return folder
