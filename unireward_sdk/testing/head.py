"""Contract tests for reward-head plugins: subclass :class:`HeadContract`, state fixtures, inherit checks.

    from unireward_sdk.testing.head import HeadContract

    class TestMyHead(HeadContract):
        modes = ("pairwise",)                      # what the head's RewardHeadSpec declares

        @pytest.fixture
        def head(self, my_backend):
            return MyHead(backend=my_backend, task="image_generation")

        @pytest.fixture
        def pairwise_items(self, tmp_path):        # three or more valid pairwise JudgeItems
            return make_pairs(tmp_path)

        @pytest.fixture
        def broken_item(self, tmp_path):           # a pairwise item whose media file does not exist
            return JudgeItem(id="broken", task="image_generation", prompt="x",
                             candidates=[Candidate("a", "image", path=str(tmp_path / "missing.png")),
                                         Candidate("b", "image", path=str(tmp_path / "missing2.png"))])

(and ``pointwise_items`` when ``"pointwise"`` is declared). The inherited tests check what every caller
of a head relies on: one result per item, in order, with the item's id; a batch gives the same results
as the items judged one at a time (padding and batching change nothing); two runs give the same results;
a broken input is a failure *value* (status and error set, no winner / no score) that leaves its
neighbours intact; and a mode the head does not declare raises :class:`CapabilityError`.

A head written on :class:`unireward_sdk.JudgeHeadBase` gets batching and the failure rules from the
base; the built-in generative, fast and scalar heads run this contract in the SDK's own tests.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, ClassVar

import pytest

from ..errors import CapabilityError
from ..records import JudgeItem, ParseStatus, Score, Verdict

MODES = ("pairwise", "pointwise")


def _same(a: Any, b: Any, tol: float) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=tol, abs_tol=tol)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], tol) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y, tol) for x, y in zip(a, b))
    return a == b


def assert_same_judgment(a: Verdict | Score, b: Verdict | Score, tol: float = 1e-4) -> None:
    """Two judgments agree: status, winner / value, probabilities and per-axis values (floats within tol)."""
    assert type(a) is type(b), f"{a.item_id}: {type(a).__name__} vs {type(b).__name__}"
    assert a.item_id == b.item_id
    assert a.status == b.status, f"{a.item_id}: status {a.status!r} vs {b.status!r} ({a.error} / {b.error})"
    if isinstance(a, Verdict):
        assert a.winner == b.winner, f"{a.item_id}: winner {a.winner!r} vs {b.winner!r}"
        pa = dict(a.probabilities) if a.probabilities is not None else None
        pb = dict(b.probabilities) if b.probabilities is not None else None
        assert _same(pa, pb, tol), f"{a.item_id}: probabilities {pa} vs {pb}"
        assert _same(dict(a.dimension_scores), dict(b.dimension_scores), tol)
    else:
        assert _same(a.value, b.value, tol), f"{a.item_id}: value {a.value} vs {b.value}"
        assert _same(dict(a.dimensions), dict(b.dimensions), tol)
    assert a.raw == b.raw, f"{a.item_id}: raw output differs: {a.raw!r} vs {b.raw!r}"


class HeadContract:
    """Checks every reward head must pass. Not collected itself (no ``Test`` prefix)."""

    #: modes the head declares in its RewardHeadSpec
    modes: ClassVar[tuple[str, ...]] = MODES
    #: tolerance on probabilities / scores between batched and per-item runs (float reduction order)
    tolerance: ClassVar[float] = 1e-4

    # --- fixtures a subclass provides ---------------------------------------------------------------

    @pytest.fixture
    def head(self) -> Any:
        raise NotImplementedError("a HeadContract subclass must define the `head` fixture")

    @pytest.fixture
    def pairwise_items(self) -> Sequence[JudgeItem]:
        raise NotImplementedError("a HeadContract subclass declaring 'pairwise' must define `pairwise_items`")

    @pytest.fixture
    def pointwise_items(self) -> Sequence[JudgeItem]:
        raise NotImplementedError("a HeadContract subclass declaring 'pointwise' must define `pointwise_items`")

    @pytest.fixture
    def broken_item(self) -> JudgeItem:
        raise NotImplementedError("a HeadContract subclass must define `broken_item` (an item with a missing file)")

    # --- helpers ------------------------------------------------------------------------------------

    def _items(self, request, mode: str) -> list[JudgeItem]:
        if mode not in self.modes:
            pytest.skip(f"the head does not declare {mode}")
        return list(request.getfixturevalue(f"{mode}_items"))

    @staticmethod
    def _call(head: Any, mode: str, items: Sequence[JudgeItem]) -> list:
        return head.judge_pairwise(items) if mode == "pairwise" else head.score_pointwise(items)

    # --- the contract -------------------------------------------------------------------------------

    @pytest.mark.parametrize("mode", MODES)
    def test_one_result_per_item_in_order(self, request, head, mode):
        items = self._items(request, mode)
        assert len(items) >= 2, "give at least two items so order can be checked"
        results = self._call(head, mode, items)
        assert isinstance(results, list) and len(results) == len(items)
        expected_type = Verdict if mode == "pairwise" else Score
        for item, result in zip(items, results):
            assert isinstance(result, expected_type), f"{mode} must return {expected_type.__name__} records"
            assert result.item_id == item.id
            assert result.status in ParseStatus.ALL
        assert self._call(head, mode, []) == []

    @pytest.mark.parametrize("mode", MODES)
    def test_batch_equals_per_item(self, request, head, mode):
        items = self._items(request, mode)
        batched = self._call(head, mode, items)
        for item, together in zip(items, batched):
            alone = self._call(head, mode, [item])[0]
            assert_same_judgment(together, alone, self.tolerance)

    @pytest.mark.parametrize("mode", MODES)
    def test_deterministic(self, request, head, mode):
        items = self._items(request, mode)
        for first, second in zip(self._call(head, mode, items), self._call(head, mode, items)):
            assert_same_judgment(first, second, 0.0)

    def test_failures_are_values(self, request, head, broken_item):
        mode = broken_item.mode
        items = self._items(request, mode)
        mixed = [items[0], broken_item, *items[1:]]
        results = self._call(head, mode, mixed)
        assert len(results) == len(mixed)
        bad = results[1]
        assert bad.item_id == broken_item.id
        assert bad.status != ParseStatus.OK and bad.error, "a broken input must be a failure value with an error"
        if isinstance(bad, Verdict):
            assert bad.winner is None, "a failed verdict must not name a winner"
        else:
            assert bad.value is None, "a failed score must not carry a value"
        clean = self._call(head, mode, items)
        for good, reference in zip([results[0], *results[2:]], clean):
            assert_same_judgment(good, reference, self.tolerance)

    @pytest.mark.parametrize("mode", MODES)
    def test_refuses_undeclared_modes(self, head, mode):
        if mode in self.modes:
            pytest.skip(f"the head declares {mode}")
        with pytest.raises(CapabilityError):
            self._call(head, mode, [])
