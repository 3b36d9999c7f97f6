"""Reward functions for verl, answered by ``unireward serve``. verl loads them from this file::

    # per sample (verl's default "naive" reward manager): the judge's pointwise score
    custom_reward_function.path=<site-packages>/unireward_builtins/serving/verl_reward.py
    custom_reward_function.name=compute_score
    # per batch (reward_model.reward_manager=batch): the responses to one prompt as a group, win-rate rewards
    custom_reward_function.name=compute_score_batch
    # options as reward kwargs, e.g.
    +custom_reward_function.reward_kwargs.url=http://judge-host:8080
    +custom_reward_function.reward_kwargs.token_env=JUDGE_TOKEN

``compute_score(data_source, solution_str, ground_truth, extra_info=None, **options)`` is verl's custom
reward signature; ``compute_score_batch(data_sources, solution_strs, ground_truths, extra_infos, **options)``
its batch manager's. verl puts a prompt's responses next to each other, so a run of equal prompts is one
group. The prompt is ``extra_info[prompt_key]`` (verl's data preparation keeps the question there), media
asked about ``extra_info[context_key]`` (paths under the server's media root).

Each result is ``{"score": float, "judge_ok": bool, "judge_error": str}``: verl trains on ``score`` and logs
the other keys per sample, so a response the judge could not rate is visible, scored ``failure_score``.

Options: ``url`` (default ``$UNIREWARD_SERVE_URL``), ``token_env``, ``modality`` (``text``: the response is
the candidate; ``image`` / ``video``: the response is the path of the media the policy made), ``inline``
(send media bytes instead of paths), ``prompt_key`` (``question``), ``context_key`` (none),
``use_probabilities``, ``failure_score`` (0.0).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from unireward_sdk.errors import ConfigError
from unireward_sdk.records import Candidate, JudgeItem

from .client import RewardClient
from .trl_reward import GroupRewardFunction

_CLIENTS: dict[tuple, RewardClient] = {}
_LOCK = threading.Lock()


def client_for(url: str | None, token_env: str | None, inline: bool) -> RewardClient:
    """One client per server and settings in this process (verl calls once per sample: keep the connection)."""
    url = url or os.environ.get("UNIREWARD_SERVE_URL")
    if not url:
        raise ConfigError("no unireward serve address: neither the url option nor UNIREWARD_SERVE_URL is set",
                          who="verl reward function",
                          fix="Set +custom_reward_function.reward_kwargs.url=http://host:port, or export "
                              "UNIREWARD_SERVE_URL")
    key = (url, token_env, inline)
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = RewardClient(url, token_env=token_env, inline=inline)
        return _CLIENTS[key]


def _candidate(solution: str, modality: str, candidate_id: str) -> Candidate:
    if modality == "text":
        return Candidate(candidate_id, "text", text=solution)
    return Candidate(candidate_id, modality, path=solution.strip())


def _prompt(extra_info: Any, prompt_key: str) -> str:
    if isinstance(extra_info, Mapping) and extra_info.get(prompt_key) is not None:
        return str(extra_info[prompt_key])
    # without it the judge would rate a response to nothing, and every response would share one group
    raise ConfigError(f"extra_info has no {prompt_key!r} (the prompt the response answers)", who="verl reward function",
                      fix=f"Keep the prompt in each row's extra_info[{prompt_key!r}] when preparing the data, or "
                          "name its key with the prompt_key option")


def _context(extra_info: Any, context_key: str | None) -> tuple[str, ...]:
    if context_key is None or not isinstance(extra_info, Mapping) or extra_info.get(context_key) is None:
        return ()
    value = extra_info[context_key]
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)


def _result(value: float | None, error: str | None, failure_score: float) -> dict[str, Any]:
    if value is None:
        return {"score": float(failure_score), "judge_ok": False, "judge_error": error or "no reward"}
    return {"score": float(value), "judge_ok": True, "judge_error": ""}


def compute_score(data_source: str, solution_str: str, ground_truth: Any, extra_info: Any = None, *,
                  url: str | None = None, token_env: str | None = None, modality: str = "text",
                  inline: bool = False, prompt_key: str = "question", context_key: str | None = None,
                  failure_score: float = 0.0) -> dict[str, Any]:
    """The judge's pointwise score of one response (see the module docstring)."""
    client = client_for(url, token_env, inline)
    prompt = _prompt(extra_info, prompt_key)
    # the server judges as its own task: the item's is not sent
    item = JudgeItem(id=f"{data_source}/response", task="served", prompt=prompt, question=prompt,
                     context=_context(extra_info, context_key),
                     candidates=[_candidate(solution_str, modality, "response")])
    (score,) = client.score_pointwise([item])
    return _result(score.value if score.ok else None, score.error, failure_score)


def compute_score_batch(data_sources: Sequence[str], solution_strs: Sequence[str], ground_truths: Sequence[Any],
                        extra_infos: Sequence[Any] | None = None, *, url: str | None = None,
                        token_env: str | None = None, modality: str = "text", inline: bool = False,
                        prompt_key: str = "question", context_key: str | None = None,
                        use_probabilities: bool = False,
                        failure_score: float = 0.0) -> list[dict[str, Any]]:
    """Win-rate rewards of each run of responses to one prompt (see the module docstring)."""
    infos = list(extra_infos) if extra_infos is not None else [None] * len(solution_strs)
    reward = GroupRewardFunction(
        client_for(url, token_env, inline), use_probabilities=use_probabilities, context_key="context",
        make_candidate=lambda solution, *, candidate_id, extras: _candidate(solution, modality, candidate_id))
    prompts = [_prompt(info, prompt_key) for info in infos]
    rewards = reward(prompts, list(solution_strs), context=[_context(info, context_key) for info in infos])
    errors = {}
    for span, answer in zip([g for g in reward.groups(prompts) if g[1] - g[0] > 1], reward.last_groups):
        for k, candidate in enumerate(answer.candidates):
            errors[span[0] + k] = candidate.error
    return [_result(value, errors.get(i) or "alone in its group: no other response to the same prompt",
                    failure_score) for i, value in enumerate(rewards)]
