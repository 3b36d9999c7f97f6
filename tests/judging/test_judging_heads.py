"""Generative and fast heads on tiny judges: agreement on a trained judge, the head contract, failures as values."""

from __future__ import annotations

import pytest

from unireward_sdk.errors import CapabilityError, ConfigError
from unireward_sdk.records import Candidate, JudgeItem, ParseStatus
from unireward_sdk.testing.head import HeadContract, assert_same_judgment



@pytest.fixture(scope="module")
def trained_backend(registry, trained_qwen2_vl):
    return registry.backend("transformers", checkpoint=str(trained_qwen2_vl), batch_size=8)


@pytest.fixture(scope="module")
def items(colour_items):
    return colour_items


def _broken(tmp_path) -> JudgeItem:
    return JudgeItem(id="broken", task="image_generation", prompt="a red square",
                     candidates=[Candidate("a", "image", path=str(tmp_path / "missing.png")),
                                 Candidate("b", "image", path=str(tmp_path / "gone.png"))])


class _ColourContract(HeadContract):
    head_name = ""

    @pytest.fixture
    def head(self, registry, trained_backend):
        return registry.reward_head(self.head_name, backend=trained_backend, task="image_generation",
                                    batch_size=4, registry=registry)

    @pytest.fixture
    def pairwise_items(self, items):
        return [item for item, _ in items[0]]

    @pytest.fixture
    def pointwise_items(self, items):
        return [item for item, _ in items[1]]

    @pytest.fixture
    def broken_item(self, tmp_path):
        return _broken(tmp_path)


class TestGenerativeHeadContract(_ColourContract):
    head_name = "generative"


class TestFastHeadContract(_ColourContract):
    head_name = "fast"


def test_trained_judge_answers_like_a_checkpoint(registry, trained_backend, items):
    """The generative head reads the taught verdicts and scores (this is what the agreement test stands on)."""
    head = registry.reward_head("generative", backend=trained_backend, task="image_generation", registry=registry)
    pairwise, pointwise = items
    verdicts = head.judge_pairwise([item for item, _ in pairwise])
    assert [v.winner for v in verdicts] == [winner for _, winner in pairwise], [v.raw for v in verdicts]
    assert all(v.ok and v.provenance.template_id == "image_generation.pairwise_rank.qwen_v1" for v in verdicts)
    scores = head.score_pointwise([item for item, _ in pointwise])
    assert [s.value for s in scores] == [score for _, score in pointwise], [s.raw for s in scores]
    assert all(s.scale == (1.0, 5.0) for s in scores)


def test_mixed_prompt_lengths_generate_the_same_batched_and_alone(registry, trained_backend, items):
    """Pairwise and pointwise prompts differ in length: one batch needs real left padding."""
    from unireward_sdk.media import MediaCache

    task, media = registry.task("image_generation"), MediaCache(registry=registry)
    requests = [task.build_request(item, "image_generation.pairwise_rank.qwen_v1", media) for item, _ in items[0]]
    requests += [task.build_request(item, "image_generation.pointwise_score.qwen_v1", media) for item, _ in items[1]]
    lengths = {len(trained_backend.encode([r])["input_ids"][0]) for r in requests}
    assert len(lengths) > 1
    batched = trained_backend.generate(requests)
    assert batched == [trained_backend.generate([r])[0] for r in requests]
    assert len(set(batched)) >= 5  # the taught answers differ: equality above is not trivial


def test_generative_and_fast_heads_agree_on_a_trained_judge(registry, trained_backend, items):
    generative = registry.reward_head("generative", backend=trained_backend, task="image_generation", registry=registry)
    fast = registry.reward_head("fast", backend=trained_backend, task="image_generation", registry=registry)
    pairwise = [item for item, _ in items[0]]
    slow_verdicts, fast_verdicts = generative.judge_pairwise(pairwise), fast.judge_pairwise(pairwise)
    agreement = sum(s.winner == f.winner for s, f in zip(slow_verdicts, fast_verdicts)) / len(pairwise)
    assert agreement == 1.0, [(s.winner, f.winner, f.probabilities) for s, f in zip(slow_verdicts, fast_verdicts)]
    for verdict in fast_verdicts:
        assert verdict.ok and verdict.raw == ""
        assert set(verdict.probabilities) == {"A", "B", "tie"}
        assert sum(verdict.probabilities.values()) == pytest.approx(1.0)
        assert verdict.probabilities[verdict.winner] > 0.5
        assert verdict.provenance.plugin == "fast" and verdict.provenance.extra["readout_method"] == "single_pass"
        assert verdict.provenance.extra["readout_exact"] is True
    pointwise = [item for item, _ in items[1]]
    for slow, quick in zip(generative.score_pointwise(pointwise), fast.score_pointwise(pointwise)):
        distribution = quick.provenance.extra["distribution"]
        assert max(distribution, key=distribution.get) == str(int(slow.value))
        assert quick.value == pytest.approx(slow.value, abs=0.75)
        assert quick.scale == slow.scale == (1.0, 5.0)


