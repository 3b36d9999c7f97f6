"""The GRPO reward adapter inside a real trl GRPOTrainer step on a tiny, locally built causal LM."""

from __future__ import annotations

import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from unireward_sdk.judging import grpo_reward_function, win_rate_rewards  # noqa: E402

from fake_heads_extra import QualityHead  # noqa: E402


def _tiny_policy(path):
    """A 2-layer Qwen2 causal LM (a few hundred thousand weights) with the project's tiny tokenizer."""
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from unireward_sdk.testing.tiny import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    config = Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
        eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id, bos_token_id=None,
        tie_word_embeddings=True,
    )
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


class RecordingHead(QualityHead):
    """The position-free fake judge, remembering what trl made it judge."""

    def __init__(self):
        super().__init__()
        self.items = []

    def judge_pairwise(self, items):
        self.items.extend(items)
        return super().judge_pairwise(items)


def test_win_rate_reward_inside_a_grpo_trainer_step(tmp_path):
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    policy = _tiny_policy(tmp_path / "policy")
    head = RecordingHead()
    reward = grpo_reward_function(head, task="image_understanding", num_generations=4)
    dataset = Dataset.from_dict({
        "prompt": ["What is in the image?", "Describe the colours."],
        "context": ["img0.png", "img1.png"],
    })
    args = GRPOConfig(
        output_dir=str(tmp_path / "out"), per_device_train_batch_size=8, num_generations=4,
        max_completion_length=8, max_steps=1, learning_rate=1e-4, logging_steps=1, report_to="none",
        save_strategy="no", use_cpu=True, bf16=False, shuffle_dataset=False, seed=0,
    )

    trainer = GRPOTrainer(
        model=AutoModelForCausalLM.from_pretrained(policy), reward_funcs=[reward],
        args=args, train_dataset=dataset, processing_class=AutoTokenizer.from_pretrained(policy),
    )
    before = {n: p.detach().clone() for n, p in trainer.model.named_parameters()}
    trainer.train()

    # trl passed 2 prompts x 4 completions, grouped consecutively; every group of 4 was judged on all 6 pairs
    assert len(head.items) == 2 * 6 and reward.calls == 1
    assert [len(g) for g in reward.last_verdicts] == [6, 6]
    assert {item.context for item in head.items} == {("img0.png",), ("img1.png",)}
    assert {item.question for item in head.items} == {"What is in the image?", "Describe the colours."}
    for group in reward.last_verdicts:
        rewards = win_rate_rewards(group, 4)
        assert sum(rewards) == pytest.approx(4 / 2)  # 6 games, one point each, 3 games per member
    assert any(not torch.equal(before[n], p) for n, p in trainer.model.named_parameters())
    logged = [row for row in trainer.state.log_history if "rewards/unireward_win_rate/mean" in row]
    assert logged and logged[0]["rewards/unireward_win_rate/mean"] == pytest.approx(0.5)
    assert logged[0]["unireward_win_rate/failure_rate"] == 0.0  # judge health logged through log_metric


def test_the_reward_object_itself_is_accepted_by_trl(tmp_path):
    """trl names reward columns after __name__ and calls the object as a plain function."""
    from trl.trainer.utils import get_callable_name, is_async_callable

    reward = grpo_reward_function(QualityHead(), task="image_understanding")
    assert get_callable_name(reward) == "unireward_win_rate"
    assert not is_async_callable(reward)
