"""The ``openai`` backend: a judge served behind the OpenAI chat-completions protocol (vLLM, SGLang,
LMDeploy, ``transformers serve``).

A request carries what the ``transformers`` backend gives its model: one user turn whose parts keep the
request's order (media first), images as base64 PNG data URLs (lossless, so the server decodes the very
pixels the media layer loaded), greedy decoding (``temperature`` 0) and the template's token budget as
``max_tokens``. A video goes as the frames the media layer sampled, either one image part per frame
(``video_transport="frames"``, the default: every server takes images, but the model then sees a sequence
of images, not a video) or as one ``video_url`` part holding those very frames as a lossless MP4
(``"video_url"``: the model sees a video, as in-process; vLLM and SGLang take base64 video parts,
``transformers serve`` does not). See docs/serving.md.

- ``generate`` always.
- ``score_continuations`` (the fast head) only where the server returns log-probabilities: the answer's
  prefix is sent as a final assistant message continued in place (vLLM's ``continue_final_message``) with
  ``max_tokens`` 1 and ``top_logprobs``; the choices are told apart by the returned tokens' text, one
  request per point where they part (``Image`` then `` 1`` / `` 2``). The backend object has the method
  only when the ``logprobs`` option says so or, with ``"auto"``, when a probe request at construction got
  log-probabilities back; otherwise building the fast head on it raises a CapabilityError. The spec's
  ``probe`` asks the same question before a job starts (:func:`missing_capabilities`), so a pipeline
  with the fast head is refused against such a server before anything is written.

Failures (refused connection, timeout after retries, HTTP errors, malformed answers, a content filter)
raise :class:`~.openai_http.ServedJudgeError`; the heads' isolation turns them into per-item failure
values. A server that cannot be reached at all raises its subclass
:class:`~.openai_http.ServerUnreachableError` (recorded as ``backend_unavailable``), on which a pair job
stops, to be resumed when the server is back. Completed requests are remembered (greedy answers do not
change), so when a head re-runs a batch item by item after one failure, only the failing request goes to
the server again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import threading
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from unireward_sdk import BackendSpec, Option, hookimpl
from unireward_sdk.errors import ConfigError
from unireward_sdk.interfaces import GENERATE, SCORE_CONTINUATIONS, ContinuationScores, JudgeRequest

from .openai_http import RetryPolicy, ServedClient, ServedJudgeError
from .transformers_backend import FAMILIES, infer_family

BASE_URL_ENV = "UNIREWARD_OPENAI_BASE_URL"
_CHAT = "/chat/completions"
_MEMO_SIZE = 4096
_MAX_READOUT_DEPTH = 16  # requests per readout at most (one per point where the choices part)
VIDEO_TRANSPORTS = ("frames", "video_url")
# the frame rate written into a video part: the sampled frames carry no timestamps, and 2 fps is the rate
# Qwen-VL processors assume for a clip without metadata
_CLIP_FPS = 2


def image_data_url(image: Any) -> str:
    """A PIL image (or an HxWx3 uint8 array) as a base64 PNG data URL."""
    from PIL import Image

    if not isinstance(image, Image.Image):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def video_data_url(frames: Sequence[Any]) -> str:
    """Sampled frames (PIL images or HxWx3 uint8 arrays) as a base64 MP4 data URL, losslessly encoded
    (H.264 in RGB at QP 0: decoding gives back the very pixels, odd sizes included)."""
    import av
    import numpy as np

    arrays = [np.asarray(frame.convert("RGB") if hasattr(frame, "convert") else frame, dtype=np.uint8)
              for frame in frames]
    if not arrays:
        raise ConfigError("a video part has no frames", who="backend 'openai'",
                          fix="Check the video file: the media layer sampled no frame from it")
    height, width = arrays[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264rgb", rate=_CLIP_FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "rgb24"
        stream.options = {"qp": "0"}
        for array in arrays:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(array, format="rgb24")))
        container.mux(stream.encode())
    return "data:video/mp4;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def user_content(request: JudgeRequest, video_transport: str = "frames") -> list[dict[str, Any]]:
    """The request's parts as OpenAI content parts, in order (a video as its frames, or as one video part)."""
    content: list[dict[str, Any]] = []
    for kind, value in request.parts:
        if kind == "text":
            content.append({"type": "text", "text": value})
        elif kind == "image":
            content.append({"type": "image_url", "image_url": {"url": image_data_url(value)}})
        elif kind == "video" and video_transport == "video_url":
            content.append({"type": "video_url", "video_url": {"url": video_data_url(value)}})
        elif kind == "video":
            content.extend({"type": "image_url", "image_url": {"url": image_data_url(frame)}} for frame in value)
        else:
            raise ConfigError(f"request part of kind {kind!r} cannot be sent", who="backend 'openai'",
                              fix="Requests carry text, image and video parts (see JudgeRequest)")
    return content


