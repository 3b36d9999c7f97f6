"""ScalarValueHead: safetensors round trip, fitting on cached features, the scalar reward head on fakes."""

from __future__ import annotations

import json
import zlib

import pytest

torch = pytest.importorskip("torch")

from unireward_builtins.heads.scalar import ScalarRewardHead, make_scalar_head  # noqa: E402
from unireward_builtins.heads.scalar_model import (  # noqa: E402
    CONFIG_NAME,
    WEIGHTS_NAME,
    ScalarValueHead,
    fit_pairwise,
    fit_pointwise,
)

from unireward_sdk import (  # noqa: E402
    Candidate,
    CapabilityError,
    ConfigError,
    JudgeItem,
    JudgeRequest,
    MediaError,
    ParseStatus,
)
from unireward_sdk.errors import ModelLoadError  # noqa: E402
from unireward_sdk.judging import Symmetric  # noqa: E402
from unireward_sdk.testing.head import HeadContract  # noqa: E402


def test_save_load_roundtrip_is_bitwise(tmp_path):
    torch.manual_seed(0)
    head = ScalarValueHead(16, models_ties=True, scale=(1, 5), base_checkpoint="tiny", template_id="t.pointwise")
    head.set_standardization(torch.randn(10, 16) * 3 + 1)
    with torch.no_grad():
        head.tie_raw.fill_(0.37)
    head.save_pretrained(tmp_path / "vh")
    assert sorted(p.name for p in (tmp_path / "vh").iterdir()) == sorted([CONFIG_NAME, WEIGHTS_NAME])
    back = ScalarValueHead.from_pretrained(tmp_path / "vh")
    for (k1, v1), (k2, v2) in zip(head.state_dict().items(), back.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)
    x = torch.randn(5, 16)
    assert torch.equal(head(x), back(x))
    assert back.scale == (1.0, 5.0) and back.models_ties and back.template_id == "t.pointwise"


def test_loading_refuses_missing_or_mismatched_files(tmp_path):
    with pytest.raises(ModelLoadError, match="missing"):
        ScalarValueHead.from_pretrained(tmp_path)
    ScalarValueHead(8).save_pretrained(tmp_path / "vh")
    config = json.loads((tmp_path / "vh" / CONFIG_NAME).read_text())
    config["hidden_size"] = 9
    (tmp_path / "vh" / CONFIG_NAME).write_text(json.dumps(config))
    with pytest.raises(ModelLoadError, match="do not match"):
        ScalarValueHead.from_pretrained(tmp_path / "vh")


def _toy_features(n=64, hidden=32, seed=0):
    """Features whose hidden 'quality' is a fixed random direction, plus a large constant offset."""
    direction = torch.randn(hidden, generator=torch.Generator().manual_seed(1234))  # the same world always
    g = torch.Generator().manual_seed(seed)
    feats = torch.randn(n, hidden, generator=g) * 2 + 50.0
    quality = feats @ direction
    return feats, quality


def test_fit_pairwise_learns_a_toy_ordering():
    feats, quality = _toy_features(n=256)
    a, b = feats[0::2], feats[1::2]
    a_better = quality[0::2] > quality[1::2]
    chosen = torch.where(a_better[:, None], a, b)
    rejected = torch.where(a_better[:, None], b, a)
    head = ScalarValueHead(32)
    losses = fit_pairwise(head, chosen, rejected, steps=40, lr=0.05)
    assert losses[-1] < 0.3 * losses[0]
    with torch.no_grad():
        accuracy = float(((head(chosen) > head(rejected))).float().mean())
    assert accuracy >= 0.95
    # held-out pairs from the same world are ordered correctly too (mostly)
    test_feats, test_quality = _toy_features(n=200, seed=1)
    with torch.no_grad():
        r = head(test_feats)
    agree = ((r[0::2] > r[1::2]) == (test_quality[0::2] > test_quality[1::2])).float().mean()
    assert float(agree) >= 0.8


