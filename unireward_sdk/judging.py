"""Judging helpers that work with any reward head: swap-symmetric pairwise judging, and rewards for RL.

    judge = Symmetric(head)                         # judges A/B and B/A, reports consistency
    report = consistency_report(judge.judge_pairwise(items))
    rewards = win_rate_rewards(verdicts, group_size=4)
    reward_fn = grpo_reward_function(judge, task="image_understanding")   # for trl's GRPOTrainer

Torch-free on purpose: these functions only move records around, so ``import unireward_sdk`` stays cheap.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs
from attrs import frozen

from .errors import ConfigError
from .records import Candidate, JudgeItem, ParseStatus, Score, Verdict

# --- swap-symmetric judging -------------------------------------------------------------------------

#: What :class:`Symmetric` does when the A/B and B/A orders name different winners.
#:
#: - ``"tie"`` (default): the verdict is a tie; probabilities are still the average of both orders.
#: - ``"fail"``: the verdict is an ``INCONSISTENT`` failure carrying both raw outputs, so a data filter
#:   drops the pair instead of trusting a position-biased answer.
#: - ``"average"``: the label with the highest averaged probability wins (a tie when the head gives no
#:   probabilities, or when A and B are exactly equal).
DISAGREEMENT_POLICIES = ("tie", "fail", "average")

_SWAP_LABEL = {"A": "B", "B": "A", "tie": "tie"}


def _unswap(verdict: Verdict) -> Verdict:
    """A verdict given on the swapped item, expressed in the original item's A/B positions."""
    probabilities = None
    if verdict.probabilities is not None:
        probabilities = {_SWAP_LABEL[k]: v for k, v in verdict.probabilities.items()}
    dims = {axis: (b, a) for axis, (a, b) in verdict.dimension_scores.items()}
    return attrs.evolve(
        verdict,
        winner=_SWAP_LABEL.get(verdict.winner) if verdict.winner is not None else None,
        probabilities=probabilities,
        dimension_scores=dims,
    )


def _average_probabilities(p: Mapping[str, float] | None, q: Mapping[str, float] | None) -> dict[str, float] | None:
    if p is None or q is None:
        return None
    labels = sorted(set(p) | set(q), key=("A", "B", "tie").index)
    return {label: (p.get(label, 0.0) + q.get(label, 0.0)) / 2.0 for label in labels}


def _agreement(p: Mapping[str, float] | None, q: Mapping[str, float] | None, same_winner: bool) -> float:
    """1 - total variation distance of the two orders' distributions; 1/0 by winners without probabilities.

    Total variation is 0 for identical answers and 1 for answers with no label in common (e.g. a judge that
    always says "the first one" puts all mass on A, which un-swapped becomes all mass on B).
    """
    if p is None or q is None:
        return 1.0 if same_winner else 0.0
    labels = set(p) | set(q)
    distance = 0.5 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in labels)
    return min(1.0, max(0.0, 1.0 - distance))


def _argmax_label(probabilities: Mapping[str, float] | None) -> str:
    if not probabilities:
        return "tie"
    best = max(probabilities.values())
    top = [k for k, v in probabilities.items() if v == best]
    # A and B exactly level is no evidence for either position
    return top[0] if len(top) == 1 else "tie"


