"""Scalar-head judge training (Bradley-Terry on pairs, regression on points) behind a torch-free import.

The trainer builds on the built-in ``scalar`` head's value head and losses, so it lives with them in
``unireward_builtins.training.scalar_trainer`` (see its docstring for losses, tie handling and files);
this module only forwards to it when called.
"""

from __future__ import annotations

from typing import Any


def train_scalar_judge(train: Any, base_model: Any, output_dir: Any = None, config: Any = None, **kwargs: Any):
    """Fit a value head for the ``scalar`` head on ``train`` records; returns a TrainReport.

    Same arguments as :func:`~unireward_sdk.training.sft.train_generative_judge` (``eval_records``,
    ``registry``, ``callback``, ``run_name``). The head is saved to ``<output_dir>/value_head``.
    """
    from unireward_builtins.training.scalar_trainer import train_scalar_judge as train_impl

    return train_impl(train, base_model, output_dir, config, **kwargs)