def test_fit_with_ties_learns_a_positive_threshold():
    feats, quality = _toy_features(n=96)
    a, b = feats[0::2], feats[1::2]
    gap = quality[0::2] - quality[1::2]
    ties = gap.abs() < gap.abs().median() / 2
    chosen = torch.where((gap > 0)[:, None], a, b)
    rejected = torch.where((gap > 0)[:, None], b, a)
    head = ScalarValueHead(32, models_ties=True)
    start = float(head.eta.detach())
    fit_pairwise(head, chosen, rejected, ties=ties, steps=60, lr=0.05)
    eta = float(head.eta.detach())
    assert eta != start and eta > 0
    with pytest.raises(ValueError, match="models_ties"):
        fit_pairwise(ScalarValueHead(32), chosen, rejected, ties=ties, steps=1)


def test_fit_pointwise_regresses_targets():
    feats, quality = _toy_features()
    targets = 3 + quality / quality.std()
    head = ScalarValueHead(32, scale=(1, 5))
    losses = fit_pointwise(head, feats, targets, steps=60, lr=0.05)
    assert losses[-1] < 0.1 * losses[0]


# --- the reward head on a fake backend and task ----------------------------------------------------


class FakeTask:
    """Builds one text request per candidate; 'broken' paths raise a MediaError."""

    name = "fake_task"

    def template(self, template_id):
        class T:
            mode = "pointwise_score" if "pointwise" in template_id else "pairwise_rank"

        return T()

    def default_template(self, mode, family):
        return f"fake.{mode}.{family}"

    def build_request(self, item, template_id, media):
        cand = item.candidates[0]
        if cand.path == "broken.png":
            raise MediaError("file not found", who="broken.png")
        return JudgeRequest(parts=(("text", cand.text or cand.path),), template_id=template_id, item_id=item.id)


class FakeBackend:
    """Hidden state = [len(text), 1, 0, ...]: a head can learn 'longer is better' from it."""

    checkpoint = "fake-judge"
    family = "qwen_v1"

    def __init__(self, hidden=8):
        self.hidden = hidden
        self.calls = []

    def last_hidden_states(self, requests):
        self.calls.append(len(requests))
        out = torch.zeros(len(requests), self.hidden)
        for i, r in enumerate(requests):
            out[i, 0] = len(r.text)
            out[i, 1] = 1.0
            out[i, 2] = float(zlib.crc32(r.text.encode()) % 7)  # noise, the same in every process
        return out


def pair(i, a, b):
    return JudgeItem(id=f"p{i}", task="fake_task", prompt="caption",
                     candidates=(Candidate(id=f"{i}a", text=a), Candidate(id=f"{i}b", text=b)))


def make_head(**kw):
    return ScalarRewardHead(backend=FakeBackend(), task=FakeTask(), registry=object(), media=object(), **kw)


def test_untrained_head_refuses_to_judge():
    head = make_head()
    assert head.template_id == "fake.pointwise.qwen_v1"
    with pytest.raises(ConfigError, match="no trained value head"):
        head.judge_pairwise([pair(0, "a", "bb")])


def test_head_learns_longer_is_better_and_judges_pairwise_and_pointwise(tmp_path):
    head = make_head(batch_size=4)
    train = [pair(i, "x" * (i % 7 + 1), "y" * ((i * 3) % 5 + 1)) for i in range(24)]
    train = [p for p in train if len(p.candidates[0].text) != len(p.candidates[1].text)]
    winners = ["A" if len(p.candidates[0].text) > len(p.candidates[1].text) else "B" for p in train]
    losses = head.fit_preferences(train, winners, steps=40, lr=0.1)
    assert losses[-1] < losses[0]
    assert max(head.backend.calls) <= 4  # features computed in batches of batch_size

    test = [pair(100, "long answer", "s"), pair(101, "s", "long answer")]
    verdicts = head.judge_pairwise(test)
    assert [v.winner for v in verdicts] == ["A", "B"]
    v = verdicts[0]
    ra, rb = v.provenance.extra["rewards"]
    assert v.probabilities["A"] == pytest.approx(1 / (1 + torch.exp(torch.tensor(rb - ra)).item()))
    assert v.provenance.plugin == "scalar" and v.provenance.checkpoint == "fake-judge"

    [s_long, s_short] = head.score_pointwise([
        JudgeItem(id="l", task="fake_task", candidates=(Candidate(id="l", text="long answer"),)),
        JudgeItem(id="s", task="fake_task", candidates=(Candidate(id="s", text="s"),)),
    ])
    # a pointwise score is the same reward the pairwise verdict compared
    assert s_long.value > s_short.value
    assert (s_long.value, s_short.value) == pytest.approx((ra, rb), rel=1e-5)

    # the saved head judges identically after reloading, by path
    head.value_head.save_pretrained(tmp_path / "vh")
    again = make_head(value_head=tmp_path / "vh")
    assert [x.probabilities for x in again.judge_pairwise(test)] == [x.probabilities for x in verdicts]


