"""The judge-training loop with a head's own loss: a third-party `JudgeLoss` trains through it, refused units are
left out and counted, micro-batches make one optimizer step, and a diverging or all-refusing loss is an error
that names the head's trainer."""

from __future__ import annotations

import math

import pytest

from training_fixtures import toy_records
from unireward_sdk.errors import ConfigError, UniRewardError
from unireward_sdk.training import JudgeLoss, JudgeTrainingConfig, Optimization, load_records, run_judge_training


class MeanLoss(JudgeLoss):
    """Fits one number to the mean of the drawn pair indices (a loss whose optimum is known)."""

    kind = "mean"
    label = "mean trainer"
    divergence_fix = "Lower the toy's learning rate"
    refusal = ("every toy unit was refused", "Refuse fewer units")
    refuse_below = 0  # units with an index under this are refused
    scale = 1.0
    batches: list[list[int]]

    def units(self, records):
        return [r for r in records if r.mode == "pairwise"]

    def describe(self, units):
        return f"{len(units)} toy units"

    def setup(self, units, steps):
        import torch

        self.weight = torch.nn.Parameter(torch.zeros(()))
        self.batches = []
        optimizer = torch.optim.SGD([self.weight], lr=0.1)
        return Optimization(optimizer, batch_size=2, micro_batches=1, trainable_parameters=1)

    def prepare(self, indices):
        refused = [i for i in indices if i < self.refuse_below]
        return indices, refused

    def loss(self, batch):
        import torch

        self.batches.append(list(batch))
        target = torch.tensor(sum(batch) / len(batch))
        return self.scale * (self.weight - target) ** 2

    def evaluation_head(self, task):
        raise AssertionError("no evaluation records were given")

    def save(self, folder):
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "weight.txt").write_text(str(float(self.weight.detach())))
        return f"weight saved to {folder}"


class Events:
    def __init__(self):
        self.seen = []

    def on_start(self, run, steps):
        self.seen.append(("start", steps))

    def on_step(self, run, step, total, loss, lr):
        self.seen.append(("step", step))

    def on_eval(self, run, step, scores):
        self.seen.append(("eval", step))

    def on_message(self, run, text):
        self.seen.append(("message", text))


@pytest.fixture
def records(tmp_path):
    return load_records(toy_records(tmp_path, 8, seed=0), base_dir=tmp_path)


def test_a_heads_own_loss_trains_through_the_loop_and_refused_units_are_counted(registry, tiny_base, records,
                                                                                tmp_path):
    class Refusing(MeanLoss):
        refuse_below = 2

    events = Events()
    config = JudgeTrainingConfig(max_steps=6, batch_size=2, seed=0)
    report = run_judge_training(Refusing, records, tiny_base, tmp_path / "out", config, registry=registry,
                                callback=events)
    assert report.kind == "mean" and report.steps == 6 and report.trainable_parameters == 1
    assert report.skipped_too_long == 2 and report.examples == {"image_generation": 8}
    assert [s for s, _ in report.losses] == [1, 2, 3, 4, 5, 6]
    assert report.losses[-1][1] < report.losses[0][1]
    assert (tmp_path / "out" / "weight.txt").is_file() and (tmp_path / "out" / "training_report.json").is_file()
    assert events.seen[0] == ("message", "8 toy units") and events.seen[1] == ("start", 6)
    assert events.seen[-1] == ("message", f"weight saved to {tmp_path / 'out'}")


def test_accelerated_steps_take_grad_accum_micro_batches(registry, tiny_base, records):
    import torch

    class Accumulating(MeanLoss):
        def setup(self, units, steps):
            plan = super().setup(units, steps)
            model = torch.nn.Linear(1, 1)  # accelerate needs a model to accumulate through
            model, optimizer = self.run.accelerator.prepare(model, plan.optimizer)
            return Optimization(optimizer, batch_size=2, micro_batches=3, model=model, clip=[self.weight])

    seen = {}

    class Recording(Accumulating):
        def finish(self):
            seen["batches"] = self.batches

    config = JudgeTrainingConfig(max_steps=2, batch_size=2, gradient_accumulation_steps=3, seed=0)
    report = run_judge_training(Recording, records, tiny_base, None, config, registry=registry)
    assert len(seen["batches"]) == 6 and all(len(b) == 2 for b in seen["batches"])
    first = [sum(b) / 2 for b in seen["batches"][:3]]
    # the step's loss is the mean over its micro-batches; the weight moved only after the third one
    assert report.losses[0][1] == pytest.approx(sum(t * t for t in first) / 3)
    assert report.output_dir is None


