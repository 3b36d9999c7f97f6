"""Fixtures for core tests: a clean plugin environment and fake installed distributions."""

from __future__ import annotations

import pytest

from unireward_sdk.settings import ENV_VARS
from unireward_sdk.testing import fake_distribution


@pytest.fixture(autouse=True)
def _keep_the_process_registry(monkeypatch):
    """A CLI run builds the process-wide registry on first use; one built under a test's fake plugins must
    not outlive the test (later test directories would see its plugins instead of the built-ins)."""
    monkeypatch.setattr("unireward_sdk.registry._default", None)


@pytest.fixture(autouse=True)
def _no_plugin_switches(monkeypatch):
    """Tests set the switches they exercise; the developer's shell must not leak in."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def site(tmp_path):
    """A site-packages-like folder for fake distributions (not yet on sys.path)."""
    path = tmp_path / "site"
    path.mkdir()
    return path


@pytest.fixture
def make_dist(site, monkeypatch):
    """``make_dist(name, version, entry_points=..., modules=...)``: install a fake distribution in :func:`site`.

    The site folder goes on ``sys.path`` (so ``importlib.metadata.entry_points()`` finds the distributions
    and their modules import); the modules are dropped from ``sys.modules`` after the test, so the next
    test imports its own copy.
    """
    import unireward_sdk.registry as registry_module

    monkeypatch.syspath_prepend(str(site))
    # a process-wide registry loaded while these distributions are installed must not outlive the test
    monkeypatch.setattr(registry_module, "_default", None)
    made = []

    def make(name, version="0.1.0", **kwargs):
        dist = fake_distribution(site, name, version, **kwargs)
        made.append(dist)
        return dist

    yield make
    for dist in made:
        dist.unload()


# Sources of plugin modules that fake distributions ship. ``{name}`` is the component name.
GOOD_PLUGIN = '''
"""A good third-party plugin: one modality."""
from unireward_sdk import ModalitySpec, hookimpl


class BeepModality:
    name = "{name}"


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="{name}", factory=BeepModality, extensions=(".beep",), summary="beeps")
'''

IMPORT_ERROR_PLUGIN = '''
import unireward_missing_dependency_xyz  # not installed anywhere
'''

BAD_SIGNATURE_PLUGIN = '''
from unireward_sdk import TaskSpec, hookimpl


@hookimpl
def unireward_register_tasks(registry):  # hooks take no arguments
    yield TaskSpec(name="never", factory=object)
'''

MISSPELT_HOOK_PLUGIN = '''
from unireward_sdk import ModalitySpec, hookimpl


@hookimpl
def unireward_register_modality():  # singular: not a hook name
    yield ModalitySpec(name="never", factory=object)
'''


@pytest.fixture
def sources():
    return {"good": GOOD_PLUGIN, "import_error": IMPORT_ERROR_PLUGIN, "bad_signature": BAD_SIGNATURE_PLUGIN,
            "misspelt": MISSPELT_HOOK_PLUGIN}