def combine_orders(forward: Verdict, swapped: Verdict, *, on_disagreement: str = "tie", plugin: str | None = None) -> Verdict:
    """Combine a verdict on (A, B) with a verdict on the swapped item (B, A) into one verdict on (A, B).

    ``swapped`` is the head's verdict on ``item.swapped()``, still in the swapped item's positions; it is
    mapped back here. Probabilities (and per-axis pairwise scores) are averaged when both orders have them.
    Both raw outputs are kept: ``raw`` is the A/B output, ``provenance.extra["swapped_raw"]`` the B/A one.
    ``provenance.extra["order_winners"]`` holds the winner each order named, in its own positions, which
    is what :func:`consistency_report` reads to measure a preference for the first position.
    """
    if on_disagreement not in DISAGREEMENT_POLICIES:
        raise ConfigError(
            f"unknown disagreement policy {on_disagreement!r}",
            who="Symmetric",
            fix=f"Use one of {', '.join(DISAGREEMENT_POLICIES)}",
        )
    back = _unswap(swapped)
    extra = dict(forward.provenance.extra)
    extra.update(
        symmetric=True,
        swapped_raw=swapped.raw,
        order_winners=(forward.winner, swapped.winner),
        order_status=(forward.status, swapped.status),
        on_disagreement=on_disagreement,
    )
    provenance = attrs.evolve(forward.provenance, plugin=plugin or forward.provenance.plugin, extra=extra)

    if not forward.ok or not back.ok:
        # half the evidence is missing: report the failure instead of trusting one position
        failed = [(name, v) for name, v in (("A/B", forward), ("B/A", swapped)) if not v.ok]
        status = failed[0][1].status
        error = "; ".join(f"{name} order failed ({v.status}): {v.error}" for name, v in failed)
        return Verdict.failure(forward.item_id, status, error, raw=forward.raw, provenance=provenance)

    probabilities = _average_probabilities(forward.probabilities, back.probabilities)
    same = forward.winner == back.winner
    consistency = _agreement(forward.probabilities, back.probabilities, same)
    dims = {
        axis: ((a + back.dimension_scores[axis][0]) / 2.0, (b + back.dimension_scores[axis][1]) / 2.0)
        for axis, (a, b) in forward.dimension_scores.items()
        if axis in back.dimension_scores
    }
    if same:
        winner = forward.winner
    elif on_disagreement == "fail":
        return Verdict.failure(
            forward.item_id,
            ParseStatus.INCONSISTENT,
            f"the two orders disagree: A/B says {forward.winner}, B/A says {back.winner} (in A/B positions)",
            raw=forward.raw,
            probabilities=probabilities,
            dimension_scores=dims,
            consistency=consistency,
            provenance=provenance,
        )
    elif on_disagreement == "average":
        winner = _argmax_label(probabilities)
    else:
        winner = "tie"
    return Verdict(
        item_id=forward.item_id,
        winner=winner,
        raw=forward.raw,
        probabilities=probabilities,
        dimension_scores=dims,
        consistency=consistency,
        provenance=provenance,
    )


class Symmetric:
    """Wrap any pairwise reward head to judge every item in both orders (position-bias control).

    Both orders go to the inner head in one batched call. Pointwise scoring passes straight through.
    Attributes the wrapper does not define (``backend``, ``task``...) are read from the inner head.
    """

    def __init__(self, head: Any, *, on_disagreement: str = "tie"):
        if on_disagreement not in DISAGREEMENT_POLICIES:
            raise ConfigError(
                f"unknown disagreement policy {on_disagreement!r}",
                who="Symmetric",
                fix=f"Use one of {', '.join(DISAGREEMENT_POLICIES)}",
            )
        if isinstance(head, Symmetric):
            head = head.inner
        self.inner = head
        self.on_disagreement = on_disagreement
        self.name = f"symmetric({getattr(head, 'name', type(head).__name__)})"

    def __getattr__(self, attribute: str) -> Any:
        # only called for attributes not found normally; guard `inner` against recursion during unpickling
        if attribute == "inner":
            raise AttributeError(attribute)
        return getattr(self.inner, attribute)

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        items = list(items)
        if not items:
            return []
        verdicts = self.inner.judge_pairwise(items + [item.swapped() for item in items])
        if len(verdicts) != 2 * len(items):
            raise ConfigError(
                f"head returned {len(verdicts)} verdicts for {2 * len(items)} items",
                who=self.name,
                fix="A reward head must return one verdict per item, in order",
            )
        n = len(items)
        return [
            combine_orders(verdicts[i], verdicts[n + i], on_disagreement=self.on_disagreement, plugin=self.name)
            for i in range(n)
        ]

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        return self.inner.score_pointwise(items)


def maybe_symmetric(head: Any, symmetric: bool, *, on_disagreement: str = "tie") -> Any:
    """``Symmetric(head)`` when asked for, else the head itself (for factories taking ``symmetric=``)."""
    return Symmetric(head, on_disagreement=on_disagreement) if symmetric else head


