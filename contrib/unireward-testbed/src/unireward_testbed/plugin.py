"""The entry point ``unireward: testbed = unireward_testbed.plugin``: the testbed's commands.

The testbed is an application of the SDK: it registers no component of its own, only its commands, and
takes every judge, backend, filter and aligner it uses from the registry like any other caller.
"""

from __future__ import annotations

from unireward_sdk import hookimpl
from unireward_sdk import CommandSpec

from . import commands


@hookimpl
def unireward_register_commands():
    yield CommandSpec(name="demo", summary=commands.DEMO_SUMMARY, description=commands.DEMO_DESCRIPTION,
                      configure=commands.configure_demo, factory=commands.run_demo)
    yield CommandSpec(name="testbed", summary=commands.TESTBED_SUMMARY, configure=commands.configure_testbed,
                      factory=commands.run_testbed)
