"""One switch for library noise: every command, a plugin's included, runs with the libraries' bars, log
records and the known warnings silenced, and shows them with --verbose (before or after the command name)."""

from __future__ import annotations

import sys
import warnings

import pytest

from unireward_sdk import get_registry
from unireward_sdk.cli import main
from unireward_sdk.hookspecs import hookimpl
from unireward_sdk.specs import CommandSpec


SEEN: list[tuple[bool, int]] = []  # transformers' bars and verbosity inside each run of the command


class _Noisy:
    """A plugin command that does what loading and training with the libraries does."""

    @hookimpl
    def unireward_register_commands(self):
        def run(args):
            from transformers.utils import logging as hf_logging

            SEEN.append((hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()))
            for _ in hf_logging.tqdm(range(3), desc="Writing model shards"):
                pass
            hf_logging.get_logger("transformers.modeling_utils").warning("Some weights were not initialized")
            warnings.warn("`gradient_checkpointing` is deprecated and will be removed in v6. "
                          "Use `activation_checkpointing` instead.", FutureWarning)
            warnings.warn("a warning the SDK does not know", UserWarning)
            print("noisy done")
            return 0

        yield CommandSpec(name="noisy", summary="makes library noise", factory=run)


@pytest.fixture
def noisy():
    host = get_registry().host
    assert host.register(_Noisy(), name="noisy-plugin")
    yield
    host.unregister(name="noisy-plugin")


def _messages(record) -> list[str]:
    return [str(w.message) for w in record]


def test_a_plugin_command_runs_without_library_noise(noisy, capfd, recwarn):
    assert main(["noisy"]) == 0
    out, err = capfd.readouterr()
    assert out == "noisy done\n"
    assert "Writing model shards" not in err and "Some weights were not initialized" not in err
    messages = _messages(recwarn)
    assert not any("gradient_checkpointing" in m for m in messages)
    assert "a warning the SDK does not know" in messages  # only the known warnings are silenced


@pytest.mark.parametrize("argv", [["--verbose", "noisy"], ["noisy", "--verbose"]])
def test_verbose_lets_the_libraries_speak(noisy, capfd, recwarn, argv):
    from transformers.utils import logging as hf_logging

    # --verbose touches no switch: inside the command the libraries are as the session left them (the test
    # session's own verbosity may already hide log records, so that is what is compared, not their text)
    outside = (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity())
    assert main(argv) == 0
    out, err = capfd.readouterr()
    assert out == "noisy done\n"
    assert SEEN[-1] == outside
    assert ("Writing model shards" in err) == outside[0]
    assert any("gradient_checkpointing" in m for m in _messages(recwarn))


def test_the_switches_are_put_back_after_the_command(noisy, capfd):
    from transformers.utils import logging as hf_logging

    before = hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()
    assert main(["noisy"]) == 0
    assert (hf_logging.is_progress_bar_enabled(), hf_logging.get_verbosity()) == before


def test_the_cli_stays_light_to_import():
    import subprocess

    code = ("import sys, unireward_sdk.cli, unireward_sdk.quiet, unireward_sdk.progress; "
            "print(sorted(m for m in ('torch', 'transformers', 'datasets', 'rich') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