def test_symmetric_option_judges_both_orders(registry, trained_backend, items):
    pairwise = [item for item, winner in items[0] if winner != "tie"][:3]
    for name in ("generative", "fast"):
        head = registry.reward_head(name, backend=trained_backend, task="image_generation", registry=registry,
                                    symmetric=True)
        verdicts = head.judge_pairwise(pairwise)
        plain = registry.reward_head(name, backend=trained_backend, task="image_generation",
                                     registry=registry).judge_pairwise(pairwise)
        for verdict, single in zip(verdicts, plain):
            assert verdict.winner == single.winner
            assert verdict.consistency is not None and verdict.consistency > 0.5
            assert verdict.provenance.extra["symmetric"] is True


def test_a_failing_backend_call_fails_only_its_item(registry, trained_backend, items):
    class Flaky:
        """Forwards to the real backend but fails on requests for the caption 'explode'."""

        def __init__(self, inner):
            self.inner, self.family, self.checkpoint = inner, inner.family, inner.checkpoint

        def generate(self, requests):
            if any("[explode]" in r.text for r in requests):
                raise RuntimeError("CUDA error: device-side assert (simulated)")
            return self.inner.generate(requests)

    good = [item for item, _ in items[0][:3]]
    bad = JudgeItem(id="explode", task="image_generation", prompt="explode", candidates=good[0].candidates)
    head = registry.reward_head("generative", backend=Flaky(trained_backend), task="image_generation",
                                registry=registry)
    verdicts = head.judge_pairwise([good[0], bad, *good[1:]])
    assert [v.item_id for v in verdicts] == [good[0].id, "explode", good[1].id, good[2].id]
    assert verdicts[1].status == ParseStatus.BACKEND_ERROR and "simulated" in verdicts[1].error
    assert verdicts[1].winner is None
    for verdict, reference in zip([verdicts[0], *verdicts[2:]], head.judge_pairwise(good)):
        assert_same_judgment(verdict, reference)


def test_unparseable_answers_are_failure_values_with_the_raw_text(registry, tiny_qwen2_vl, items):
    backend = registry.backend("transformers", checkpoint=str(tiny_qwen2_vl), max_new_tokens=4)
    head = registry.reward_head("generative", backend=backend, task="image_generation", registry=registry)
    verdict = head.judge_pairwise([items[0][0][0]])[0]
    assert verdict.status == ParseStatus.UNPARSED and verdict.winner is None and verdict.error
    score = head.score_pointwise([items[1][0][0]])[0]
    assert score.status == ParseStatus.UNPARSED and score.value is None


def test_fast_head_refuses_templates_without_a_readout(registry, trained_backend, items):
    head = registry.reward_head("fast", backend=trained_backend, task="image_generation", registry=registry,
                                template="image_generation.pairwise_cot.think")
    with pytest.raises(CapabilityError, match="readout"):
        head.judge_pairwise([items[0][0][0]])


def test_templates_are_chosen_per_mode(registry, trained_backend):
    head = registry.reward_head("generative", backend=trained_backend, task="image_generation", registry=registry,
                                template="image_generation.pointwise_score.data_construction")
    assert head.template_id("pointwise") == "image_generation.pointwise_score.data_construction"
    assert head.template_id("pairwise") == "image_generation.pairwise_rank.qwen_v1"  # family default
    with pytest.raises(ConfigError, match="pointwise"):
        registry.reward_head("generative", backend=trained_backend, task="image_generation", registry=registry,
                             pointwise_template="image_generation.pairwise_rank.qwen_v1")


def test_items_of_the_wrong_mode_are_refused(registry, trained_backend, items):
    head = registry.reward_head("fast", backend=trained_backend, task="image_generation", registry=registry)
    with pytest.raises(ConfigError, match="candidate"):
        head.judge_pairwise([items[1][0][0]])


def test_fast_head_records_the_method_the_readout_record_names(registry, colour_images):
    """The backend returns one ContinuationScores per request; its method reaches the verdict's provenance."""
    from unireward_sdk.interfaces import ContinuationScores

    class Scorer:
        name, checkpoint, family = "scorer", "fake-scorer", "qwen_v1"

        def score_continuations(self, requests, prefixes, choices):
            # A most likely; the method word is the backend's own
            return [ContinuationScores([-0.1] + [-3.0] * (len(c) - 1), "made_up_readout") for c in choices]

    head = registry.reward_head("fast", backend=Scorer(), task="image_generation", registry=registry)
    item = JudgeItem(id="p", task="image_generation", prompt="a red square",
                     candidates=[Candidate("a", "image", path=str(colour_images["red"])),
                                 Candidate("b", "image", path=str(colour_images["blue"]))])
    [verdict] = head.judge_pairwise([item])
    assert verdict.ok and verdict.winner == "A"
    assert verdict.provenance.extra["readout_method"] == "made_up_readout"
    assert verdict.provenance.checkpoint == "fake-scorer"
    with pytest.raises(CapabilityError, match="score_continuations"):
        registry.reward_head("fast", backend=object(), task="image_generation", registry=registry)