def _first_choice(data: dict[str, Any], who: str) -> dict[str, Any]:
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        raise ServedJudgeError(f"malformed answer: no choices in {json.dumps(data)[:200]}", who=who,
                               fix="Point base_url at an OpenAI-compatible chat-completions server")
    choice = choices[0]
    if choice.get("finish_reason") == "content_filter":
        raise ServedJudgeError("the server's content filter withheld the answer", who=who,
                               fix="Judge this item with a server or model without that filter")
    return choice


class OpenAIBackend:
    """Judges through an OpenAI-compatible server (see the module docstring); capability ``generate``.

    Args:
        base_url: the server's API root (``http://host:8000/v1``), or a list used round-robin; default
            the ``UNIREWARD_OPENAI_BASE_URL`` environment variable.
        model: the served model's name as the server knows it (default: ``checkpoint``).
        checkpoint: what ``--model`` gives on the command line; used as ``model`` when that is not set.
        family: template family the served checkpoint speaks (default: inferred from the model name).
        api_key_env: NAME of the environment variable holding the API key (sent as a bearer token).
        max_concurrency: requests in flight at once.
        timeout: seconds to wait for one answer.
        max_retries / backoff: retries on connection errors, 429 and 5xx, waiting ``backoff * 2**n`` with jitter,
            or what a 429/503's ``Retry-After`` asks; ``max_backoff`` caps every wait.
        video_transport: ``"frames"`` (one image part per sampled frame) or ``"video_url"`` (one video part).
        logprobs: ``True`` / ``False``: whether the server returns log-probabilities; ``"auto"`` probes once.
        top_logprobs: alternatives asked for per token in the log-probability readout.
        max_new_tokens: an upper bound on every request's token budget.
        batch_size: accepted for the command lines' sake; requests are sent one by one, ``max_concurrency`` at once.
    """

    name = "openai"

    def __init__(self, base_url: Any = None, model: str | None = None, *, checkpoint: str | None = None,
                 family: str | None = None, api_key_env: str | None = None, max_concurrency: int = 8,
                 timeout: float = 120.0, max_retries: int = 3, backoff: float = 0.5, max_backoff: float = 30.0,
                 logprobs: Any = "auto", top_logprobs: int = 20, max_new_tokens: int | None = None,
                 video_transport: str = "frames", batch_size: int = 16):
        who = "backend 'openai'"
        urls = self._base_urls(base_url, who)
        served = model or checkpoint
        if not served:
            raise ConfigError("no model name", who=who,
                              fix="Set model=<the name the server serves> (or --model on the command line)")
        if family is not None and family not in FAMILIES:
            raise ConfigError(f"unknown template family {family!r}", who=who, fix=f"Use one of {', '.join(FAMILIES)}")
        for option, value, low in (("max_concurrency", max_concurrency, 1), ("max_retries", max_retries, 0),
                                   ("top_logprobs", top_logprobs, 1), ("batch_size", batch_size, 1)):
            if value < low:
                raise ConfigError(f"{option} must be >= {low}, got {value}", who=who,
                                  fix=f"Set {option} to an integer >= {low}")
        if timeout <= 0 or backoff < 0 or max_backoff < 0:
            raise ConfigError(f"timeout must be > 0, backoff and max_backoff >= 0 (got {timeout}, {backoff}, "
                              f"{max_backoff})", who=who,
                              fix="Set timeout to seconds per answer, backoff and max_backoff to seconds "
                              "(0 disables waiting)")
        if video_transport not in VIDEO_TRANSPORTS:
            raise ConfigError(f"video_transport must be one of {', '.join(VIDEO_TRANSPORTS)}, not {video_transport!r}",
                              who=who, fix='Set video_transport to "frames" (any server) or "video_url" (vLLM, SGLang)')
        self.model = str(served)
        self.checkpoint = self.model
        self.family = family or infer_family(self.model, "")
        self.api_key_env = api_key_env
        self.max_new_tokens = max_new_tokens
        self.top_logprobs = int(top_logprobs)
        self.max_concurrency = int(max_concurrency)
        self.video_transport = video_transport
        self.client = ServedClient(urls, timeout=float(timeout), headers=self._headers(api_key_env, who),
                                   retry=RetryPolicy(max_retries=int(max_retries), backoff=float(backoff),
                                                     max_backoff=float(max_backoff)),
                                   max_connections=self.max_concurrency)
        self._memo: OrderedDict[str, Any] = OrderedDict()
        self._memo_lock = threading.Lock()
        # why the server cannot score continuations (None when it can): named by a refused fast head
        self.no_logprobs_reason: str | None = None
        self.logprobs = self._decide_logprobs(logprobs, who)

    def __repr__(self) -> str:  # the key's variable is named, the key never shown
        return (f"{type(self).__name__}(model={self.model!r}, base_url={list(self.client.base_urls)!r}, "
                f"family={self.family!r}, api_key_env={self.api_key_env!r})")

    @staticmethod
    def _base_urls(base_url: Any, who: str) -> tuple[str, ...]:
        if base_url is None:
            base_url = os.environ.get(BASE_URL_ENV)
        urls = [base_url] if isinstance(base_url, str) else list(base_url or [])
        urls = [u.strip() for part in urls for u in str(part).split(",") if u.strip()]
        if not urls:
            raise ConfigError("no base_url", who=who,
                              fix=f"Set base_url='http://host:8000/v1' (a list for replicas), or {BASE_URL_ENV}")
        bad = [u for u in urls if not u.startswith(("http://", "https://"))]
        if bad:
            raise ConfigError(f"base_url {bad[0]!r} is not an http(s) URL", who=who,
                              fix="Give the server's API root, e.g. http://127.0.0.1:8000/v1")
        return tuple(urls)

    @staticmethod
    def _headers(api_key_env: str | None, who: str) -> dict[str, str]:
        if not api_key_env:
            return {}
        key = os.environ.get(api_key_env)
        if not key:
            raise ConfigError(f"environment variable {api_key_env} (api_key_env) is not set", who=who,
                              fix=f"Export {api_key_env}=<the server's API key>, or drop api_key_env")
        return {"Authorization": f"Bearer {key}"}

    # --- requests -------------------------------------------------------------------------------------

    def _budget(self, request: JudgeRequest) -> int:
        budget = int(request.max_new_tokens)
        return budget if self.max_new_tokens is None else min(budget, self.max_new_tokens)

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The server's answer to ``body``, remembered: a greedy answer does not change when asked again."""
        key = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        with self._memo_lock:
            if key in self._memo:
                self._memo.move_to_end(key)
                return self._memo[key]
        data = self.client.post_json(_CHAT, body)
        with self._memo_lock:
            self._memo[key] = data
            if len(self._memo) > _MEMO_SIZE:
                self._memo.popitem(last=False)
        return data

    def _map(self, function, values: Sequence[Any]) -> list[Any]:
        """``function`` over ``values`` with ``max_concurrency`` in flight; the first failure is raised after
        all finished (the head then re-runs item by item, and the memo answers the ones that succeeded)."""
        with ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrency, len(values)))) as pool:
            futures = [pool.submit(function, v) for v in values]
        return [f.result() for f in futures]

    def generate(self, requests: Sequence[JudgeRequest]) -> list[str]:
        """Greedy completions, one per request, in order."""
        return self._map(self._generate_one, list(requests))

    def _generate_one(self, request: JudgeRequest) -> str:
        body = {"model": self.model,
                "messages": [{"role": "user", "content": user_content(request, self.video_transport)}],
                "max_tokens": self._budget(request), "temperature": 0.0}
        choice = _first_choice(self._post(body), self._who(request))
        content = (choice.get("message") or {}).get("content")
        if not isinstance(content, str):
            raise ServedJudgeError(f"malformed answer: the message has no text content ({str(choice)[:200]})",
                                   who=self._who(request),
                                   fix="Point base_url at an OpenAI-compatible chat-completions server")
        return content

    def _who(self, request: JudgeRequest) -> str:
        return f"backend 'openai' ({self.model}, item {request.item_id or '?'})"

    # --- log-probabilities ----------------------------------------------------------------------------

    def _top_logprobs(self, content: list[dict[str, Any]], answer_so_far: str, who: str) -> list[tuple[str, float]]:
        """(token text, log-probability) of the likeliest next tokens after the assistant's ``answer_so_far``."""
        body = {"model": self.model,
                "messages": [{"role": "user", "content": content},
                             {"role": "assistant", "content": answer_so_far}],
                "continue_final_message": True, "add_generation_prompt": False,
                "max_tokens": 1, "temperature": 0.0, "logprobs": True, "top_logprobs": self.top_logprobs}
        choice = _first_choice(self._post(body), who)
        try:
            first = choice["logprobs"]["content"][0]
            return [(str(t["token"]), float(t["logprob"])) for t in first["top_logprobs"]]
        except (KeyError, IndexError, TypeError, ValueError):
            raise ServedJudgeError(
                f"no log-probabilities in the answer ({str(choice.get('logprobs'))[:200]})", who=who,
                fix="Serve the judge with an engine that returns top_logprobs (vLLM, SGLang), or set logprobs=False "
                "and use the generative head",
            ) from None

    def _decide_logprobs(self, logprobs: Any, who: str) -> bool:
        served = f"the server at {', '.join(self.client.base_urls)} (model {self.model})"
        if logprobs in (True, False):
            if not logprobs:
                self.no_logprobs_reason = f"logprobs=false was set for {served}"
            return bool(logprobs)
        try:  # "auto": one short request tells whether the server continues an answer and returns them
            top = self._top_logprobs([{"type": "text", "text": "Say A."}], "A", who)
        except ServedJudgeError as exc:
            if exc.status is not None and 400 <= exc.status < 500:
                # the server refuses the fields (transformers serve: 422) or log-probabilities
                self.no_logprobs_reason = f"{served} refused the log-probability probe ({exc.what})"
                return False
            raise ServedJudgeError(f"cannot probe the server for log-probabilities: {exc.what}", who=exc.who,
                                   fix="Start the server first, or set logprobs=True/False to skip the probe") from exc
        if not top:
            self.no_logprobs_reason = f"{served} answered the probe without log-probabilities"
        return bool(top)


