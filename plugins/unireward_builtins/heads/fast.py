"""The ``fast`` head: one teacher-forced forward pass per item instead of generating the answer.

The template's :class:`~unireward_sdk.templates.Readout` says how the checkpoint's answer begins
(``prefix``) and which continuation means what (``choices``: ``"A"``, ``"B"``, ``"tie"`` for pairwise
templates, score values such as ``"1"``..``"5"`` for pointwise ones). The head asks the backend for
log P(choice | prompt, prefix) and normalises over the choices:

- pairwise: ``Verdict.probabilities`` = {label: P}, winner = the most probable label (``tie`` when A and B
  are exactly level);
- pointwise: ``Score.value`` = the expected value sum_v P(v)·v on the template's scale, and
  ``provenance.extra["distribution"]`` the distribution itself.

When is this the generative head's answer? Greedy decoding picks the most probable first token of the
answer; if the checkpoint's whole answer is ``prefix + choice`` (``readout.exact``, e.g. Qwen's
"Image 1 is better.") the fast head reads exactly the decision the generative head takes. Templates that
first write free text (checklists, reasons, ``<think>``) are approximated: the readout skips the
reasoning, and ``readout.note`` says why. Each result records ``readout_method`` (the method named by the backend's
:class:`~unireward_sdk.interfaces.ContinuationScores`, e.g. ``single_pass`` or ``exact``) and ``readout_exact`` in its provenance.
"""

from __future__ import annotations

import math
from typing import Any

from unireward_sdk import RewardHeadSpec, hookimpl
from unireward_sdk.errors import CapabilityError
from unireward_sdk.heads import JudgeHeadBase
from unireward_sdk.interfaces import SCORE_CONTINUATIONS
from unireward_sdk.records import Provenance, Score, Verdict

from .options import JUDGE_HEAD_OPTIONS

PAIRWISE_LABELS = ("A", "B", "tie")


def normalise(logprobs: list[float]) -> list[float]:
    """Softmax of log-probabilities (the choices' probabilities given that one of them is the answer)."""
    top = max(logprobs)
    weights = [math.exp(v - top) for v in logprobs]
    total = sum(weights)
    return [w / total for w in weights]


def verdict_from_distribution(item_id: str, probabilities: dict[str, float], extra: dict) -> Verdict:
    best = max(probabilities.values())
    top = [label for label, p in probabilities.items() if p == best]
    winner = top[0] if len(top) == 1 else "tie"
    return Verdict(item_id=item_id, winner=winner, probabilities=probabilities, raw="",
                   provenance=_extra(extra))


def score_from_distribution(item_id: str, distribution: dict[str, float], scale: Any, extra: dict) -> Score:
    value = sum(float(label) * p for label, p in distribution.items())
    return Score(item_id=item_id, value=value, scale=tuple(scale) if scale is not None else None,
                 raw="", provenance=_extra(dict(extra, distribution=distribution)))


def _extra(extra: dict) -> Provenance:
    return Provenance(extra=extra)


def check_readout(mode: str, template_id: str, template: Any) -> None:
    """Refuse a template without a readout this head can read (A/B/tie labels, or numbers for scores)."""
    readout = getattr(template, "readout", None)
    if readout is None:
        raise CapabilityError(
            f"template '{template_id}' has no readout (its answer has no fixed verdict or score tokens)",
            who="reward head 'fast'",
            fix="Use the 'generative' head for this template, or pick a template with a readout "
            "(`unireward templates` lists them)",
        )
    labels = set(readout.choices)
    if mode == "pairwise" and not labels <= set(PAIRWISE_LABELS):
        raise CapabilityError(f"template '{template_id}' readout labels {sorted(labels)} are not A/B/tie",
                              who="reward head 'fast'",
                              fix="Pick a pairwise template whose readout choices are A, B (and tie), "
                              "or use the 'generative' head")
    if mode == "pointwise":
        try:
            [float(label) for label in labels]
        except ValueError:
            raise CapabilityError(f"template '{template_id}' readout labels {sorted(labels)} are not numbers",
                                  who="reward head 'fast'",
                                  fix="Pick a pointwise template whose readout choices are numbers, "
                                  "or use the 'generative' head") from None


class FastHead(JudgeHeadBase):
    """Single-pass verdicts and scores from the template's readout (see the module docstring)."""

    name = "fast"
    needs = (SCORE_CONTINUATIONS,)

    def _check_template(self, mode: str, template_id: str, template: Any) -> None:
        check_readout(mode, template_id, template)

    def _run(self, mode: str, template_id: str, template: Any, requests: list, item_ids: list[str]) -> list:
        readout = template.readout
        labels = list(readout.choices)
        texts = [readout.choices[label] for label in labels]
        readouts = self.backend.score_continuations(requests, [readout.prefix] * len(requests),
                                                    [texts] * len(requests))
        out = []
        for item_id, scored in zip(item_ids, readouts):
            row = list(scored.logprobs)
            probabilities = dict(zip(labels, normalise(row)))
            extra = {"readout_method": scored.method or None, "readout_exact": bool(readout.exact),
                     "logprobs": dict(zip(labels, row))}
            if mode == "pairwise":
                out.append(verdict_from_distribution(item_id, probabilities, extra))
            else:
                out.append(score_from_distribution(item_id, probabilities, template.score_range, extra))
        return out


def create(*, symmetric: bool = False, on_disagreement: str = "tie", **kwargs: Any) -> Any:
    from unireward_sdk.judging import maybe_symmetric

    return maybe_symmetric(FastHead(**kwargs), symmetric, on_disagreement=on_disagreement)


@hookimpl
def unireward_register_reward_heads():
    yield RewardHeadSpec(
        name="fast",
        factory=create,
        modes=("pairwise", "pointwise"),
        backend_capabilities=FastHead.needs,
        options=JUDGE_HEAD_OPTIONS,
        template_check=check_readout,
        summary="one teacher-forced forward pass: P(A), P(B), P(tie) or the expected score (template readout)",
    )
