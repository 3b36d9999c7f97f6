"""The paper's two-stage pair construction as pure functions: pair schedules, tie/failure policies,
chosen/rejected lists, and point sifting.

Filters (``pair_ranking``, ``point_sifting``) call these and only add batching of judge calls around them,
so the algorithm can be tested on hand-built verdicts and scores. Scores are compared as numbers, a tie or
an unparseable verdict never makes the first candidate win, and a failed score is never replaced by a
default: it is left out of argmax/argmin with its reason recorded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from attrs import frozen

from ..errors import ConfigError
from ..records import Score, Verdict

STRATEGIES: tuple[str, ...] = ("disjoint", "all_pairs", "round_robin")
POLICIES: tuple[str, ...] = ("drop", "swap", "tie")


class DropReason:
    """Why a prompt yields no pair. Plain strings so they serialise and group in summaries."""

    TOO_FEW_CANDIDATES = "too_few_candidates"
    NO_DECIDED_PAIRS = "no_decided_pairs"  # every ranked pair was dropped (ties / failures under `drop`)
    NO_VALID_CHOSEN_SCORE = "no_valid_chosen_score"  # every chosen-list score failed to parse
    NO_VALID_REJECTED_SCORE = "no_valid_rejected_score"
    NO_DISTINCT_PAIR = "no_distinct_pair"  # only one candidate left with a valid score in both lists
    CHOSEN_NOT_BETTER = "chosen_not_better"  # the paper's rule: max chosen score <= min rejected score
    BELOW_MARGIN = "below_margin"
    SWAP_INCONSISTENT = "swap_inconsistent"

    ALL = (TOO_FEW_CANDIDATES, NO_DECIDED_PAIRS, NO_VALID_CHOSEN_SCORE, NO_VALID_REJECTED_SCORE,
           NO_DISTINCT_PAIR, CHOSEN_NOT_BETTER, BELOW_MARGIN, SWAP_INCONSISTENT)


def check_policy(name: str, value: str) -> str:
    if value not in POLICIES:
        raise ConfigError(f"{name} must be one of {', '.join(POLICIES)}, not {value!r}",
                          who="pair ranking", fix="'drop' skips the pair, 'swap' re-judges it in B/A order, "
                                                  "'tie' counts it as a tie")
    return value


def check_strategy(value: str) -> str:
    if value not in STRATEGIES:
        raise ConfigError(f"pairing strategy must be one of {', '.join(STRATEGIES)}, not {value!r}",
                          who="pair ranking", fix="'disjoint' (the paper) judges (0, 1), (2, 3)...; 'all_pairs' every "
                                                  "pair; 'round_robin' the first `rounds` rounds of a tournament")
    return value


# --- schedules ------------------------------------------------------------------------------------


def _oriented(i: int, j: int) -> tuple[int, int]:
    """Who is shown first: the lower index when i + j is even, else the higher one. Over all pairs every
    candidate is then shown first in half of its games (within one), so no candidate gains from position."""
    lo, hi = min(i, j), max(i, j)
    return (lo, hi) if (lo + hi) % 2 == 0 else (hi, lo)


def schedule(n: int, strategy: str = "disjoint", rounds: int | None = None) -> list[tuple[int, int]]:
    """The pairs to judge, each as (shown first as A, shown second as B).

    - ``disjoint`` (the paper): (0, 1), (2, 3), ...; with odd ``n`` the last candidate sits out.
    - ``all_pairs``: every one of the n(n-1)/2 pairs once, each candidate shown first in about half of
      its games.
    - ``round_robin``: the first ``rounds`` rounds of a circle-method tournament (default: all n-1, which
      covers every pair). Every round is a set of disjoint pairs, so each candidate plays ``rounds`` games;
      who is shown first follows the same rule as ``all_pairs``.
    """
    check_strategy(strategy)
    if n < 2:
        return []
    if strategy == "disjoint":
        return [(i, i + 1) for i in range(0, n - 1, 2)]
    if strategy == "all_pairs":
        return [_oriented(i, j) for i in range(n) for j in range(i + 1, n)]
    players: list[int | None] = list(range(n)) + ([None] if n % 2 else [])
    size = len(players)
    total = size - 1
    if rounds is None:
        rounds = total
    if not 1 <= rounds <= total:
        raise ConfigError(f"round_robin needs 1 <= rounds <= {total} for {n} candidates, got {rounds}",
                          who="pair ranking",
                          fix=f"Set rounds between 1 and {total}, or leave it unset to play them all")
    out: list[tuple[int, int]] = []
    for _ in range(rounds):
        for k in range(size // 2):
            a, b = players[k], players[size - 1 - k]
            if a is None or b is None:
                continue  # a bye when n is odd
            out.append(_oriented(a, b))
        players = [players[0], players[-1], *players[1:-1]]  # rotate all but the first
    return out


# --- one pair's decision --------------------------------------------------------------------------


@frozen
class Decision:
    """What one scheduled pair contributed. ``outcome``: win, tie or dropped (contributes nothing)."""

    a: int
    b: int
    outcome: str
    winner: int | None = None
    loser: int | None = None
    reason: str = ""  # for tie / dropped: why (e.g. "tie", "failure:unparsed", "tie_after_swap")
    via: str = "direct"  # "swap" when the B/A re-judge decided

    def to_dict(self) -> dict[str, Any]:
        return {"pair": [self.a, self.b], "outcome": self.outcome, "winner": self.winner, "loser": self.loser,
                "reason": self.reason, "via": self.via}


def _event(verdict: Verdict) -> tuple[str, str]:
    """('A'|'B', '') for a decisive verdict, ('tie', 'tie') or ('failure', 'failure:<status>')."""
    if not verdict.ok:
        return "failure", f"failure:{verdict.status}"
    if verdict.winner == "tie":
        return "tie", "tie"
    return verdict.winner, ""  # type: ignore[return-value]


def decide(
    a: int,
    b: int,
    verdict: Verdict,
    *,
    on_tie: str = "drop",
    on_failure: str = "swap",
    swapped: Verdict | None = None,
) -> Decision | None:
    """Turn the verdict on (A=a, B=b) into a decision under the tie and failure policies.

    Returns ``None`` when the policy is ``swap`` and the re-judge in (A=b, B=a) order is still needed;
    call again with ``swapped``. A swapped re-judge that is again a tie or a failure drops the pair.
    """
    event, why = _event(verdict)
    if event == "A":
        return Decision(a, b, "win", winner=a, loser=b)
    if event == "B":
        return Decision(a, b, "win", winner=b, loser=a)
    policy = check_policy("on_tie" if event == "tie" else "on_failure", on_tie if event == "tie" else on_failure)
    if policy == "drop":
        return Decision(a, b, "dropped", reason=why)
    if policy == "tie":
        return Decision(a, b, "tie", reason=why)
    if swapped is None:
        return None
    event2, why2 = _event(swapped)
    # in the swapped item candidate b is shown as A
    if event2 == "A":
        return Decision(a, b, "win", winner=b, loser=a, reason=why, via="swap")
    if event2 == "B":
        return Decision(a, b, "win", winner=a, loser=b, reason=why, via="swap")
    return Decision(a, b, "dropped", reason=f"{why};{why2}_after_swap", via="swap")


# --- chosen and rejected lists --------------------------------------------------------------------


def select_lists(decisions: Sequence[Decision], strategy: str = "disjoint") -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The chosen list C and rejected list R, as sorted candidate indices.

    ``disjoint``: winners go to C and losers to R (the paper). A pair counted as a tie (policy ``tie``)
    puts both candidates in both lists: the pairwise judge could not separate them, so point sifting
    decides. ``all_pairs`` / ``round_robin``: net wins (win +1, loss -1, tie 0); C holds the candidates with
    positive net wins, R those with negative ones; a candidate at zero is in neither.
    """
    check_strategy(strategy)
    chosen: set[int] = set()
    rejected: set[int] = set()
    if strategy == "disjoint":
        for d in decisions:
            if d.outcome == "win":
                chosen.add(d.winner)  # type: ignore[arg-type]
                rejected.add(d.loser)  # type: ignore[arg-type]
            elif d.outcome == "tie":
                chosen.update((d.a, d.b))
                rejected.update((d.a, d.b))
    else:
        net = net_wins(decisions)
        chosen = {i for i, w in net.items() if w > 0}
        rejected = {i for i, w in net.items() if w < 0}
    return tuple(sorted(chosen)), tuple(sorted(rejected))