class OpenAILogprobBackend(OpenAIBackend):
    """An :class:`OpenAIBackend` whose server returns log-probabilities: capability ``score_continuations`` too."""

    def score_continuations(self, requests: Sequence[JudgeRequest], prefixes: Sequence[str],
                            choices: Sequence[Sequence[str]]) -> list[ContinuationScores]:
        """For each request, log P(choice | request, answer begun with prefix), read from returned top tokens.

        The choices are followed token by token from the answer's prefix: every returned token whose text
        starts a choice's remaining text (the longest such token) carries it on; where one choice is left
        alone its value is fixed. The value is therefore the probability of the decisions greedy decoding
        takes up to the point where the choice parts from the others (as the in-process ``single_pass``
        method reads it). A trailing space of the prefix is read as the start of each choice, as the
        in-process readout lets it merge into the choice's first token. A choice missing from the top
        tokens gets the lowest returned log-probability (an upper bound), and the method says
        ``top_logprobs_bounded``.
        """
        if not (len(requests) == len(prefixes) == len(choices)):
            raise ValueError("requests, prefixes and choices must have the same length")
        return self._map(lambda args: self._readout(*args), list(zip(requests, prefixes, choices)))

    def _readout(self, request: JudgeRequest, prefix: str, choices: Sequence[str]) -> ContinuationScores:
        who = self._who(request)
        content = user_content(request, self.video_transport)
        # a prefix's trailing space belongs to the next token in the usual BPE vocabularies ("Score:" " 5"):
        # the server would otherwise continue after a lone space token the model never wrote
        stem = prefix.rstrip()
        choices = [prefix[len(stem):] + choice for choice in choices]
        prefix = stem
        values: list[float | None] = [None] * len(choices)
        bounded = False
        frontier: list[tuple[str, list[int], float]] = [("", list(range(len(choices))), 0.0)]
        for _ in range(_MAX_READOUT_DEPTH):
            if not frontier:
                break
            said, members, total = frontier.pop()
            top = [(t, lp) for t, lp in self._top_logprobs(content, prefix + said, who) if t]
            floor = min((lp for _, lp in top), default=float("-inf"))
            branches: dict[str, list[int]] = {}
            for i in members:
                rest = choices[i][len(said):]
                matches = [t for t, _ in top if rest.startswith(t)]
                if not rest or not matches:
                    values[i] = total + (0.0 if not rest else floor)
                    bounded = bounded or bool(rest)
                    continue
                branches.setdefault(max(matches, key=len), []).append(i)
            logprob = dict(top)
            for token, group in branches.items():
                if len(group) == 1:
                    values[group[0]] = total + logprob[token]
                else:
                    frontier.append((said + token, group, total + logprob[token]))
        if frontier or any(v is None for v in values):
            raise ServedJudgeError(f"the choices {list(choices)!r} do not part within {_MAX_READOUT_DEPTH} tokens",
                                   who=who, fix="Use the generative head for this template")
        return ContinuationScores([float(v) for v in values],  # type: ignore[arg-type]
                                  "top_logprobs_bounded" if bounded else "top_logprobs")


