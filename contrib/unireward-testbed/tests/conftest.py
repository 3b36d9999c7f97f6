"""Settings for the testbed's tests, as in the SDK's suite (no model hub, one torch thread), and the fixture
that puts the testbed's commands on the process-wide host."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("OMP_NUM_THREADS", "1")

PLUGIN = "testbed"  # the entry-point name in pyproject.toml


@pytest.fixture(scope="module")
def testbed_cli():
    """``unireward_sdk.cli.main`` with the testbed's commands: found through the entry point when the
    distribution is installed, else registered for the test, so the tests also run from a source tree."""
    from unireward_sdk import cli, get_registry
    from unireward_sdk.testing import temporary_plugin

    host = get_registry().host
    if PLUGIN in host.plugins:
        yield cli.main
        return
    import unireward_testbed.plugin

    with temporary_plugin(unireward_testbed.plugin, name=PLUGIN, host=host, distribution="unireward-testbed"):
        yield cli.main
