"""Fake pairwise heads for judging-helper tests: no model, fully predictable answers."""

from __future__ import annotations

from unireward_sdk import ParseStatus, Score, Verdict


class PositionBiasedHead:
    """Always prefers the first position, whatever the candidates are (the bias Symmetric must expose)."""

    name = "position_biased"

    def __init__(self, p_first: float = 0.9, with_probabilities: bool = True):
        self.p_first = p_first
        self.with_probabilities = with_probabilities
        self.calls: list[list[str]] = []

    def judge_pairwise(self, items):
        self.calls.append([i.id for i in items])
        probs = {"A": self.p_first, "B": 1 - self.p_first} if self.with_probabilities else None
        return [Verdict(item_id=i.id, winner="A", raw="Image 1 is better.", probabilities=probs) for i in items]

    def score_pointwise(self, items):
        return [Score(item_id=i.id, value=3.0, scale=(1.0, 5.0), raw="Final Score: 3") for i in items]


class QualityHead:
    """Prefers the candidate whose text is longer (a position-free judge); equal lengths are a tie.

    Candidate texts starting with "FAIL" make the verdict an explicit parse failure.
    """

    name = "quality"

    def __init__(self, with_probabilities: bool = True):
        self.with_probabilities = with_probabilities
        self.calls = 0

    def judge_pairwise(self, items):
        self.calls += 1
        out = []
        for item in items:
            a, b = (c.text for c in item.candidates)
            if a.startswith("FAIL") or b.startswith("FAIL"):
                out.append(Verdict.failure(item.id, ParseStatus.UNPARSED, "no verdict phrase", raw="gibberish"))
                continue
            winner = "A" if len(a) > len(b) else "B" if len(b) > len(a) else "tie"
            probs = None
            if self.with_probabilities:
                probs = {"A": 0.8, "B": 0.1, "tie": 0.1} if winner == "A" else (
                    {"A": 0.1, "B": 0.8, "tie": 0.1} if winner == "B" else {"A": 0.2, "B": 0.2, "tie": 0.6})
            out.append(Verdict(item_id=item.id, winner=winner, raw=f"{winner}", probabilities=probs))
        return out

    def score_pointwise(self, items):
        return [Score(item_id=i.id, value=float(len(i.candidates[0].text)), raw="") for i in items]