@frozen
class ConsistencyReport:
    """How a judge behaves under A/B swaps, over a set of verdicts.

    - ``swap_consistency_rate``: among symmetric verdicts whose two orders both produced a verdict, the
      share where both orders named the same winner (None when there are none);
    - ``mean_consistency``: mean of :attr:`Verdict.consistency` where set (probability-based when known);
    - ``a_preference_rate``: among decisive answers (A or B) in the judge's own positions, the share that
      picked the first position; 0.5 for an unbiased judge on balanced data, 1.0 for "always the first".
      Both orders of a symmetric verdict count, which balances the true winner across positions;
    - ``tie_rate`` and ``failure_rate`` over all verdicts.
    """

    n_verdicts: int
    n_ok: int
    n_failed: int
    n_symmetric: int
    swap_consistency_rate: float | None
    mean_consistency: float | None
    a_preference_rate: float | None
    tie_rate: float | None
    failure_rate: float | None

    def as_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def consistency_report(verdicts: Sequence[Verdict]) -> ConsistencyReport:
    """Swap consistency and first-position preference of a judge, from its verdicts (see :class:`ConsistencyReport`)."""
    verdicts = list(verdicts)
    n_ok = sum(v.ok for v in verdicts)
    symmetric = [v for v in verdicts if v.provenance.extra.get("symmetric")]
    both_answered = agreeing = 0
    first = decisive = 0
    for v in verdicts:
        orders = v.provenance.extra.get("order_winners") if v.provenance.extra.get("symmetric") else None
        if orders is not None:
            forward, swapped = orders
            if forward is not None and swapped is not None:
                both_answered += 1
                agreeing += forward == _SWAP_LABEL[swapped]
            positional = [w for w in (forward, swapped) if w in ("A", "B")]
        else:
            positional = [v.winner] if v.ok and v.winner in ("A", "B") else []
        decisive += len(positional)
        first += sum(w == "A" for w in positional)
    consistencies = [v.consistency for v in verdicts if v.consistency is not None]
    return ConsistencyReport(
        n_verdicts=len(verdicts),
        n_ok=n_ok,
        n_failed=len(verdicts) - n_ok,
        n_symmetric=len(symmetric),
        swap_consistency_rate=_rate(agreeing, both_answered),
        mean_consistency=sum(consistencies) / len(consistencies) if consistencies else None,
        a_preference_rate=_rate(first, decisive),
        tie_rate=_rate(sum(v.ok and v.winner == "tie" for v in verdicts), n_ok),
        failure_rate=_rate(len(verdicts) - n_ok, len(verdicts)),
    )


# --- rewards for group RL ---------------------------------------------------------------------------


def group_pairs(group_size: int) -> list[tuple[int, int]]:
    """The C(G, 2) pairs of a group, in the order :func:`win_rate_rewards` expects: (0,1), (0,2), ..., (G-2,G-1).

    In each pair the first index is candidate A, the second candidate B.
    """
    if group_size < 2:
        raise ConfigError(
            f"a win rate needs a group of at least 2 members, got {group_size}",
            who="win_rate_rewards",
            fix="Generate at least 2 completions per prompt (e.g. GRPOConfig(num_generations=2))",
        )
    return list(itertools.combinations(range(group_size), 2))


def win_rate_rewards(
    verdicts_for_group: Sequence[Verdict], group_size: int, *, use_probabilities: bool = False
) -> list[float]:
    """One reward per group member: its win rate over all pairwise games of the group.

    ``verdicts_for_group`` holds one verdict per pair of :func:`group_pairs` (same order). Each member plays
    G-1 games; a win counts 1, a tie 0.5, a failed verdict 0.5 (a failure is no evidence either way, and
    never a win for the first position), a loss 0. With ``use_probabilities=True`` an ok verdict that has
    probabilities counts P(win) + P(tie)/2 instead of its hard outcome (a smoother reward).
    """
    pairs = group_pairs(group_size)
    verdicts = list(verdicts_for_group)
    if len(verdicts) != len(pairs):
        raise ConfigError(
            f"expected {len(pairs)} verdicts (all pairs of a group of {group_size}), got {len(verdicts)}",
            who="win_rate_rewards",
            fix="Judge every pair from group_pairs(group_size), in that order",
        )
    points = [0.0] * group_size
    for (a, b), verdict in zip(pairs, verdicts):
        if not verdict.ok:
            share_a = 0.5
        elif use_probabilities and verdict.probabilities:
            p = verdict.probabilities
            total = sum(p.get(k, 0.0) for k in ("A", "B", "tie"))
            share_a = (p.get("A", 0.0) + 0.5 * p.get("tie", 0.0)) / total if total > 0 else 0.5
        else:
            share_a = {"A": 1.0, "B": 0.0, "tie": 0.5}[verdict.winner]
        points[a] += share_a
        points[b] += 1.0 - share_a
    return [p / (group_size - 1) for p in points]


