"""``judges.ChecksReadout``: understanding verdicts and scores decided from the values the judge wrote."""

from __future__ import annotations

import pytest

from unireward_sdk.records import Provenance, Score, Verdict
from unireward_testbed import checkpoints as C
from unireward_testbed.judges import ChecksReadout, pair_head


class _Judge:
    """Returns the verdicts and scores it was given, as a reward head would for the items asked."""

    task = "image_understanding"

    def __init__(self, verdicts=(), scores=()):
        self.verdicts, self.scores = list(verdicts), list(scores)

    def judge_pairwise(self, items):
        return self.verdicts[:len(items)]

    def score_pointwise(self, items):
        return self.scores[:len(items)]


def _verdict(winner, raw, status="ok"):
    error = None if status == "ok" else "no verdict"
    return Verdict(item_id="q#rank:0-1", winner=winner if status == "ok" else None, raw=raw, status=status,
                   error=error, provenance=Provenance(plugin="generative", extra={"kept": 1}))


def test_a_pair_goes_to_the_answer_whose_named_value_is_the_one_shown():
    judge = ChecksReadout(_Judge(verdicts=[
        # the values say answer 2 is right; the judge's "yes" and its verdict contradict them
        _verdict("A", "Answer 1: yellow green yes\nAnswer 2: green green yes\nAnswer 1 is better."),
        # both answers match the value shown: the checks decide nothing, the judge's verdict stands
        _verdict("B", "Answer 1: green green yes\nAnswer 2: green green yes\nAnswer 2 is better."),
        # no checks at all
        _verdict("A", "Answer 1 is better."),
        # a failed answer stays failed, whatever its checks say
        _verdict(None, "Answer 1: red green no\nAnswer 2: green green yes\nAnswer", status="unparsed"),
    ]))
    changed, tied, bare, failed = judge.judge_pairwise([object()] * 4)
    assert changed.winner == "B" and changed.status == "ok"
    assert changed.provenance.extra == {"kept": 1, "readout": "checks", "judge_winner": "A"}
    assert changed.provenance.plugin == "generative" and changed.raw.startswith("Answer 1: yellow")
    assert (tied.winner, bare.winner) == ("B", "A") and "readout" not in tied.provenance.extra
    assert failed.status == "unparsed" and failed.winner is None


def test_a_score_is_the_top_of_the_scale_when_the_values_match_and_the_bottom_when_not():
    def score(value, raw):
        return Score(item_id="q#point:0", value=value, scale=(1.0, 5.0), raw=raw)

    judge = ChecksReadout(_Judge(scores=[score(1.0, "green green no\nFinal Score: 1"),
                                         score(5.0, "yellow green yes\nFinal Score: 5"),
                                         score(3.0, "Final Score: 3")]))
    matched, mismatched, unchecked = judge.score_pointwise([object()] * 3)
    assert matched.value == 5.0 and matched.provenance.extra["judge_value"] == 1.0
    assert mismatched.value == 1.0 and mismatched.provenance.extra["judge_value"] == 5.0
    assert unchecked.value == 3.0 and "readout" not in unchecked.provenance.extra
    assert judge.task == "image_understanding"  # everything else is the judge's


def test_pair_head_refuses_an_unknown_readout_and_checks_for_generation():
    checkpoint = C.require("judge_single/image_understanding")
    with pytest.raises(ValueError, match="unknown readout"):
        pair_head(checkpoint, "image_understanding", readout="majority")
    with pytest.raises(ValueError, match="image_generation has no such checks"):
        pair_head(checkpoint, "image_generation", readout="checks")
    head = pair_head(checkpoint, "image_understanding", readout="checks")
    assert isinstance(head, ChecksReadout) and head.task.name == "image_understanding"


def test_the_full_profile_reads_the_checks_and_the_quick_one_the_judges_verdicts():
    from unireward_testbed.demo import PROFILES
    from unireward_testbed.judges import READOUTS

    assert all(p.qa_readout in READOUTS for p in PROFILES.values())
    assert PROFILES["full"].qa_readout == "checks" and PROFILES["quick"].qa_readout == "verdict"