def net_wins(decisions: Sequence[Decision]) -> dict[int, int]:
    """Wins minus losses per candidate over decided pairs (ties count zero, dropped pairs nothing)."""
    net: dict[int, int] = {}
    for d in decisions:
        if d.outcome == "win":
            net[d.winner] = net.get(d.winner, 0) + 1  # type: ignore[index]
            net[d.loser] = net.get(d.loser, 0) - 1  # type: ignore[index]
        elif d.outcome == "tie":
            net.setdefault(d.a, 0)
            net.setdefault(d.b, 0)
    return net


# --- point sifting --------------------------------------------------------------------------------


@frozen
class Sifted:
    """Point sifting's result: the final pair (chosen, rejected) or the reason the prompt is dropped."""

    chosen: int | None
    rejected: int | None
    reason: str = ""
    detail: str = ""
    excluded: tuple[tuple[int, str, str], ...] = ()  # (candidate index, status, error) of failed scores

    @property
    def kept(self) -> bool:
        return self.chosen is not None


def _fmt(value: float) -> str:
    return f"{value:g}"


def sift(chosen: Sequence[int], rejected: Sequence[int], scores: Mapping[int, Score]) -> Sifted:
    """argmax of the chosen list against argmin of the rejected list, kept only when strictly higher.

    Failed scores are left out (listed in ``excluded``). Equal scores resolve to the lowest candidate
    index, which is the candidates' own order, not a judge's position. When tie handling put a candidate
    in both lists, the pair with the largest margin among distinct candidates is taken.
    """
    excluded = tuple(sorted({(i, s.status, s.error or "") for i, s in scores.items()
                             if i in set(chosen) | set(rejected) and not s.ok}))
    valid = {i: float(s.value) for i, s in scores.items() if s.ok and s.value is not None}
    c_ok = [i for i in chosen if i in valid]
    r_ok = [i for i in rejected if i in valid]
    if not c_ok:
        return Sifted(None, None, DropReason.NO_VALID_CHOSEN_SCORE,
                      f"no valid pointwise score among chosen candidates {list(chosen)}", excluded)
    if not r_ok:
        return Sifted(None, None, DropReason.NO_VALID_REJECTED_SCORE,
                      f"no valid pointwise score among rejected candidates {list(rejected)}", excluded)
    best: tuple[float, int, int] | None = None
    for c in c_ok:
        for r in r_ok:
            if c == r:
                continue
            key = (-(valid[c] - valid[r]), c, r)  # largest margin, then lowest indices
            if best is None or key < best:
                best = key
    if best is None:
        return Sifted(None, None, DropReason.NO_DISTINCT_PAIR,
                      f"only candidate {c_ok[0]} has a valid score in both lists", excluded)
    _, c, r = best
    if not valid[c] > valid[r]:
        return Sifted(None, None, DropReason.CHOSEN_NOT_BETTER,
                      f"best chosen candidate {c} scored {_fmt(valid[c])}, not higher than "
                      f"worst rejected candidate {r} with {_fmt(valid[r])}", excluded)
    return Sifted(c, r, excluded=excluded)


def margin(chosen: Score, rejected: Score, *, normalized: bool = False) -> float | None:
    """chosen minus rejected, on the template's scale or on [0, 1] (None when not computable)."""
    if normalized:
        hi, lo = chosen.normalized, rejected.normalized
    else:
        hi, lo = chosen.value, rejected.value
    if hi is None or lo is None:
        return None
    return float(hi) - float(lo)
