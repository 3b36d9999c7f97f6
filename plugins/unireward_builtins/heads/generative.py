"""The ``generative`` head: render the task's template, let the judge write its answer, parse it.

Faithful to how the UnifiedReward checkpoints were trained and evaluated (the answer is read from the
generated text with the task's parser), but batched with greedy decoding pinned by the backend. Pass
``symmetric=True`` to judge every pair in both orders (see :class:`unireward_sdk.judging.Symmetric`).
"""

from __future__ import annotations

from typing import Any

from unireward_sdk import RewardHeadSpec, hookimpl
from unireward_sdk.heads import JudgeHeadBase
from unireward_sdk.interfaces import GENERATE

from .options import JUDGE_HEAD_OPTIONS


class GenerativeHead(JudgeHeadBase):
    """Generate, then parse; every unparseable answer is a failure value carrying the raw text."""

    name = "generative"
    needs = (GENERATE,)

    def _run(self, mode: str, template_id: str, template: Any, requests: list, item_ids: list[str]) -> list:
        raws = self.backend.generate(requests)
        return [self.task.parse(template_id, raw, item_id) for raw, item_id in zip(raws, item_ids)]


def create(*, symmetric: bool = False, on_disagreement: str = "tie", **kwargs: Any) -> Any:
    from unireward_sdk.judging import maybe_symmetric

    return maybe_symmetric(GenerativeHead(**kwargs), symmetric, on_disagreement=on_disagreement)


@hookimpl
def unireward_register_reward_heads():
    yield RewardHeadSpec(
        name="generative",
        factory=create,
        modes=("pairwise", "pointwise"),
        backend_capabilities=GenerativeHead.needs,
        options=JUDGE_HEAD_OPTIONS,
        summary="generate the judge's answer and parse it (faithful to the checkpoints); symmetric=True for A/B+B/A",
    )