def text_of(content: Any) -> str:
    """Plain text of a trl prompt or completion: a string, or chat messages (string or typed-part content)."""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        inner = content.get("content", content.get("text", ""))
        return text_of(inner)
    if isinstance(content, Sequence):
        messages = list(content)
        if messages and all(isinstance(m, Mapping) and "role" in m for m in messages):
            # a prompt conversation: the last user turn is what is asked; a completion: its assistant turns
            users = [m for m in messages if m.get("role") == "user"]
            chosen = users[-1:] if users else [m for m in messages if m.get("role") == "assistant"] or messages
            return "\n".join(text_of(m.get("content", "")) for m in chosen)
        # typed content parts: keep the text parts, skip image/video placeholders
        texts = []
        for part in messages:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping) and part.get("type", "text") == "text":
                texts.append(str(part.get("text", "")))
        return "".join(texts)
    raise TypeError(f"cannot read text from a {type(content).__name__}")


def context_of(extras: Mapping[str, Any], key: str | None) -> tuple[str, ...]:
    """The media paths of a dataset row's ``key`` column (a path or a list of paths; none when absent)."""
    if key is None or extras.get(key) is None:
        return ()
    value = extras[key]
    return (str(value),) if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) else tuple(map(str, value))


def default_make_item(
    task: str,
    prompt: Any,
    completion_a: Any,
    completion_b: Any,
    *,
    item_id: str,
    extras: Mapping[str, Any],
    context_key: str | None = "context",
) -> JudgeItem:
    """A pairwise item for two text completions of one prompt.

    The prompt text is put in both ``prompt`` and ``question`` so that any task finds it where it looks
    (generation tasks read the caption, understanding tasks the question); media paths the judge must see
    (the image or video asked about) come from the dataset column ``context_key`` (a path or a list of
    paths, relative paths as given). Completions are judged as response texts.
    """
    text = text_of(prompt)
    candidates = (
        Candidate(id=f"{item_id}:A", text=text_of(completion_a)),
        Candidate(id=f"{item_id}:B", text=text_of(completion_b)),
    )
    return JudgeItem(
        id=item_id, task=task, candidates=candidates, prompt=text, question=text,
        context=context_of(extras, context_key),
    )


def _same_prompt(a: Any, b: Any) -> bool:
    try:
        return bool(a == b)
    except Exception:  # e.g. objects whose == returns arrays
        return a is b