def test_a_diverging_loss_names_the_trainer_and_its_fix(registry, tiny_base, records):
    class Diverging(MeanLoss):
        scale = math.inf

    with pytest.raises(UniRewardError, match="mean trainer") as caught:
        run_judge_training(Diverging, records, tiny_base, None, JudgeTrainingConfig(max_steps=2), registry=registry)
    assert caught.value.fix == "Lower the toy's learning rate"


def test_a_loss_refusing_every_unit_and_empty_data_are_errors(registry, tiny_base, records):
    class RefusingAll(MeanLoss):
        refuse_below = 10**6

    with pytest.raises(ConfigError, match="every toy unit was refused"):
        run_judge_training(RefusingAll, records, tiny_base, None, JudgeTrainingConfig(max_steps=2), registry=registry)
    with pytest.raises(ConfigError, match="no training records"):
        run_judge_training(MeanLoss, [], tiny_base, None, JudgeTrainingConfig(max_steps=2), registry=registry,
                           who="toy trainer")


def test_a_run_interrupted_at_a_checkpoint_resumes_where_it_stopped(registry, tiny_base, records, tmp_path):
    """save_every writes checkpoint-<step> folders; resume_from_checkpoint continues from one with the same
    parameters, optimizer state and draw, so the resumed steps repeat the uninterrupted run's exactly."""
    class Momentum(MeanLoss):
        def setup(self, units, steps):  # an optimizer with state of its own, which the checkpoint must carry
            import torch

            super().setup(units, steps)  # makes the weight
            return Optimization(torch.optim.Adam([self.weight], lr=0.1), batch_size=2, trainable_parameters=1)

    full = run_judge_training(Momentum, records, tiny_base, tmp_path / "full",
                              JudgeTrainingConfig(max_steps=6, batch_size=2, seed=0, save_every=2), registry=registry)
    assert sorted(p.name for p in (tmp_path / "full").glob("checkpoint-*")) == ["checkpoint-2", "checkpoint-4",
                                                                               "checkpoint-6"]
    events = Events()
    resumed = run_judge_training(Momentum, records, tiny_base, tmp_path / "full",
                                 JudgeTrainingConfig(max_steps=6, batch_size=2, seed=0,
                                                     resume_from_checkpoint=str(tmp_path / "full" / "checkpoint-4")),
                                 registry=registry, callback=events)
    assert ("message", f"resumed from {tmp_path / 'full' / 'checkpoint-4'} at step 4 of 6") in events.seen
    assert [s for s, _ in resumed.losses] == [1, 2, 3, 4, 5, 6]
    assert [v for _, v in resumed.losses] == pytest.approx([v for _, v in full.losses])
    assert [e for e in events.seen if e[0] == "step"] == [("step", 5), ("step", 6)]


def test_resume_refuses_what_it_cannot_continue(registry, tiny_base, records, tmp_path):
    run_judge_training(MeanLoss, records, tiny_base, tmp_path / "out",
                       JudgeTrainingConfig(max_steps=4, batch_size=2, seed=0, save_every=4), registry=registry)
    with pytest.raises(ConfigError, match="past this run's 2 steps"):
        run_judge_training(MeanLoss, records, tiny_base, tmp_path / "out",
                           JudgeTrainingConfig(max_steps=2, batch_size=2, seed=0, resume_from_checkpoint="latest"),
                           registry=registry)
    with pytest.raises(ConfigError, match="no resumable checkpoint"):
        run_judge_training(MeanLoss, records, tiny_base, tmp_path / "empty",
                           JudgeTrainingConfig(max_steps=2, batch_size=2, resume_from_checkpoint="latest"),
                           registry=registry)
