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
    ParseStatus,
    Provenance,
    RewardHeadSpec,
    Score,
    Verdict,
    hookimpl,
)

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


class ScalarRewardHead:
    """Value-head judging on a backend's hidden states. See the module docstring."""

    name = "scalar"

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
    ):
        if tie_margin < 0:
            raise ConfigError(f"tie_margin must be >= 0, got {tie_margin}", who="reward head 'scalar'",
                              fix="Set tie_margin to 0 (no tie band, the default) or a positive number")
        if registry is None:
            from unireward_sdk import get_registry

            registry = get_registry()
        self.backend = backend
        self.registry = registry
        self.task = registry.task(task) if isinstance(task, str) else task
        self.batch_size = int(batch_size)
        self.tie_margin = float(tie_margin)
        self.template_id = self._pick_template(template, pointwise_template)
        if media is None:
            from unireward_sdk.media import MediaCache

            media = MediaCache(registry=registry)
        self.media = media
        self.value_head = self._load_value_head(value_head)

    # --- setup ------------------------------------------------------------------------------------

    def _is_pointwise(self, template_id: str) -> bool:
        template = self.task.template(template_id)
        return str(getattr(template, "mode", "")).startswith("pointwise")

    def _pick_template(self, template: str | None, pointwise_template: str | None) -> str:
        who = f"reward head 'scalar' (task {getattr(self.task, 'name', '?')})"
        if pointwise_template is not None:
            if not self._is_pointwise(pointwise_template):
                raise ConfigError(f"template {pointwise_template!r} is not a pointwise template", who=who,
                                  fix="Pass a pointwise template id (see `unireward templates`)")
            return pointwise_template
        if template is not None and self._is_pointwise(template):
            return template
        family = getattr(self.backend, "family", "qwen_v1")
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

    def _provenance(self, **extra: Any) -> Provenance:
        return Provenance(plugin=self.name, checkpoint=getattr(self.backend, "checkpoint", None),
                          template_id=self.template_id, extra=extra)

    # --- judging ------------------------------------------------------------------------------------

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        items = list(items)
        head = self._require_value_head()
        if not items:
            return []
        fa, fb, errors = self.pair_features(items)
        ra, rb = self._rewards(fa), self._rewards(fb)
        eta = float(head.eta)
        verdicts = []
        for i, item in enumerate(items):
            raw = f"reward A={ra[i]:.6g} reward B={rb[i]:.6g}"
            provenance = self._provenance(rewards=(ra[i], rb[i]))
            if i in errors:
                verdicts.append(Verdict.failure(item.id, ParseStatus.MEDIA_ERROR, errors[i], provenance=provenance))
                continue
            if not (math.isfinite(ra[i]) and math.isfinite(rb[i])):
                verdicts.append(Verdict.failure(item.id, ParseStatus.BACKEND_ERROR, "non-finite reward",
                                                raw=raw, provenance=provenance))
                continue
            d = ra[i] - rb[i]
            winner = "tie" if abs(d) < self.tie_margin or d == 0 else ("A" if d > 0 else "B")
            verdicts.append(Verdict(item_id=item.id, winner=winner, raw=raw, provenance=provenance,
                                    probabilities=rao_kupper_probabilities(ra[i], rb[i], eta)))
        return verdicts

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        items = list(items)
        head = self._require_value_head()
        if not items:
            return []
        feats, errors = self.features(items)
        rewards = self._rewards(feats)
        scores = []
        for i, item in enumerate(items):
            if i in errors:
                scores.append(Score.failure(item.id, ParseStatus.MEDIA_ERROR, errors[i], provenance=self._provenance()))
            elif not math.isfinite(rewards[i]):
                scores.append(Score.failure(item.id, ParseStatus.BACKEND_ERROR, "non-finite reward",
                                            raw=f"reward={rewards[i]}", provenance=self._provenance()))
            else:
                scores.append(Score(item_id=item.id, value=rewards[i], scale=head.scale,
                                    raw=f"reward={rewards[i]:.6g}", provenance=self._provenance()))
        return scores

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
        requires=("torch",),
        summary="value head on the judge's last hidden state (Bradley-Terry pairwise, regression pointwise)",
    )
