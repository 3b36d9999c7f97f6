"""Training a judge whose reward head has trainable parts of its own (the built-in ``scalar`` value head).

The core does not know how a head is trained: the head's plugin says so through the ``trainer`` of its
:class:`~unireward_sdk.specs.RewardHeadSpec`, found here through the registry. For the built-in ``scalar``
head that is Bradley-Terry on pairs and regression on points (its plugin's trainer module documents the
losses, tie handling and files), a
:class:`~unireward_sdk.training.loop.JudgeLoss` run by the loop the generative trainer runs too.
"""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError


def train_scalar_judge(train: Any, base_model: Any, output_dir: Any = None, config: Any = None, *,
                       head: str = "scalar", registry: Any = None, **kwargs: Any):
    """Fit the trainable parts of reward head ``head`` on ``train`` records; returns a TrainReport.

    Same arguments as :func:`~unireward_sdk.training.sft.train_generative_judge` (``eval_records``,
    ``callback``, ``run_name``). The built-in head is saved to ``<output_dir>/value_head``.
    """
    if registry is None:
        from ..registry import get_registry

        registry = get_registry()
    spec = registry.reward_head_spec(head)
    if spec.trainer is None:
        raise ConfigError(f"reward head {head!r} has nothing to train", who=f"reward head {head!r}",
                          fix="Train it generatively (mode = 'generative'), or pick a head whose spec has a trainer, "
                              "such as 'scalar'")
    return spec.trainer(train, base_model, output_dir, config, registry=registry, **kwargs)
