"""A reward function for trl's ``GRPOTrainer`` whose groups are rewarded by ``unireward serve``::

    from unireward_builtins.serving.client import RewardClient
    from unireward_builtins.serving.trl_reward import group_reward_function

    reward = group_reward_function(RewardClient("http://judge-host:8080", token_env="JUDGE_TOKEN"))
    trainer = GRPOTrainer(model=policy, reward_funcs=[reward], ...)

Grouping is :class:`unireward_sdk.judging.GRPORewardFunction`'s (runs of equal prompts, or chunks of
``num_generations``); each group goes to ``/v1/group_rewards`` as one prompt's candidates, all groups of a
step in one request, and the server computes the SDK's win rates. A member alone in its group, and a
candidate none of whose games could be judged, get ``None`` (trl records NaN and leaves it out) instead
of a made-up reward.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from unireward_sdk.errors import ConfigError
from unireward_sdk.judging import GRPORewardFunction, context_of, text_of
from unireward_sdk.records import Candidate

from .client import GroupRewards, RewardClient, RewardGroup


def text_candidate(completion: Any, *, candidate_id: str, extras: Mapping[str, Any]) -> Candidate:
    """The default candidate: the completion's text (a string, or chat messages)."""
    return Candidate(candidate_id, "text", text=text_of(completion))


class GroupRewardFunction(GRPORewardFunction):
    """``f(prompts, completions, **columns) -> list[float | None]`` through ``client.group_rewards``.

    ``make_candidate(completion, *, candidate_id, extras)`` turns a completion into a Candidate (default: its
    text; an image policy's completion would be ``Candidate(candidate_id, "image", path=...)``); ``extras``
    is the group's first dataset row. The prompt's text goes as both caption and question, and the row's
    ``context_key`` column as the media asked about, as in :func:`unireward_sdk.judging.default_make_item`.
    ``last_groups`` keeps the latest call's :class:`~.client.GroupRewards`.
    """

    def __init__(self, client: RewardClient, *, make_candidate: Callable[..., Candidate] | None = None,
                 num_generations: int | None = None, use_probabilities: bool = False,
                 context_key: str | None = "context", name: str = "unireward_win_rate"):
        if not hasattr(client, "group_rewards"):
            raise ConfigError(f"{type(client).__name__} has no group_rewards method", who="GroupRewardFunction",
                              fix="Pass a RewardClient (unireward_builtins.serving.client)")
        # the server judges as its own task; asking for it also checks the address and token before training
        task = client.info()["task"]
        super().__init__(client, task, num_generations=num_generations, use_probabilities=use_probabilities,
                         context_key=context_key, name=name)
        self.client = client
        self.make_candidate = make_candidate or text_candidate
        self.last_groups: list[GroupRewards] = []

    def __call__(self, prompts: Sequence[Any], completions: Sequence[Any], **kwargs: Any) -> list[float | None]:
        if len(prompts) != len(completions):
            raise ConfigError(f"{len(prompts)} prompts but {len(completions)} completions", who=self.__name__,
                              fix="Pass one prompt per completion, as trl does")
        self.calls += 1
        columns = {k: v for k, v in kwargs.items() if isinstance(v, list) and len(v) == len(prompts)}
        groups, spans = [], []
        for g, (s, e) in enumerate(self.groups(prompts)):
            if e - s < 2:
                continue
            extras = {k: v[s] for k, v in columns.items()}
            group_id = f"call{self.calls}/group{g}"
            text = text_of(prompts[s])
            candidates = [self.make_candidate(completions[i], candidate_id=f"{group_id}:{i - s}", extras=extras)
                          for i in range(s, e)]
            groups.append(RewardGroup(id=group_id, candidates=candidates, prompt=text, question=text,
                                      context=context_of(extras, self.context_key)))
            spans.append((s, e))
        self.last_groups = self.client.group_rewards(groups, use_probabilities=self.use_probabilities)
        rewards: list[float | None] = [None] * len(prompts)
        for (s, e), answer in zip(spans, self.last_groups):
            rewards[s:e] = answer.rewards
        self.last_verdicts = [list(answer.verdicts) for answer in self.last_groups]
        self._log(kwargs.get("log_metric"), [v for answer in self.last_groups for v in answer.verdicts])
        return rewards


def group_reward_function(client: RewardClient, **options: Any) -> GroupRewardFunction:
    """A trl ``GRPOTrainer`` reward function rewarded by ``unireward serve`` (see :class:`GroupRewardFunction`)."""
    return GroupRewardFunction(client, **options)
