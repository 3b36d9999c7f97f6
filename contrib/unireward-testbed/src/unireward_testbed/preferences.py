"""Simulated human preferences for the four tasks, with controlled label noise and the truth kept aside.

Each record is a judge-training example in the SDK's record format (see docs/training.md): pairwise
records carry a ``label`` (A, B or tie) and pointwise records a ``score`` on the task's scale. Noisy
labels are what a judge trains on; ``truth`` holds the oracle's answer so accuracy is measured
against truth, not against the noise.

With ``reasoning`` on (the default), each record also carries the checks an attentive annotator would
write before the answer, as the UnifiedReward templates ask for an element checklist or a comparison
first: per attribute the caption's value, the one shown and whether they agree, then how many agree
(``red red yes, circle square no, left left yes: 2``); for answers, the value the answer names, the one
shown and whether they agree (``blue red no``). Pairwise records give them as candidate
``note``s (they move with their candidate when the trainer exchanges A and B), pointwise records as
``reasoning``. Why: a tiny judge does not learn to compare a caption with pixels in one step, but does
learn to write down both values side by side and compare them (docs/testbed.md, "Probes").
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

from .media import save_image, save_video
from .oracle import grade_answer, judge_image, judge_video
from .world import Motion, Question, Scene, World, perturb_motion, perturb_scene, render_motion, render_scene

TASKS = ("image_generation", "video_generation", "image_understanding", "video_understanding")
# each task's pointwise scale, as the UnifiedReward training data kept them
POINT_SCALES = {
    "image_generation": (1.0, 5.0),
    "video_generation": (1.0, 10.0),
    "image_understanding": (0.0, 100.0),
    "video_understanding": (1.0, 5.0),
}


def answer_sentence(question: Question, value: str) -> str:
    """A short natural answer naming ``value`` (the gold answer or a wrong option)."""
    if question.attribute == "count":
        return f"There are {value} shapes."
    if question.attribute == "position":
        return f"It is on the {value}."
    if question.attribute == "direction":
        return f"It moves {value}."
    if question.attribute == "shape":
        return f"It is a {value}."
    return f"It is {value}."


class Made(NamedTuple):
    """One candidate the simulator made: its media path or answer text, its oracle quality, the checks."""

    value: str
    quality: float
    checks: str


SCENE_CHECKS = ("colour", "shape", "position")
MOTION_CHECKS = ("colour", "shape", "direction")


def checklist(wanted: Any, shown: Any, attributes: tuple[str, ...]) -> str:
    """Per attribute (in the caption's order): the caption's value, the value shown, whether they agree;
    then how many agree. Each comparison sits right after the two values it compares."""
    pairs = [(getattr(wanted, a), getattr(shown, a)) for a in attributes]
    return ", ".join(f"{w} {s} {'yes' if w == s else 'no'}" for w, s in pairs) + \
        f": {sum(w == s for w, s in pairs)}"


def answer_check(value: str, question: Question) -> str:
    """The value an answer names, the true one, whether they agree."""
    return f"{value} {question.answer} {'yes' if value == question.answer else 'no'}"


# answer_check as a judge writes it back: alone in a pointwise answer, after "Answer 1: " / "Answer 2: " in a
# pairwise one (groups: the answer's number, the value named, the value shown, yes / no)
ANSWER_CHECK = re.compile(r"(\S+) (\S+) (yes|no)\b")
PAIRED_ANSWER_CHECKS = re.compile(r"Answer ([12]): (\S+) (\S+) (yes|no)\b")


def winner_by_checks(raw: str) -> str | None:
    """"A" or "B": the answer whose named value is the one the judge wrote as shown, when exactly one of
    the two answers' checks says so; None when the checks decide nothing."""
    matches = {number: named == shown for number, named, shown, _ in PAIRED_ANSWER_CHECKS.findall(raw)}
    if len(matches) != 2 or matches["1"] == matches["2"]:
        return None
    return "A" if matches["1"] else "B"


class PreferenceSimulator:
    """Writes media and yields training / evaluation records for every task under one seed.

    ``noise`` is the probability that a simulated annotator flips a pairwise label (to one of the other
    two labels) and the standard deviation, in scale units divided by 4, of pointwise score noise.
    """

    def __init__(self, root: str | Path, *, seed: int = 0, noise: float = 0.1, size: int = 32,
                 reasoning: bool = True):
        self.root = Path(root)
        self.seed = seed
        self.noise = noise
        self.size = size
        self.reasoning = reasoning
        self.world = World(seed)

    def _rng(self, *key: Any) -> random.Random:
        return random.Random("/".join(map(str, (self.seed, *key))))

    # --- media with known quality -----------------------------------------------------------------

    def _scene_variant(self, scene: Scene, rng: random.Random, tag: str, changes: int) -> Made:
        variant = perturb_scene(scene, rng, changes) if changes else scene
        img = render_scene(variant, self.size)
        path = save_image(img, self.root / "media" / f"{tag}.png")
        return Made(path, judge_image(img, scene, self.size).score, checklist(scene, variant, SCENE_CHECKS))

    def _motion_variant(self, motion: Motion, rng: random.Random, tag: str, changes: int) -> Made:
        variant = perturb_motion(motion, rng, changes) if changes else motion
        frames = render_motion(variant, self.size)
        path = save_video(frames, self.root / "media" / f"{tag}.mp4")
        return Made(path, judge_video(frames, motion, self.size).score, checklist(motion, variant, MOTION_CHECKS))

    def _candidate(self, made: Made, key: str) -> dict:
        """A candidate dict (``key``: "path" or "text"), with its checks as a note when reasoning is on."""
        return {key: made.value, **({"note": made.checks} if self.reasoning else {})}

    def _reasoning(self, made: Made) -> dict:
        """The record-level reasoning of a pointwise record, when reasoning is on."""
        return {"reasoning": made.checks} if self.reasoning else {}

    # --- labels -------------------------------------------------------------------------------------

    def _noisy_label(self, quality_a: float, quality_b: float, rng: random.Random, ties: bool) -> tuple[str, str]:
        truth = "A" if quality_a > quality_b else "B" if quality_b > quality_a else "tie"
        if not ties and truth == "tie":
            truth = rng.choice("AB")  # formats without ties force a choice, as annotators did
        label = truth
        if rng.random() < self.noise:
            label = rng.choice([x for x in (("A", "B", "tie") if ties else ("A", "B")) if x != truth])
        return truth, label

    def _noisy_score(self, quality: float, task: str, rng: random.Random) -> tuple[float, float]:
        lo, hi = POINT_SCALES[task]
        truth = lo + (hi - lo) * quality
        noisy = truth + rng.gauss(0.0, self.noise * (hi - lo) / 4)
        return truth, float(min(hi, max(lo, round(noisy))))

    # --- records ------------------------------------------------------------------------------------

    def records(self, task: str, n: int, *, split: str = "train", mode: str | None = None) -> Iterator[dict]:
        """``n`` records of ``task`` alternating pairwise and pointwise (or only ``mode``)."""
        offset = {"train": 0, "eval": 1_000_000, "test": 2_000_000}[split]
        for i in range(n):
            m = mode or ("pairwise" if i % 2 == 0 else "pointwise")
            rng = self._rng(task, split, i)
            yield getattr(self, f"_{task}")(offset + i, m, rng, f"{task}-{split}-{i}")

    def _image_generation(self, index: int, mode: str, rng: random.Random, tag: str) -> dict:
        scene = self.world.scene(index)
        return self._generation_record("image_generation", scene.caption(), mode, rng, tag,
                                       lambda t, c: self._scene_variant(scene, rng, t, c), ties=True)

    def _video_generation(self, index: int, mode: str, rng: random.Random, tag: str) -> dict:
        motion = self.world.motion(index)
        return self._generation_record("video_generation", motion.caption(), mode, rng, tag,
                                       lambda t, c: self._motion_variant(motion, rng, t, c), ties=True)

    def _generation_record(self, task, caption, mode, rng, tag, make, ties) -> dict:
        if mode == "pairwise":
            # mostly candidates of different quality; some equal ones so the judge sees real ties
            ca = rng.choice([0, 1, 2])
            cb = ca if rng.random() < 0.1 else rng.choice([c for c in (0, 1, 2) if c != ca])
            a, b = make(f"{tag}-a", ca), make(f"{tag}-b", cb)
            truth, label = self._noisy_label(a.quality, b.quality, rng, ties)
            return {"task": task, "mode": mode, "prompt": caption,
                    "candidates": [self._candidate(a, "path"), self._candidate(b, "path")],
                    "label": label, "truth": truth, "quality": [a.quality, b.quality]}
        made = make(tag, rng.choice([0, 0, 1, 2, 3]))
        truth, score = self._noisy_score(made.quality, task, rng)
        return {"task": task, "mode": mode, "prompt": caption, "candidates": [{"path": made.value}],
                "score": score, "scale": list(POINT_SCALES[task]), "truth": truth, "quality": [made.quality],
                **self._reasoning(made)}

    def _image_understanding(self, index: int, mode: str, rng: random.Random, tag: str) -> dict:
        scene, question = self.world.scene_question(index)
        context = save_image(render_scene(scene, self.size), self.root / "media" / f"{tag}-ctx.png")
        return self._understanding_record("image_understanding", context, question, mode, rng)

    def _video_understanding(self, index: int, mode: str, rng: random.Random, tag: str) -> dict:
        motion, question = self.world.motion_question(index)
        context = save_video(render_motion(motion, self.size), self.root / "media" / f"{tag}-ctx.mp4")
        return self._understanding_record("video_understanding", context, question, mode, rng)

    def _understanding_record(self, task, context, question: Question, mode, rng) -> dict:
        def answer() -> Made:
            value = question.answer if rng.random() < 0.5 else rng.choice(
                [o for o in question.options if o != question.answer])
            text = answer_sentence(question, value)
            return Made(text, grade_answer(text, question), answer_check(value, question))

        base = {"task": task, "mode": mode, "question": question.text, "context": [context],
                "gold_answer": question.answer}
        if mode == "pairwise":
            a, b = answer(), answer()
            while a.quality == b.quality:  # understanding pairs compare one right and one wrong answer (no ties)
                b = answer()
            truth, label = self._noisy_label(a.quality, b.quality, rng, ties=False)
            return {**base, "candidates": [self._candidate(a, "text"), self._candidate(b, "text")],
                    "label": label, "truth": truth, "quality": [a.quality, b.quality]}
        made = answer()
        truth, score = self._noisy_score(made.quality, task, rng)
        return {**base, "candidates": [{"text": made.value}], "score": score, "scale": list(POINT_SCALES[task]),
                "truth": truth, "quality": [made.quality], **self._reasoning(made)}

    def write(self, path: str | Path, tasks=TASKS, n_per_task: int = 100, split: str = "train",
              mode: str | None = None) -> Path:
        """Write a JSONL file of records (media paths relative to the file's folder)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", encoding="utf-8") as fh:
            for task in tasks:
                for rec in self.records(task, n_per_task, split=split, mode=mode):
                    fh.write(json.dumps(_relative(rec, path.parent)) + "\n")
        return path


def _relative(record: dict, base: Path) -> dict:
    def rel(p: str) -> str:
        try:
            return str(Path(p).resolve().relative_to(base.resolve()))
        except ValueError:
            return p

    out = dict(record)
    out["candidates"] = [{**c, "path": rel(c["path"])} if "path" in c else c for c in record["candidates"]]
    if "context" in record:
        out["context"] = [rel(p) for p in record["context"]]
    return out
