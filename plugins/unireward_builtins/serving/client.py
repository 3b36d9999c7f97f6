"""A client for ``unireward serve``: a reward head whose judging happens in the server's process.

:class:`RewardClient` has the head protocol (``judge_pairwise`` / ``score_pointwise``), so everything that
takes a head takes it, the SDK's GRPO reward function included::

    from unireward_sdk.judging import grpo_reward_function
    from unireward_builtins.serving.client import RewardClient

    reward = grpo_reward_function(RewardClient("http://judge-host:8080", token_env="JUDGE_TOKEN"),
                                  "image_generation", make_item=...)   # trl's GRPOTrainer(reward_funcs=[reward])

``group_rewards`` asks the server for the win-rate rewards of whole groups (one prompt's completions each)
in one request; :mod:`.trl_reward` and :mod:`.verl_reward` build trainers' reward functions on it.

Media go as paths (the server reads them under its ``--media-root``) or, with ``inline=True``, as the
files' bytes in base64. A request the server refuses raises :class:`ServeRequestError` with its message;
per-item failures come back as failure values, as from a local head.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from attrs import field, frozen

from unireward_sdk.errors import ConfigError, UniRewardError, require
from unireward_sdk.records import Candidate, JudgeItem, Score, Verdict, from_dict


class ServeRequestError(UniRewardError):
    """``unireward serve`` refused a request (the server's status and message)."""


@frozen
class RewardGroup:
    """One prompt's completions, to be rewarded against each other (G >= 2 candidates)."""

    id: str
    candidates: tuple[Candidate, ...] = field(converter=tuple)
    prompt: str | None = None
    question: str | None = None
    context: tuple[str, ...] = field(default=(), converter=tuple)


@frozen
class CandidateReward:
    """A candidate's win rate over its ``games`` (G-1); ``reward`` is None when every game failed (``error``
    says why); a failed game among judged ones counts 0.5, as in :func:`unireward_sdk.judging.win_rate_rewards`."""

    id: str
    reward: float | None
    status: str
    games: int
    failed_games: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@frozen
class GroupRewards:
    """A group's rewards (in candidate order), per-candidate detail, and the C(G, 2) verdicts behind them."""

    id: str
    rewards: tuple[float | None, ...] = field(converter=tuple)
    candidates: tuple[CandidateReward, ...] = field(converter=tuple)
    verdicts: tuple[Verdict, ...] = field(converter=tuple)


class RewardClient:
    """A remote reward head (see the module docstring)."""

    name = "remote"

    def __init__(self, url: str, *, token_env: str | None = None, inline: bool = False, timeout: float = 600.0):
        httpx = require("httpx", extra="serve", purpose="the unireward serve client")
        headers = {}
        if token_env:
            token = os.environ.get(token_env)
            if not token:
                raise ConfigError(f"environment variable {token_env} (token_env) is not set", who="RewardClient",
                                  fix=f"Export {token_env}=<the server's token>, or drop token_env")
            headers["Authorization"] = f"Bearer {token}"
        self.url = url.rstrip("/")
        self.inline = inline
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def close(self) -> None:
        self._client.close()

    def info(self) -> dict[str, Any]:
        return self._get("/v1/info")

    def _get(self, path: str) -> dict[str, Any]:
        response = self._client.get(self.url + path)
        self._check(response)
        return response.json()

    def _check(self, response) -> None:
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:300]
            raise ServeRequestError(f"HTTP {response.status_code}: {message}", who=self.url,
                                    fix="The server's message says what it refused")

    def _candidate(self, candidate: Any) -> dict[str, Any]:
        out: dict[str, Any] = {"id": candidate.id, "modality": candidate.modality}
        if candidate.modality == "text" or candidate.path is None:
            out["text"] = candidate.text or ""
        elif self.inline:
            path = Path(candidate.path)
            out["data"] = base64.b64encode(path.read_bytes()).decode("ascii")
            out["format"] = path.suffix.lstrip(".") or "png"
        else:
            out["path"] = str(candidate.path)
        return out

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = self._client.post(self.url + path, json=body)
        self._check(response)
        return response.json()

    def _prompted(self, item: JudgeItem | RewardGroup) -> dict[str, Any]:
        return {"id": item.id, "prompt": item.prompt, "question": item.question, "context": list(item.context),
                "candidates": [self._candidate(c) for c in item.candidates]}

    def _judge(self, mode: str, items: Sequence[JudgeItem]) -> list[Any]:
        if not items:
            return []
        answer = self._post("/v1/judge", {"mode": mode, "items": [self._prompted(item) for item in items]})
        return [from_dict(r) for r in answer["results"]]

    def group_rewards(self, groups: Sequence[RewardGroup], *, use_probabilities: bool = False) -> list[GroupRewards]:
        """Win-rate rewards of each group, judged by the server (all groups' pairs in its batches)."""
        if not groups:
            return []
        answer = self._post("/v1/group_rewards", {"groups": [self._prompted(g) for g in groups],
                                                  "use_probabilities": use_probabilities})
        return [GroupRewards(id=g["id"], rewards=g["rewards"],
                             candidates=[CandidateReward(**c) for c in g["candidates"]],
                             verdicts=[from_dict(v) for v in g["verdicts"]])
                for g in answer["groups"]]

    def judge_pairwise(self, items: Sequence[JudgeItem]) -> list[Verdict]:
        return self._judge("pairwise", items)

    def score_pointwise(self, items: Sequence[JudgeItem]) -> list[Score]:
        return self._judge("pointwise", items)
