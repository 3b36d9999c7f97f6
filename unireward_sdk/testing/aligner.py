"""Contract tests for aligner plugins: subclass :class:`AlignerContract`, state fixtures, inherit checks.

    from unireward_sdk.testing.aligner import AlignerContract

    class TestMyAligner(AlignerContract):
        name = "my_dpo"                      # registered name
        modality = "image"                   # what sample() produces
        plugin = "my_package.my_dpo"         # optional: module with the @hookimpl

        def make_aligner(self, workdir):     # a fresh aligner on a tiny policy, few steps, high lr
            return MyAligner(model=build_tiny(workdir / "model"), output_dir=str(workdir / "out"), max_steps=8)

        def make_pairs(self, workdir):       # a toy preference anything read_pairs accepts
            return write_red_beats_blue(workdir)

The aligner is trained once per test class (a class-scoped fixture); the checks then read that run:

- it is an :class:`~unireward_sdk.interfaces.Aligner` and ``train`` returns a :class:`TrainSummary`
  with one :class:`StepMetrics` per optimizer step;
- on the toy preference, the DPO loss measured with fixed randomness falls and the implicit reward
  margin rises (``measure`` defaults to ``aligner.evaluate(pairs)``; override it if yours differs);
- ``save_pretrained`` + reload (``reload`` defaults to ``type(aligner).from_pretrained(path)``) gives
  the same measurement as the trained policy, so the checkpoint holds what training learned;
- the reloaded policy samples ``n`` candidates per prompt of the declared modality (existing files, or
  texts), with a seed in their provenance, and the same seed gives the same candidates (``sample``
  says how it is called; override it for an aligner whose ``sample`` takes no ``out_dir``).
"""

from __future__ import annotations

import hashlib
import importlib
import math
from pathlib import Path
from typing import Any, ClassVar

import pytest
from attrs import frozen

from ..alignment import POLICY_FILE, EvalResult, StepMetrics, TrainSummary
from ..interfaces import Aligner
from ..records import Candidate
from ..specs import AlignerSpec


@frozen
class AlignerRun:
    """What the class-scoped training run left for the checks."""

    aligner: Any
    pairs: Any
    workdir: Path
    before: EvalResult
    after: EvalResult
    summary: TrainSummary


class AlignerContract:
    """Checks every aligner plugin must pass. Not collected itself (no ``Test`` prefix)."""

    #: the aligner's registered name
    name: ClassVar[str] = ""
    #: modality of the candidates ``sample`` produces ("image", "video", "text")
    modality: ClassVar[str] = ""
    #: dotted name of the module that yields the AlignerSpec (None: skip the spec check)
    plugin: ClassVar[str | None] = None
    #: prompts ``sample`` is called with
    prompts: ClassVar[tuple[str, ...]] = ("a red square", "a blue circle")
    #: how close a reloaded policy's measurement must be to the trained one's
    reload_tolerance: ClassVar[float] = 1e-3

    # --- what a subclass provides -------------------------------------------------------------------

    def make_aligner(self, workdir: Path) -> Any:
        raise NotImplementedError("AlignerContract subclasses implement make_aligner(workdir)")

    def make_pairs(self, workdir: Path) -> Any:
        raise NotImplementedError("AlignerContract subclasses implement make_pairs(workdir)")

    def measure(self, aligner: Any, pairs: Any) -> EvalResult:
        return aligner.evaluate(pairs)

    def reload(self, aligner: Any, path: Path) -> Any:
        return type(aligner).from_pretrained(path)

    def sample(self, aligner: Any, prompts: list[str], n: int, seed: int, out_dir: Path) -> list[list[Candidate]]:
        """How the checks call ``sample``; media aligners write under ``out_dir``."""
        return aligner.sample(prompts, n, seed=seed, out_dir=out_dir)

    # --- the shared run -----------------------------------------------------------------------------

    @pytest.fixture(scope="class")
    def aligner_run(self, tmp_path_factory) -> AlignerRun:
        workdir = tmp_path_factory.mktemp(f"aligner-{self.name or 'contract'}")
        pairs = self.make_pairs(workdir)
        aligner = self.make_aligner(workdir)
        before = self.measure(aligner, pairs)
        summary = aligner.train(pairs)
        after = self.measure(aligner, pairs)
        return AlignerRun(aligner=aligner, pairs=pairs, workdir=workdir, before=before, after=after, summary=summary)

    @pytest.fixture(scope="class")
    def reloaded(self, aligner_run: AlignerRun) -> Any:
        path = aligner_run.workdir / "saved-policy"
        aligner_run.aligner.save_pretrained(path)
        return self.reload(aligner_run.aligner, path)

    # --- checks -------------------------------------------------------------------------------------

    def test_spec_is_registered(self):
        if self.plugin is None:
            pytest.skip("no plugin module declared")
        module = importlib.import_module(self.plugin)
        specs = [s for s in module.unireward_register_aligners() if s.name == self.name]
        assert len(specs) == 1 and isinstance(specs[0], AlignerSpec)

    def test_is_an_aligner(self, aligner_run: AlignerRun):
        assert isinstance(aligner_run.aligner, Aligner)
        assert aligner_run.aligner.name == self.name

    def test_summary_has_one_entry_per_step(self, aligner_run: AlignerRun):
        summary = aligner_run.summary
        assert isinstance(summary, TrainSummary)
        assert summary.steps == len(summary.history) > 0
        assert all(isinstance(m, StepMetrics) and math.isfinite(m.loss) for m in summary.history)
        assert [m.step for m in summary.history] == list(range(1, summary.steps + 1))

    def test_training_lowers_loss_and_raises_margin(self, aligner_run: AlignerRun):
        before, after = aligner_run.before, aligner_run.after
        assert after.loss < before.loss, (before, after)
        assert after.margin > before.margin, (before, after)

    def test_saved_policy_reloads_what_was_learned(self, aligner_run: AlignerRun, reloaded: Any):
        assert (aligner_run.workdir / "saved-policy" / POLICY_FILE).is_file()
        again = self.measure(reloaded, aligner_run.pairs)
        assert again.margin == pytest.approx(aligner_run.after.margin, rel=self.reload_tolerance, abs=1e-4)
        assert again.loss == pytest.approx(aligner_run.after.loss, rel=self.reload_tolerance, abs=1e-4)

    def test_reloaded_policy_samples_candidates(self, reloaded: Any, tmp_path: Path):
        groups = self.sample(reloaded, list(self.prompts), 2, 3, tmp_path / "a")
        assert len(groups) == len(self.prompts)
        for group in groups:
            assert len(group) == 2
            for candidate in group:
                assert isinstance(candidate, Candidate)
                assert candidate.modality == self.modality
                if candidate.path is not None:
                    assert Path(candidate.path).is_file()
                else:
                    assert candidate.text
                assert candidate.provenance.seed is not None
        assert len({c.id for g in groups for c in g}) == 2 * len(self.prompts)
        again = self.sample(reloaded, list(self.prompts), 2, 3, tmp_path / "b")
        assert [_digest(c) for g in groups for c in g] == [_digest(c) for g in again for c in g]


def _digest(candidate: Candidate) -> str:
    data = Path(candidate.path).read_bytes() if candidate.path is not None else candidate.text.encode("utf-8")
    return hashlib.sha256(data).hexdigest()
