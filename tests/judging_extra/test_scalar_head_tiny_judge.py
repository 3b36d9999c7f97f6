"""The scalar head on a real tiny Qwen2-VL judge: features cached once, a toy ordering learnt in a few dozen steps."""

from __future__ import annotations

import itertools

import pytest

torch = pytest.importorskip("torch")

from unireward_sdk import Candidate, JudgeItem, get_registry  # noqa: E402

LEVELS = range(12)  # grey levels: brighter is better in this toy world
CAPTION = "a bright grey square"


@pytest.fixture(scope="module")
def grey_world(tmp_path_factory):
    from PIL import Image

    from unireward_sdk.testing.tiny import build_tiny_judge

    root = tmp_path_factory.mktemp("scalar_tiny")
    judge = build_tiny_judge(root / "judge", arch="qwen2_vl", seed=0)
    paths = []
    for level in LEVELS:
        path = root / f"grey_{level:02d}.png"
        Image.new("RGB", (64, 64), (20 * level,) * 3).save(path)
        paths.append(str(path))
    registry = get_registry()
    backend = registry.backend("transformers", checkpoint=str(judge), device="cpu", batch_size=16)
    return registry, backend, paths


def single(paths, level):
    return JudgeItem(id=f"g{level}", task="image_generation", prompt=CAPTION,
                     candidates=(Candidate(id=f"g{level}", path=paths[level], modality="image"),))


def pair(paths, a, b):
    return JudgeItem(id=f"{a}-vs-{b}", task="image_generation", prompt=CAPTION,
                     candidates=(Candidate(id=f"g{a}", path=paths[a], modality="image"),
                                 Candidate(id=f"g{b}", path=paths[b], modality="image")))


def test_scalar_head_learns_brightness_order_on_cached_features(grey_world, tmp_path):
    from unireward_builtins.heads.scalar_model import ScalarValueHead, fit_pairwise

    registry, backend, paths = grey_world
    head = registry.reward_head("scalar", backend=backend, task="image_generation", registry=registry)
    assert head.template_id == "image_generation.pointwise_score.qwen_v1"

    # one judge pass over the even levels; every training pair reuses those cached features
    train_levels = list(LEVELS)[0::2]
    feats, errors = head.features([single(paths, level) for level in train_levels])
    assert not errors and feats.shape == (len(train_levels), backend.model.config.get_text_config().hidden_size)
    index = [(i, j) for i, j in itertools.combinations(range(len(train_levels)), 2)]  # j is brighter
    chosen = feats[[j for _, j in index]]
    rejected = feats[[i for i, _ in index]]
    head.value_head = ScalarValueHead(feats.shape[1], base_checkpoint=backend.checkpoint, template_id=head.template_id)
    losses = fit_pairwise(head.value_head, chosen, rejected, steps=40, lr=0.05)
    assert losses[-1] < 0.2 * losses[0]

    # held-out odd levels: judged pairwise through the backend, both orders
    odd = list(LEVELS)[1::2]
    items = [pair(paths, a, b) for a, b in itertools.combinations(odd, 2)]
    verdicts = head.judge_pairwise(items + [item.swapped() for item in items])
    n = len(items)
    assert sum(v.winner == "B" for v in verdicts[:n]) >= n - 1
    assert sum(v.winner == "A" for v in verdicts[n:]) >= n - 1
    scores = head.score_pointwise([single(paths, level) for level in odd])
    values = [s.value for s in scores]
    assert sum(b > a for a, b in zip(values, values[1:])) >= len(values) - 2  # (nearly) increasing

    # the saved head, loaded by path, judges the same batch bit-for-bit the same
    head.value_head.save_pretrained(tmp_path / "value_head")
    again = registry.reward_head("scalar", backend=backend, task="image_generation", registry=registry,
                                 value_head=tmp_path / "value_head")
    repeated = again.judge_pairwise(items + [item.swapped() for item in items])
    assert [v.probabilities for v in repeated] == [v.probabilities for v in verdicts]


def test_symmetric_fast_head_on_the_tiny_judge_maps_orders_back(grey_world):
    """Symmetric(fast) = the average of the inner head's A/B verdict and its un-swapped B/A verdict."""
    from unireward_sdk.judging import Symmetric, consistency_report

    registry, backend, paths = grey_world
    fast = registry.reward_head("fast", backend=backend, task="image_generation", registry=registry)
    items = [pair(paths, 0, 5), pair(paths, 7, 2), pair(paths, 3, 3)]
    inner = fast.judge_pairwise(items + [item.swapped() for item in items])  # the batch Symmetric sends
    combined = Symmetric(fast).judge_pairwise(items)
    swap = {"A": "B", "B": "A", "tie": "tie"}
    for k, verdict in enumerate(combined):
        forward, backward = inner[k].probabilities, inner[len(items) + k].probabilities
        for label in ("A", "B", "tie"):
            expected = (forward[label] + backward[swap[label]]) / 2
            assert verdict.probabilities[label] == pytest.approx(expected, abs=1e-12)
        distance = sum(abs(forward[lab] - backward[swap[lab]]) for lab in forward) / 2
        assert verdict.consistency == pytest.approx(1 - distance, abs=1e-12)
    # the same image in both positions: both orders see the same content, so they agree closely
    assert combined[2].consistency > 0.99
    report = consistency_report(combined)
    assert report.n_symmetric == 3 and report.swap_consistency_rate is not None
