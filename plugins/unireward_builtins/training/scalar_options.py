"""The options of the ``scalar`` head's trainer, as ``[training.head_options]`` in a train-judge config.

Torch-free, so the head's spec can declare them without loading its trainer.
"""

from __future__ import annotations

from unireward_sdk.options import Option

TRAINER_OPTIONS = (
    Option("ties", str, default="rao_kupper", choices=("rao_kupper", "drop"),
           help="rao_kupper: Bradley-Terry with ties (a learned tie threshold); drop: leave tie pairs out"),
    Option("point_weight", float, default=1.0,
           help="weight of the pointwise regression loss next to the pairwise loss"),
    Option("head_lr", float, default=0.01, help="learning rate of the value head (Adam)"),
    Option("scalar_finetune", bool, default=False,
           help="also train the judge (LoRA or full, at learning_rate) through its last hidden state"),
)