def missing_capabilities(needed: tuple[str, ...], options: dict[str, Any]) -> dict[str, str]:
    """The spec's probe: ``{"score_continuations": why}`` when a head needs it and the server these options
    name cannot (asked with the backend's own probe request); nothing is asked for a generating head."""
    if SCORE_CONTINUATIONS not in needed:
        return {}
    backend = OpenAIBackend(**options)
    backend.client.close()
    return {} if backend.logprobs else {SCORE_CONTINUATIONS: str(backend.no_logprobs_reason)}


def create(**options: Any) -> OpenAIBackend:
    """The backend object: with ``score_continuations`` only when the server returns log-probabilities."""
    if options.get("logprobs", "auto") is True:
        return OpenAILogprobBackend(**options)
    backend = OpenAIBackend(**options)  # with "auto" its construction probes the server
    if not backend.logprobs:
        return backend
    backend.client.close()
    return OpenAILogprobBackend(**{**options, "logprobs": True})


OPTIONS: tuple[Option, ...] = (
    Option("base_url", (str, list, tuple, type(None)), default=None,
           help=f"API root of the server (http://host:8000/v1), or a list used round-robin (default: ${BASE_URL_ENV})"),
    Option("model", (str, type(None)), default=None, help="the served model's name (default: checkpoint)"),
    Option("checkpoint", (str, type(None)), default=None,
           help="what --model gives; the model name when 'model' is unset"),
    Option("family", (str, type(None)), default=None,
           help=f"template family the served checkpoint speaks: {', '.join(FAMILIES)} "
           "(default: inferred from the name)"),
    Option("api_key_env", (str, type(None)), default=None,
           help="NAME of the environment variable holding the API key (the key never goes in a config)"),
    Option("max_concurrency", int, default=8, help="requests in flight at once"),
    Option("timeout", (int, float), default=120.0, help="seconds to wait for one answer"),
    Option("max_retries", int, default=3, help="retries on connection errors, HTTP 429 and 5xx"),
    Option("backoff", (int, float), default=0.5,
           help="seconds before the first retry; doubled each retry, with jitter"),
    Option("max_backoff", (int, float), default=30.0,
           help="cap on any wait between retries, a server's Retry-After (429/503) included"),
    Option("logprobs", (bool, str), default="auto", choices=(True, False, "auto"),
           help="whether the server returns log-probabilities (the fast head); 'auto' probes once"),
    Option("top_logprobs", int, default=20, help="alternatives per token in the log-probability readout"),
    Option("max_new_tokens", (int, type(None)), default=None,
           help="upper bound on every request's token budget (default: the templates' budgets)"),
    Option("video_transport", str, default="frames", choices=VIDEO_TRANSPORTS,
           help="a video as its sampled frames, one image part each (any server), or as one video_url part "
           "(vLLM, SGLang; not transformers serve)"),
    Option("batch_size", int, default=16, help="accepted for the command lines; concurrency is max_concurrency"),
)


@hookimpl
def unireward_register_backends():
    yield BackendSpec(
        name="openai",
        factory=create,
        families=FAMILIES,
        capabilities=(GENERATE, SCORE_CONTINUATIONS),
        options=OPTIONS,
        loads_checkpoints=False,  # the model is the served model's name: the server resolves it
        probe=missing_capabilities,  # score_continuations only where the server returns log-probabilities
        requires=("serve",),
        summary="a judge served over the OpenAI chat-completions protocol (vLLM, SGLang, transformers serve); "
        "score_continuations only where the server returns log-probabilities",
    )
