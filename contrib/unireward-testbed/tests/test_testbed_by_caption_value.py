"""Per value a caption names: what a generation policy draws (``generation.by_caption_value``), what the
method's pairs teach about it (``generation.pairs_by_caption_value``), the demo's sum over seeds and the
report's table."""

from __future__ import annotations

from attrs import evolve

from unireward_sdk.records import Candidate, PreferencePair
from unireward_testbed.demo import _by_caption_value
from unireward_testbed.generation import by_caption_value, pairs_by_caption_value
from unireward_testbed.media import save_image
from unireward_testbed.pairs import PAIR_KINDS
from unireward_testbed.report import tables
from unireward_testbed.world import Motion, Scene, render_scene

ZERO = dict.fromkeys(PAIR_KINDS, 0)


def test_shares_are_grouped_by_the_value_each_caption_names():
    truths = [Motion("circle", "red", "left"), Motion("square", "red", "up"), Motion("circle", "green", "up")]
    per_attribute = {"colour": [0.0, 0.5, 1.0], "shape": [1.0, 0.0, 0.5], "direction": [0.25, 0.25, 0.75]}
    shares = by_caption_value(per_attribute, truths)
    assert shares["colour"] == {"green": 1.0, "red": 0.25}
    assert shares["shape"] == {"circle": 0.75, "square": 0.0}
    assert shares["direction"] == {"left": 0.25, "up": 0.5}


def _pair(tmp_path, pid: str, chosen: Scene, rejected: Scene) -> PreferencePair:
    paths = [save_image(render_scene(s), tmp_path / f"{pid}-{side}.png") for side, s in
             (("c", chosen), ("r", rejected))]
    return PreferencePair(prompt_id=pid, task="image_generation", chosen=Candidate(id=f"{pid}-c", path=paths[0]),
                          rejected=Candidate(id=f"{pid}-r", path=paths[1]), question="?")


def test_each_pair_is_read_by_the_oracle_under_the_values_its_caption_names(tmp_path):
    red = Scene("circle", "red", "left")
    green = Scene("square", "green", "top")
    truth = {"r1": red, "r2": red, "g1": green}
    pairs = [_pair(tmp_path, "r1", red, evolve(red, colour="blue")),              # teaches red
             _pair(tmp_path, "r2", evolve(red, colour="yellow"), red),            # teaches against it
             _pair(tmp_path, "g1", evolve(green, colour="blue"), evolve(green, colour="red", shape="circle"))]
    counts = pairs_by_caption_value(pairs, truth)
    assert set(counts) == {"colour", "shape", "position", "count"}
    assert counts["colour"] == {"green": {**ZERO, "both_wrong": 1},
                                "red": {**ZERO, "chosen_right": 1, "rejected_right": 1}}
    assert counts["shape"] == {"circle": {**ZERO, "both_right": 2}, "square": {**ZERO, "chosen_right": 1}}
    assert counts["position"]["left"] == {**ZERO, "both_right": 2}


def test_the_demo_sums_pairs_over_seeds_and_the_report_shows_before_and_after():
    def run(after: float, chosen_right: int) -> dict:
        return {"after": {"by_value": {"colour": {"red": after}}},
                "pairs_by_value": {"colour": {"red": {**ZERO, "chosen_right": chosen_right, "both_wrong": 2}}}}

    gen = {"before": {"by_value": {"colour": {"red": 0.25}}},
           "runs": {"two_stage/0": run(0.5, 1), "two_stage/1": run(0.75, 0)}}
    summed = _by_caption_value(gen, [0, 1])
    assert summed == {"colour": {"red": {"before": 0.25, "after": [0.5, 0.75],
                                         "pairs": {**ZERO, "chosen_right": 1, "both_wrong": 4}}}}

    results = {"video_generation": {"by_caption_value": summed, "eval": "16 held-out captions",
                                    "before": {"mean": 0.5, "ci": [0.4, 0.6]}}}
    (table,) = [t for t in tables(results)
                if t[0].startswith("Per value a caption names (text-to-video)")]
    _, header, rows, _ = table
    assert header[:5] == ["attribute", "value", "before (%)", "after DPO (%)", "pairs"]
    assert rows == [["colour", "red", "25.0", "62.5 (50, 75)", "5", "1", "0", "0", "4"]]

    # a seed whose policy kept too few pairs to train counts its pairs and has no "after"
    gen["runs"]["two_stage/1"]["after"] = None
    summed = _by_caption_value(gen, [0, 1])
    assert summed["colour"]["red"]["after"] == [0.5, None]
    results["video_generation"]["by_caption_value"] = summed
    (table,) = [t for t in tables(results) if t[0].startswith("Per value a caption names")]
    assert table[2] == [["colour", "red", "25.0", "50.0 (50, —)", "5", "1", "0", "0", "4"]]