def test_tie_margin_media_failures_and_symmetric_option():
    head = make_head(tie_margin=1e9)
    head.value_head = ScalarValueHead(8)
    broken = JudgeItem(id="b", task="fake_task", candidates=(Candidate(id="x", path="broken.png"),
                                                             Candidate(id="y", text="fine")))
    ok, bad = head.judge_pairwise([pair(0, "aa", "b"), broken])
    assert ok.winner == "tie"
    assert not bad.ok and bad.status == ParseStatus.MEDIA_ERROR and "file not found" in bad.error

    sym = make_scalar_head(backend=FakeBackend(), task=FakeTask(), registry=object(), media=object(),
                           value_head=head.value_head, symmetric=True)
    assert isinstance(sym, Symmetric)
    [v] = sym.judge_pairwise([pair(1, "aaa", "b")])
    assert v.consistency == pytest.approx(1.0)  # Bradley-Terry is swap-symmetric by construction


def test_width_mismatch_is_explained():
    head = make_head(value_head=ScalarValueHead(5, base_checkpoint="other"))
    with pytest.raises(ConfigError, match="hidden size 5"):
        head.judge_pairwise([pair(0, "a", "bb")])


# --- the scalar head on the shared head base: the head contract, isolation, capability check -----------


class TestScalarHeadContract(HeadContract):
    """The scalar head passes the contract every reward head passes (batching, order, failure values)."""

    @pytest.fixture
    def head(self):
        head = make_head(batch_size=2)
        torch.manual_seed(0)
        head.value_head = ScalarValueHead(8, models_ties=True)
        return head

    @pytest.fixture
    def pairwise_items(self):
        return [pair(i, "x" * (i + 1), "y" * (2 * i + 3)) for i in range(5)]

    @pytest.fixture
    def pointwise_items(self):
        return [JudgeItem(id=f"s{i}", task="fake_task", candidates=(Candidate(id=f"c{i}", text="z" * (i + 1)),))
                for i in range(5)]

    @pytest.fixture
    def broken_item(self):
        return JudgeItem(id="broken", task="fake_task", prompt="caption",
                         candidates=(Candidate(id="x", path="broken.png"), Candidate(id="y", text="fine")))


def test_a_failing_backend_call_fails_only_its_item():
    class Flaky(FakeBackend):
        def last_hidden_states(self, requests):
            if any("explode" in r.text for r in requests):
                raise RuntimeError("device-side assert (simulated)")
            return super().last_hidden_states(requests)

    head = ScalarRewardHead(backend=Flaky(), task=FakeTask(), registry=object(), media=object(),
                            value_head=ScalarValueHead(8))
    good, bad, other = head.judge_pairwise([pair(0, "aa", "b"), pair(1, "explode", "b"), pair(2, "a", "bbb")])
    assert good.ok and other.ok
    assert bad.status == ParseStatus.BACKEND_ERROR and "simulated" in bad.error and bad.winner is None
    assert bad.provenance.plugin == "scalar" and bad.provenance.template_id == "fake.pointwise.qwen_v1"


def test_a_backend_without_features_is_refused_when_the_head_is_built():
    class TextOnly:
        name, checkpoint, family = "text_only", "t", "qwen_v1"

        def generate(self, requests):
            return [""] * len(requests)

    with pytest.raises(CapabilityError, match=r"backend 'text_only' lacks it: features \(FeatureExtractor: no "
                                              r"last_hidden_states\)"):
        ScalarRewardHead(backend=TextOnly(), task=FakeTask(), registry=object(), media=object())
