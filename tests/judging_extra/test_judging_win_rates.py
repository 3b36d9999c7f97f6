"""Win-rate rewards over a group's pairwise verdicts, checked on hand-computed groups."""

from __future__ import annotations

import pytest

from unireward_sdk import Candidate, ConfigError, ParseStatus, Verdict
from unireward_sdk.judging import GRPORewardFunction, group_pairs, grpo_reward_function, win_rate_rewards

from fake_heads_extra import QualityHead


def v(winner, **kw):
    return Verdict(item_id="p", winner=winner, **kw)


def test_group_pairs_order():
    assert group_pairs(3) == [(0, 1), (0, 2), (1, 2)]
    assert len(group_pairs(5)) == 10
    with pytest.raises(ConfigError, match="at least 2"):
        group_pairs(1)


def test_group_of_three_by_hand():
    # (0,1): 0 wins; (0,2): tie; (1,2): 2 wins  -> 0: 1.5/2, 1: 0/2, 2: 1.5/2
    assert win_rate_rewards([v("A"), v("tie"), v("B")], 3) == [0.75, 0.0, 0.75]


def test_failures_count_one_half_never_a_win_for_position_a():
    failed = Verdict.failure("p", ParseStatus.UNPARSED, "no verdict", raw="??")
    # (0,1): fail; (0,2): 0 wins; (1,2): 1 wins -> 0: 1.5/2, 1: 1.5/2, 2: 0
    assert win_rate_rewards([failed, v("A"), v("A")], 3) == [0.75, 0.75, 0.0]
    assert win_rate_rewards([failed], 2) == [0.5, 0.5]


def test_group_of_four_sums_to_half_the_games():
    verdicts = [v("A"), v("B"), v("A"), v("tie"), v("B"), v("A")]  # pairs 01 02 03 12 13 23
    rewards = win_rate_rewards(verdicts, 4)
    # 0: 1 + 0 + 1 = 2; 1: 0 + .5 + 0 = .5; 2: 1 + .5 + 1 = 2.5; 3: 0 + 1 + 0 = 1
    assert rewards == pytest.approx([2 / 3, 0.5 / 3, 2.5 / 3, 1 / 3])
    assert sum(rewards) * 3 == pytest.approx(6)  # every game hands out exactly one point


def test_probabilities_give_soft_win_rates():
    verdicts = [v("A", probabilities={"A": 0.7, "B": 0.1, "tie": 0.2})]
    assert win_rate_rewards(verdicts, 2, use_probabilities=True) == pytest.approx([0.8, 0.2])
    assert win_rate_rewards(verdicts, 2) == [1.0, 0.0]


def test_wrong_number_of_verdicts_is_refused():
    with pytest.raises(ConfigError, match="expected 3 verdicts"):
        win_rate_rewards([v("A")], 3)


def test_reward_function_groups_consecutive_prompts_and_batches_all_pairs():
    head = QualityHead()
    f = grpo_reward_function(head, task="image_understanding")
    prompts = ["p1"] * 3 + ["p2"] * 2
    completions = ["aaa", "a", "aa", "x", "xxxx"]
    logged = []
    rewards = f(prompts, completions, context=["img1.png"] * 3 + ["img2.png"] * 2, trainer_state=object(),
                log_metric=lambda name, value: logged.append((name, value)))
    assert rewards == [1.0, 0.0, 0.5, 0.0, 1.0]
    assert head.calls == 1  # all groups in one judge call
    assert f.__name__ == "unireward_win_rate"
    assert [len(g) for g in f.last_verdicts] == [3, 1]
    assert ("unireward_win_rate/failure_rate", 0.0) in logged


def test_reward_function_reads_conversational_trl_rows_and_context():
    seen = []

    class Spy(QualityHead):
        def judge_pairwise(self, items):
            seen.extend(items)
            return super().judge_pairwise(items)

    f = GRPORewardFunction(Spy(), task="image_understanding", num_generations=2)
    prompt = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": "What is shown?"}]}]
    completions = [[{"role": "assistant", "content": "a red cube"}], [{"role": "assistant", "content": "cube"}]]
    assert f([prompt, prompt], completions, context=[["a.png"], ["a.png"]]) == [1.0, 0.0]
    item = seen[0]
    assert item.question == "What is shown?" and item.context == ("a.png",)
    assert [c.text for c in item.candidates] == ["a red cube", "cube"]


def test_reward_function_uses_a_custom_item_builder():
    def make_item(prompt, a, b, *, item_id, extras):
        from unireward_sdk import JudgeItem

        return JudgeItem(id=item_id, task="image_generation", prompt=prompt,
                         candidates=(Candidate(id="a", text=b), Candidate(id="b", text=a)))  # reversed on purpose

    f = GRPORewardFunction(QualityHead(), task="image_generation", make_item=make_item)
    assert f(["p", "p"], ["long", "s"]) == [0.0, 1.0]


def test_singleton_groups_get_none_and_bad_chunks_are_refused():
    f = GRPORewardFunction(QualityHead(), task="t")
    assert f(["p", "q", "q"], ["a", "bb", "b"]) == [None, 1.0, 0.0]
    g = GRPORewardFunction(QualityHead(), task="t", num_generations=2)
    with pytest.raises(ConfigError, match="share one prompt"):
        g(["p", "q"], ["a", "b"])
    with pytest.raises(ConfigError, match="multiple of num_generations"):
        g(["p", "p", "p"], ["a", "b", "c"])
