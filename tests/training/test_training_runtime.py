"""Training runtime: torch stays unimported until a trainer runs; accelerate state is renewed between runs."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_training_package_and_command_leaves_torch_unimported():
    code = ("import sys, unireward_sdk.training, unireward_sdk.cli.train_judge; "
            "print(sorted(m for m in ('torch', 'transformers', 'accelerate', 'peft') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_a_run_with_other_precision_renews_the_single_process_accelerate_state():
    from accelerate import Accelerator

    from unireward_sdk.training import JudgeTrainingConfig
    from unireward_sdk.training.runtime import make_accelerator

    from accelerate.state import AcceleratorState

    AcceleratorState._reset_state(reset_partial_state=True)  # whatever earlier tests left
    Accelerator(cpu=True, mixed_precision="bf16")  # an earlier run in this process, e.g. on a GPU
    accelerator = make_accelerator(JudgeTrainingConfig(device="cpu", gradient_accumulation_steps=3))
    assert (str(accelerator.device), accelerator.mixed_precision, accelerator.gradient_accumulation_steps) == \
        ("cpu", "no", 3)
