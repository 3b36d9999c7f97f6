"""The oracles are right on the world's own ground truth and on hand-made edge cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from PIL import Image, ImageDraw

from unireward_testbed.media import load_video, save_video
from unireward_testbed.oracle import grade_answer, judge_image, judge_video, read_image, read_motion
from unireward_testbed.world import (
    BACKGROUND,
    COLOURS,
    DIRECTIONS,
    POSITIONS,
    SHAPES,
    Motion,
    Question,
    Scene,
    World,
    render_motion,
    render_scene,
)


@pytest.mark.parametrize("count", [1, 2, 3])
def test_every_scene_is_read_exactly(count):
    for shape, colour, position in itertools.product(SHAPES, COLOURS, POSITIONS):
        scene = Scene(shape, colour, position, count)
        assert judge_image(render_scene(scene), scene).score == 1.0, scene


def test_every_motion_is_read_exactly():
    for shape, colour, direction in itertools.product(SHAPES, COLOURS, DIRECTIONS):
        motion = Motion(shape, colour, direction)
        assert judge_video(render_motion(motion), motion).score == 1.0, motion


def test_a_wrong_render_scores_below_one():
    scene = Scene("circle", "red", "left")
    for other in (Scene("square", "red", "left"), Scene("circle", "blue", "left"), Scene("circle", "red", "top")):
        assert judge_image(render_scene(other), scene).score == 0.75


def test_motion_survives_mp4_encoding(tmp_path):
    for i, motion in enumerate(World(seed=9).motions(6)):
        frames = load_video(save_video(render_motion(motion), tmp_path / f"{i}.mp4"))
        assert judge_video(frames, motion).score == 1.0


def test_blank_image_sees_nothing():
    blank = Image.new("RGB", (32, 32), BACKGROUND)
    assert read_image(blank) == read_image(Image.new("RGB", (32, 32), (255, 255, 255)))
    seen = read_image(blank)
    assert (seen.colour, seen.shape, seen.position, seen.count) == (None, None, None, 0)
    assert judge_image(blank, Scene("circle", "red", "left")).score == 0.0


def test_two_colours_the_larger_shape_decides_the_colour():
    img = render_scene(Scene("circle", "red", "left"))
    ImageDraw.Draw(img).rectangle((24, 4, 26, 6), fill=COLOURS["blue"])  # a small blue speck on the right
    seen = read_image(img)
    assert (seen.colour, seen.shape, seen.position, seen.count) == ("red", "circle", "left", 1)


def test_mild_noise_keeps_the_reading_and_heavy_noise_is_not_a_match():
    rng = np.random.default_rng(0)
    scene = Scene("triangle", "green", "bottom")
    pixels = np.asarray(render_scene(scene), dtype=np.float32)
    mild = Image.fromarray(np.clip(pixels + rng.normal(0, 12, pixels.shape), 0, 255).astype(np.uint8))
    assert judge_image(mild, scene).score == 1.0
    noise = Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8))
    assert judge_image(noise, scene).score < 1.0


def test_static_video_has_no_direction():
    frame = render_scene(Scene("square", "yellow", "left"))
    colour, shape, direction = read_motion([frame] * 8)
    assert (colour, shape, direction) == ("yellow", "square", None)
    assert judge_video([frame] * 8, Motion("square", "yellow", "left")).matches["direction"] is False


def test_single_frame_video_is_unreadable():
    assert read_motion([render_scene(Scene("circle", "red", "top"))]) == (None, None, None)


def test_shape_cut_off_at_the_border_keeps_colour_and_place():
    img = Image.new("RGB", (32, 32), BACKGROUND)
    ImageDraw.Draw(img).ellipse((-6, 10, 6, 22), fill=COLOURS["blue"])  # half a circle outside the left edge
    seen = read_image(img)
    assert (seen.colour, seen.position, seen.count) == ("blue", "left", 1)


def test_off_palette_ink_is_not_a_shape():
    img = Image.new("RGB", (32, 32), BACKGROUND)
    ImageDraw.Draw(img).ellipse((8, 8, 24, 24), fill=(0, 0, 0))  # black: far from every world colour
    assert read_image(img).count == 0


QUESTION = Question("How many shapes are there?", "two", ("one", "two", "three"), "count")


@pytest.mark.parametrize("answer, grade", [
    ("There are two shapes.", 1.0), ("TWO", 1.0), ("2", 1.0), ("There are three shapes.", 0.0),
    ("one or two", 0.0), ("I cannot tell.", 0.0), ("", 0.0),
])
def test_grade_answer(answer, grade):
    assert grade_answer(answer, QUESTION) == grade


def test_grade_answer_colour():
    q = Question("What color is the circle?", "red", tuple(COLOURS), "colour")
    assert grade_answer("It is red.", q) == 1.0
    assert grade_answer("It is blue.", q) == 0.0
