"""The ``scalar`` reward head: a trained value head on the judge's last hidden state.

Pointwise, the score is the value head's output (a regression value; on the training scale when the head
was fitted with one). Pairwise, each candidate is scored pointwise and the two are compared by
Bradley-Terry: P(A > B) = sigmoid(rA - rB), or Rao-Kupper with a tie probability when the head was fitted
with tie labels; the winner is a tie when |rA - rB| < ``tie_margin``.

The judge prompt is the task's pointwise template (``pointwise_template``, else ``template`` when it is a
pointwise one, else the task's default for the backend's family); features are the backend's
``last_hidden_states`` of that prompt. A head without trained weights refuses to judge: fit one with
:meth:`ScalarRewardHead.fit_preferences` / :meth:`~ScalarRewardHead.fit_scores` (on features cached once),
or load one with ``value_head=PATH``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import attrs

from unireward_sdk import (
    ConfigError,
    JudgeItem,
    MediaError,
    Option,
    ParseStatus,
    Provenance,
    RewardHeadSpec,
    Score,
    Verdict,
    hookimpl,
)

from unireward_sdk.heads import JudgeHeadBase
from unireward_sdk.interfaces import FEATURES, judging_mode

from .options import JUDGE_HEAD_OPTIONS
from .scalar_losses import rao_kupper_probabilities


def __getattr__(name: str) -> Any:
    # the torch module lives next door; exposing it here lazily keeps plugin listing torch-free
    if name in ("ScalarValueHead", "fit_pairwise", "fit_pointwise"):
        from . import scalar_model

        return getattr(scalar_model, name)
    raise AttributeError(name)


def _side(item: JudgeItem, index: int) -> JudgeItem:
    """Candidate ``index`` of a pairwise item as a pointwise item with the same prompt and context."""
    label = "AB"[index]
    return attrs.evolve(item, id=f"{item.id}#{label}", candidates=(item.candidates[index],))


class ScalarRewardHead(JudgeHeadBase):
    """Value-head judging on a backend's hidden states. See the module docstring.

    Batching and failure isolation come from :class:`~unireward_sdk.heads.JudgeHeadBase`: a media error
    or a failing backend call fails its item alone. A value head that does not fit the judge's features
    (a :class:`ConfigError`) stops the job instead, since every item would fail the same way.
    """

    name = "scalar"
    needs = (FEATURES,)
    fatal_errors = (ConfigError,)

    def __init__(
        self,
        backend: Any,
        task: Any,
        template: str | None = None,
        pointwise_template: str | None = None,
        batch_size: int = 16,
        registry: Any = None,
        value_head: Any = None,
        tie_margin: float = 0.0,
        media: Any = None,
        family: str | None = None,
    ):
        if tie_margin < 0:
            raise ConfigError(f"tie_margin must be >= 0, got {tie_margin}", who="reward head 'scalar'",
                              fix="Set tie_margin to 0 (no tie band, the default) or a positive number")
        # the base picks templates per mode; this head judges both modes with one pointwise prompt
        super().__init__(backend, task, batch_size=batch_size, registry=registry, media=media, family=family)
        self.tie_margin = float(tie_margin)
        self.template_id = self._pick_template(template, pointwise_template)
        self.value_head = self._load_value_head(value_head)

    # --- setup ------------------------------------------------------------------------------------

    def template_for(self, mode: str) -> str:
        return self.template_id

    def _is_pointwise(self, template_id: str) -> bool:
        return judging_mode(self.task.template(template_id)) == "pointwise"

    def _pick_template(self, template: str | None, pointwise_template: str | None) -> str:
        who = f"reward head 'scalar' (task {getattr(self.task, 'name', '?')})"
        if pointwise_template is not None:
            if not self._is_pointwise(pointwise_template):
                raise ConfigError(f"template {pointwise_template!r} is not a pointwise template", who=who,
                                  fix="Pass a pointwise template id (see `unireward templates`)")
            return pointwise_template
        if template is not None and self._is_pointwise(template):
            return template
        family = getattr(self.backend, "family", None) or self.family or "qwen_v1"
        for candidate in dict.fromkeys((family, "qwen_v1")):
            try:
                return self.task.default_template("pointwise", candidate)
            except Exception:  # noqa: BLE001 - no default for this family: try the next
                continue
        raise ConfigError(f"no pointwise template for family {family!r}", who=who,
                          fix="Pass pointwise_template=<id> (see `unireward templates`)")

    def _load_value_head(self, value_head: Any):
        if value_head is None:
            return None
        from .scalar_model import ScalarValueHead

        return value_head if isinstance(value_head, ScalarValueHead) else ScalarValueHead.from_pretrained(value_head)

    def _require_value_head(self):
        if self.value_head is None:
            raise ConfigError(
                "has no trained value head, and an untrained one would give arbitrary scores",
                who="reward head 'scalar'",
                fix="Pass value_head=<folder saved by ScalarValueHead.save_pretrained>, or fit one with "
                "head.fit_preferences(items, winners) / head.fit_scores(items, targets)",
            )
        return self.value_head

    # --- features -----------------------------------------------------------------------------------

    def features(self, items: Sequence[JudgeItem]) -> tuple[Any, dict[int, str]]:
        """Hidden-state features ``[n, hidden]`` of pointwise items, and {row: error} for items whose media failed.

        Failed rows hold zeros (never used: callers turn them into failure values).
        """
        import torch

        requests, rows, errors = [], [], {}
        for i, item in enumerate(items):
            try:
                requests.append(self.task.build_request(item, self.template_id, self.media))
                rows.append(i)
            except MediaError as exc:
                errors[i] = str(exc)
        chunks = [self.backend.last_hidden_states(requests[s:s + self.batch_size])
                  for s in range(0, len(requests), self.batch_size)]
        found = torch.cat(chunks) if chunks else None
        width = found.shape[1] if found is not None else (self.value_head.hidden_size if self.value_head else 0)
        out = torch.zeros((len(items), width), dtype=torch.float32)
        if found is not None:
            out[rows] = found.float()
        return out, errors

    def pair_features(self, items: Sequence[JudgeItem]) -> tuple[Any, Any, dict[int, str]]:
        """Features of candidates A and B of pairwise items (one batched pass), and {item row: error}."""
        sides = [_side(item, k) for item in items for k in (0, 1)]
        feats, errors = self.features(sides)
        pair_errors = {row // 2: err for row, err in errors.items()}
        return feats[0::2], feats[1::2], pair_errors

    def _check_width(self, feats) -> None:
        head = self._require_value_head()
        if feats.shape[1] and feats.shape[1] != head.hidden_size:
            raise ConfigError(
                f"value head expects hidden size {head.hidden_size} but the judge gives {feats.shape[1]}",
                who="reward head 'scalar'",
                fix=f"Use the value head trained on {head.base_checkpoint or 'this judge'}'s features, or refit",
            )

    def _rewards(self, feats) -> list[float]:
        import torch

        self._check_width(feats)
        with torch.no_grad():
            return [float(x) for x in self.value_head(feats)]

    def _rewards_of(self, requests: Sequence[Any]) -> list[float]:
        """Rewards of rendered requests, the backend called in chunks of ``batch_size``."""
        import torch

        chunks = [self.backend.last_hidden_states(requests[s:s + self.batch_size])
                  for s in range(0, len(requests), self.batch_size)]
        return self._rewards(torch.cat(chunks).float())

    # --- judging ------------------------------------------------------------------------------------

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        self._require_value_head()
        return super().judge_pairwise(items)

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        self._require_value_head()
        return super().score_pointwise(items)

    def _prepare(self, item: JudgeItem, mode: str, template_id: str | None) -> Any:
        if mode == "pointwise":
            return self.task.build_request(item, template_id, self.media)
        # a pair is judged as its two candidates, each scored with the pointwise prompt
        return tuple(self.task.build_request(_side(item, k), template_id, self.media) for k in (0, 1))

    def _run(self, mode: str, template_id: str | None, template: Any, inputs: list, item_ids: list[str]) -> list:
        if mode == "pointwise":
            return [self._score(item_id, reward) for item_id, reward in zip(item_ids, self._rewards_of(inputs))]
        rewards = self._rewards_of([side for pair in inputs for side in pair])
        eta = float(self.value_head.eta.detach())
        return [self._verdict(item_id, rewards[2 * i], rewards[2 * i + 1], eta) for i, item_id in enumerate(item_ids)]

    def _score(self, item_id: str, reward: float) -> Score:
        if not math.isfinite(reward):
            return Score.failure(item_id, ParseStatus.BACKEND_ERROR, "non-finite reward", raw=f"reward={reward}")
        return Score(item_id=item_id, value=reward, scale=self.value_head.scale, raw=f"reward={reward:.6g}")

    def _verdict(self, item_id: str, ra: float, rb: float, eta: float) -> Verdict:
        raw = f"reward A={ra:.6g} reward B={rb:.6g}"
        provenance = Provenance(extra={"rewards": (ra, rb)})
        if not (math.isfinite(ra) and math.isfinite(rb)):
            return Verdict.failure(item_id, ParseStatus.BACKEND_ERROR, "non-finite reward", raw=raw,
                                   provenance=provenance)
        d = ra - rb
        winner = "tie" if abs(d) < self.tie_margin or d == 0 else ("A" if d > 0 else "B")
        return Verdict(item_id=item_id, winner=winner, raw=raw, provenance=provenance,
                       probabilities=rao_kupper_probabilities(ra, rb, eta))

    # --- fitting ------------------------------------------------------------------------------------

    def _fresh_head(self, hidden: int, **kw: Any):
        from .scalar_model import ScalarValueHead

        return ScalarValueHead(hidden, base_checkpoint=getattr(self.backend, "checkpoint", None),
                               template_id=self.template_id, **kw)

    def fit_preferences(self, items: Sequence[JudgeItem], winners: Sequence[str], **fit_options: Any) -> list[float]:
        """Fit (or keep fitting) the value head on pairwise items with known winners ("A", "B" or "tie").

        Features are computed once; ties switch on Rao-Kupper tie modelling for a fresh head. Returns the
        per-step losses. ``fit_options`` go to :func:`~.scalar_model.fit_pairwise` (steps, lr, ...).
        """
        import torch

        from .scalar_model import fit_pairwise

        if len(items) != len(winners) or any(w not in ("A", "B", "tie") for w in winners):
            raise ConfigError("need one winner in ('A', 'B', 'tie') per item", who="ScalarRewardHead.fit_preferences",
                              fix="Pass winners as a list of 'A', 'B' or 'tie', as long as items")
        fa, fb, errors = self.pair_features(items)
        if errors:
            raise ConfigError(f"{len(errors)} training items have unreadable media: {next(iter(errors.values()))}",
                              who="ScalarRewardHead.fit_preferences", fix="Fix or drop those items")
        b_won = torch.tensor([w == "B" for w in winners])
        chosen = torch.where(b_won[:, None], fb, fa)
        rejected = torch.where(b_won[:, None], fa, fb)
        ties = torch.tensor([w == "tie" for w in winners])
        if self.value_head is None:
            self.value_head = self._fresh_head(fa.shape[1], models_ties=bool(ties.any()))
        self._check_width(fa)
        return fit_pairwise(self.value_head, chosen, rejected,
                            ties=ties if self.value_head.models_ties else None, **fit_options)

    def fit_scores(self, items: Sequence[JudgeItem], targets: Sequence[float], *,
                   scale: tuple[float, float] | None = None, **fit_options: Any) -> list[float]:
        """Fit the value head by regression on pointwise items and target scores (on ``scale`` if given)."""
        import torch

        from .scalar_model import fit_pointwise

        feats, errors = self.features(items)
        if errors:
            raise ConfigError(f"{len(errors)} training items have unreadable media: {next(iter(errors.values()))}",
                              who="ScalarRewardHead.fit_scores", fix="Fix or drop those items")
        if self.value_head is None:
            self.value_head = self._fresh_head(feats.shape[1], scale=scale)
        self._check_width(feats)
        return fit_pointwise(self.value_head, feats, torch.tensor(list(targets), dtype=torch.float32), **fit_options)


def make_scalar_head(*, symmetric: bool = False, on_disagreement: str = "tie", **options: Any) -> Any:
    """Registry factory: a :class:`ScalarRewardHead`, wrapped in :class:`~unireward_sdk.judging.Symmetric` on request."""
    from unireward_sdk.judging import maybe_symmetric

    return maybe_symmetric(ScalarRewardHead(**options), symmetric, on_disagreement=on_disagreement)


def train_value_head(*args: Any, **kwargs: Any) -> Any:
    """Spec trainer: fits the value head from judge training records (torch loads only when called)."""
    from ..training.scalar_trainer import train_scalar_judge

    return train_scalar_judge(*args, **kwargs)


@hookimpl
def unireward_register_reward_heads():
    from ..training.scalar_options import TRAINER_OPTIONS

    yield RewardHeadSpec(
        name="scalar",
        factory=make_scalar_head,
        trainer=train_value_head,
        trainer_options=TRAINER_OPTIONS,
        modes=("pairwise", "pointwise"),
        backend_capabilities=ScalarRewardHead.needs,
        options=(*JUDGE_HEAD_OPTIONS,
                 Option("value_head", object, default=None,
                        help="the trained value head: a folder saved by ScalarValueHead.save_pretrained, or the object"),
                 Option("tie_margin", float, default=0.0, help="pairwise: a tie when |rA - rB| is below this")),
        requires=("torch",),
        summary="value head on the judge's last hidden state (Bradley-Terry pairwise, regression pointwise)",
    )