class GRPORewardFunction:
    """A reward function for trl's ``GRPOTrainer``: pairwise judging within each prompt's group, as win rates.

    ``f(prompts, completions, **kwargs) -> list[float]``: trl passes the ``num_generations`` completions of
    a prompt consecutively. Groups are consecutive runs of equal prompts, or fixed chunks of
    ``num_generations`` when given (then a chunk whose prompts differ is an error). All pairs of all groups
    are judged in one batched ``judge_pairwise`` call, so the head batches across prompts. A member alone
    in its group (a group split across processes) gets ``None``, which trl records as NaN and ignores,
    instead of a made-up reward. Dataset columns arrive in ``kwargs`` as one list entry per completion;
    ``make_item`` receives the first row of the group as ``extras``.

    ``last_verdicts`` keeps the verdicts of the latest call, per group, for inspection and logging.
    """

    def __init__(
        self,
        head: Any,
        task: str,
        *,
        make_item: Callable[..., JudgeItem] | None = None,
        num_generations: int | None = None,
        use_probabilities: bool = False,
        context_key: str | None = "context",
        name: str = "unireward_win_rate",
    ):
        if not hasattr(head, "judge_pairwise"):
            raise ConfigError(
                f"{type(head).__name__} has no judge_pairwise method",
                who="GRPORewardFunction",
                fix="Pass a pairwise reward head (e.g. registry.reward_head('generative', ...))",
            )
        if num_generations is not None and num_generations < 2:
            group_pairs(num_generations)  # raises the explanatory error
        self.head = head
        self.task = task
        self.make_item = make_item
        self.num_generations = num_generations
        self.use_probabilities = use_probabilities
        self.context_key = context_key
        self.__name__ = name  # trl names the reward column and its logs after it
        self.calls = 0
        self.last_verdicts: list[list[Verdict]] = []

    def groups(self, prompts: Sequence[Any]) -> list[tuple[int, int]]:
        """(start, end) index ranges of the groups in a trl batch."""
        n = len(prompts)
        if self.num_generations is not None:
            g = self.num_generations
            if n % g:
                raise ConfigError(
                    f"got {n} completions, not a multiple of num_generations={g}",
                    who=self.__name__,
                    fix="Pass num_generations=None to group by runs of equal prompts",
                )
            spans = [(s, s + g) for s in range(0, n, g)]
            for s, e in spans:
                if not all(_same_prompt(prompts[s], prompts[i]) for i in range(s + 1, e)):
                    raise ConfigError(
                        f"completions {s}..{e - 1} should share one prompt but do not",
                        who=self.__name__,
                        fix="Check num_generations matches the trainer's, or pass num_generations=None",
                    )
            return spans
        spans, start = [], 0
        for i in range(1, n + 1):
            if i == n or not _same_prompt(prompts[i], prompts[start]):
                spans.append((start, i))
                start = i
        return spans

    def _item(self, prompt: Any, a: Any, b: Any, item_id: str, extras: Mapping[str, Any]) -> JudgeItem:
        if self.make_item is not None:
            return self.make_item(prompt, a, b, item_id=item_id, extras=extras)
        return default_make_item(self.task, prompt, a, b, item_id=item_id, extras=extras, context_key=self.context_key)

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if len(prompts) != len(completions):
            raise ConfigError(
                f"{len(prompts)} prompts but {len(completions)} completions", who=self.__name__,
                fix="Pass one prompt per completion, as trl does",
            )
        self.calls += 1
        columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == len(prompts)}
        spans = self.groups(prompts)
        items: list[JudgeItem] = []
        judged: list[tuple[int, int, int]] = []  # (start, end, offset of its verdicts)
        for g, (s, e) in enumerate(spans):
            if e - s < 2:
                continue
            extras = {k: v[s] for k, v in columns.items()}
            judged.append((s, e, len(items)))
            for i, j in group_pairs(e - s):
                item_id = f"call{self.calls}/group{g}/{i}-{j}"
                items.append(self._item(prompts[s], completions[s + i], completions[s + j], item_id, extras))
        verdicts = self.head.judge_pairwise(items) if items else []
        rewards: list[float | None] = [None] * len(prompts)
        self.last_verdicts = []
        for s, e, offset in judged:
            size = e - s
            group_verdicts = verdicts[offset: offset + size * (size - 1) // 2]
            self.last_verdicts.append(group_verdicts)
            rewards[s:e] = win_rate_rewards(group_verdicts, size, use_probabilities=self.use_probabilities)
        self._log(kwargs.get("log_metric"), verdicts)
        return rewards

    def _log(self, log_metric: Any, verdicts: Sequence[Verdict]) -> None:
        """Judge health next to the reward in trl's logs (trl passes ``log_metric(name, value)``)."""
        if not callable(log_metric) or not verdicts:
            return
        report = consistency_report(verdicts)
        values = {"failure_rate": report.failure_rate, "tie_rate": report.tie_rate,
                  "swap_consistency": report.swap_consistency_rate}
        for key, value in values.items():
            if value is not None:
                log_metric(f"{self.__name__}/{key}", value)


def grpo_reward_function(head: Any, task: str, **options: Any) -> GRPORewardFunction:
    """A trl ``GRPOTrainer`` reward function judging each group pairwise (see :class:`GRPORewardFunction`)."""
    return GRPORewardFunction(head, task, **options)


__all__ = [
    "DISAGREEMENT_POLICIES", "ConsistencyReport", "GRPORewardFunction", "Symmetric", "combine_orders",
    "consistency_report", "context_of", "default_make_item", "grpo_reward_function", "group_pairs",
    "maybe_symmetric", "text_of", "win_rate_rewards",
]
