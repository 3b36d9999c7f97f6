"""The synthetic world is deterministic under a seed, and the preference simulator with it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from unireward_testbed.preferences import TASKS, PreferenceSimulator
from unireward_testbed.world import World, render_motion, render_scene


def _pixels(image) -> bytes:
    return np.asarray(image).tobytes()


def test_same_seed_same_captions_questions_and_pixels():
    a, b = World(seed=3, max_count=3), World(seed=3, max_count=3)
    assert [s.caption() for s in a.scenes(40)] == [s.caption() for s in b.scenes(40)]
    assert [m.caption() for m in a.motions(40)] == [m.caption() for m in b.motions(40)]
    assert [a.scene_question(i)[1] for i in range(40)] == [b.scene_question(i)[1] for i in range(40)]
    assert [a.motion_question(i)[1] for i in range(40)] == [b.motion_question(i)[1] for i in range(40)]
    for i in range(10):
        assert _pixels(render_scene(a.scene(i))) == _pixels(render_scene(b.scene(i)))
        assert [_pixels(f) for f in render_motion(a.motion(i))] == [_pixels(f) for f in render_motion(b.motion(i))]


def test_different_seeds_differ():
    a, b = World(seed=0), World(seed=1)
    assert [s.caption() for s in a.scenes(30)] != [s.caption() for s in b.scenes(30)]
    assert [m.caption() for m in a.motions(30)] != [m.caption() for m in b.motions(30)]
    pixels_a = b"".join(_pixels(render_scene(s)) for s in a.scenes(10))
    pixels_b = b"".join(_pixels(render_scene(s)) for s in b.scenes(10))
    assert pixels_a != pixels_b


def test_items_do_not_depend_on_what_was_drawn_before():
    world = World(seed=5)
    later = world.scene(17)
    world.scenes(100)
    assert World(seed=5).scene(17) == later == world.scenes(3, start=17)[0]


def test_motion_clip_has_eight_frames_that_move():
    frames = render_motion(World(seed=2).motion(0))
    assert len(frames) == 8
    assert _pixels(frames[0]) != _pixels(frames[-1])


def _read(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("noise", [0.0, 0.3])
def test_preferences_are_deterministic_and_carry_truth(tmp_path, noise):
    one = PreferenceSimulator(tmp_path / "a", seed=4, noise=noise).write(tmp_path / "a" / "train.jsonl", n_per_task=6)
    two = PreferenceSimulator(tmp_path / "b", seed=4, noise=noise).write(tmp_path / "b" / "train.jsonl", n_per_task=6)
    assert one.read_text() == two.read_text()
    records = _read(one)
    assert {r["task"] for r in records} == set(TASKS)
    for r in records:
        assert "truth" in r
        for c in r["candidates"]:
            if "path" in c:
                assert (tmp_path / "a" / c["path"]).read_bytes() == (tmp_path / "b" / c["path"]).read_bytes()
    if noise == 0.0:
        pairs = [r for r in records if r["mode"] == "pairwise"]
        assert all(r["label"] == r["truth"] for r in pairs)


def test_preferences_differ_across_seeds(tmp_path):
    one = PreferenceSimulator(tmp_path / "a", seed=0).write(tmp_path / "a" / "t.jsonl", n_per_task=6)
    two = PreferenceSimulator(tmp_path / "b", seed=1).write(tmp_path / "b" / "t.jsonl", n_per_task=6)
    assert [r.get("prompt") or r.get("question") for r in _read(one)] != \
           [r.get("prompt") or r.get("question") for r in _read(two)]


def test_label_noise_flips_about_the_asked_fraction(tmp_path):
    sim = PreferenceSimulator(tmp_path, seed=1, noise=0.3)
    pairs = list(sim.records("image_understanding", 200, mode="pairwise"))
    flipped = sum(r["label"] != r["truth"] for r in pairs) / len(pairs)
    assert 0.2 < flipped < 0.4


def test_annotator_checks_agree_with_the_oracle_and_can_be_left_out(tmp_path):
    from unireward_testbed.preferences import answer_check, checklist
    from unireward_testbed.world import Scene

    wanted, shown = Scene("circle", "red", "left"), Scene("square", "red", "left")
    assert checklist(wanted, shown, ("colour", "shape", "position")) == "red red yes, circle square no, left left yes: 2"
    sim = PreferenceSimulator(tmp_path, seed=2, noise=0.0)
    for task in TASKS:
        for r in sim.records(task, 8):
            if r["mode"] == "pointwise":
                assert r["reasoning"]
                continue
            notes = [c["note"] for c in r["candidates"]]
            if task.endswith("generation"):
                # the number of agreeing attributes orders the candidates as the oracle's quality does
                agree = [int(n.rsplit(": ", 1)[1]) for n in notes]
                assert (agree[0] > agree[1]) == (r["quality"][0] > r["quality"][1])
                assert (agree[0] == agree[1]) == (r["truth"] == "tie")
            else:
                assert [n.endswith(" yes") for n in notes] == [q == 1.0 for q in r["quality"]]
    plain = PreferenceSimulator(tmp_path / "plain", seed=2, reasoning=False)
    assert not any("note" in c or "reasoning" in r for r in plain.records("image_generation", 4)
                   for c in r["candidates"])
    from unireward_testbed.world import Question

    assert answer_check("blue", Question("What color?", "red", ("red", "blue"), "colour")) == "blue red no"
