"""The JSON schema of ``unireward serve``: pydantic models that FastAPI validates requests against and
publishes at ``/openapi.json`` (and ``/docs``). Imported only when a server is built (pydantic comes with
the ``serve`` extra's fastapi)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    # a misspelt field is refused rather than ignored: a client must not believe it sent something it did not
    model_config = ConfigDict(extra="forbid")


class CandidateIn(_Strict):
    """One candidate: text, or a media file sent by path (read under the server's media root only) or inline."""

    id: str | None = Field(None, description="the candidate's id in the results (default c0, c1, ...)")
    modality: str = Field(..., description="image, video or text (a plugin may add modalities)",
                          examples=["image"])
    path: str | None = Field(None, description="a file under the server's --media-root (relative to it, or "
                                               "absolute inside it); '..' and symlinks are resolved first")
    data: str | None = Field(None, description="the file's bytes in base64")
    format: str | None = Field(None, description="the inline file's type: png, jpg, mp4, ... (default png)")
    text: str | None = Field(None, description="the text of a text candidate")


class _Prompted(_Strict):
    id: str | None = Field(None, description="echoed in the results (default item-n / group-n)")
    prompt: str | None = Field(None, description="the caption of a generation task")
    question: str | None = Field(None, description="the question of an understanding task")
    context: list[str] = Field(default_factory=list,
                               description="media the judge is asked about (paths, under the media root)")


class ItemIn(_Prompted):
    candidates: list[CandidateIn] = Field(..., description="two candidates (A, B) pairwise, one pointwise")


class JudgeRequest(_Strict):
    mode: Literal["pairwise", "pointwise"]
    items: list[ItemIn] = Field(..., min_length=1)


class JudgeResponse(BaseModel):
    results: list[dict[str, Any]] = Field(
        ..., description="one per item, in order: unireward_sdk.records.to_dict of a Verdict (pairwise: winner "
                         "A/B/tie, probabilities, raw, status, error, provenance) or a Score (pointwise: value, ...); "
                         "a failed item has status != 'ok' and its reason in error")


class GroupIn(_Prompted):
    candidates: list[CandidateIn] = Field(..., min_length=2,
                                          description="the group's completions for one prompt (G >= 2)")


class GroupRewardsRequest(_Strict):
    groups: list[GroupIn] = Field(..., min_length=1)
    use_probabilities: bool = Field(False, description="count P(win) + P(tie)/2 per game where the head gives "
                                                       "probabilities, instead of 1 / 0.5 / 0")


class CandidateReward(BaseModel):
    id: str
    reward: float | None = Field(..., description="win rate over the candidate's G-1 games (a failed game counts "
                                                  "0.5); null when every game failed")
    status: Literal["ok", "failed"]
    games: int
    failed_games: int
    error: str | None = Field(None, description="the reason of a failed game (the first), when any failed")


class GroupRewards(BaseModel):
    id: str
    rewards: list[float | None] = Field(..., description="the candidates' rewards, in order")
    candidates: list[CandidateReward]
    verdicts: list[dict[str, Any]] = Field(..., description="the C(G, 2) verdicts, pairs (0,1), (0,2), ..., "
                                                            "(G-2,G-1), as in /v1/judge")


class GroupRewardsResponse(BaseModel):
    groups: list[GroupRewards]


class Health(BaseModel):
    status: Literal["ok"]
    requests: int = Field(..., description="judge and group-reward requests accepted")
    model_calls: int = Field(..., description="head calls made for them (fewer than requests when batched)")
    items: int = Field(..., description="items judged in those calls")


class Info(BaseModel):
    head: str
    task: str
    checkpoint: str | None
    backend: str | None
    max_batch: int
    max_body: int
    batch_window: float
    media_root: str | None
    auth: bool = Field(..., description="whether requests need a bearer token")


class ErrorBody(BaseModel):
    message: str


class ErrorResponse(BaseModel):
    error: ErrorBody
