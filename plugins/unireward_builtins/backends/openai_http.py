"""HTTP for the ``openai`` backend: POST JSON to an OpenAI-compatible server, with retries and failover.

One :class:`ServedClient` per backend: an ``httpx.Client`` (thread-safe, pooled connections), the base
URLs used round-robin (a retried request goes to the next one, so a dead replica is skipped), and
exponential backoff with jitter on what a server may recover from: connection errors (refused, dropped,
timed out), HTTP 429 and 5xx. A 429 or 503 carrying ``Retry-After`` (seconds, or an HTTP date) is waited
out as the server asks instead, up to ``max_backoff``. Anything else (a 4xx, a body that is not JSON)
fails at once: retrying a request the server rejected would only wait longer for the same answer.
A connection that brought a 5xx is not reused (see :meth:`ServedClient._send`).

Every failure raises :class:`ServedJudgeError` naming the server, the status and the server's own message;
the heads turn it into a per-item failure value. When the server itself could not be reached (connections
refused or timed out, a gateway's 502/503/504, every retry spent) it is a :class:`ServerUnreachableError`,
which the heads record as ``backend_unavailable``: not a fault of the item.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

import attrs
from attrs import frozen

from unireward_sdk.errors import BackendUnavailableError, UniRewardError, require

_RETRY_STATUSES = frozenset({429}) | frozenset(range(500, 600))
_RETRY_AFTER_STATUSES = frozenset({429, 503})  # where RFC 9110 lets a server say when to come back
# a gateway or load balancer in front of a judge answers these when nothing behind it answers
_UNREACHABLE_STATUSES = frozenset({502, 503, 504})
_MESSAGE_CHARS = 300  # how much of a server's error body a failure quotes


class ServedJudgeError(UniRewardError):
    """A request to a served judge failed (after any retries); ``status`` is the HTTP status when there was one."""

    def __init__(self, what: str, *, who: str | None = None, fix: str | None = None, status: int | None = None):
        self.status = status
        super().__init__(what, who=who, fix=fix)


class ServerUnreachableError(ServedJudgeError, BackendUnavailableError):
    """The server could not be reached after every retry: refused or dropped connections, no answer within
    the timeout, or a gateway's 502/503/504. The heads record it as ``backend_unavailable``, and a pair job
    whose whole batch got only this stops, to be resumed when the server is back."""


@frozen
class RetryPolicy:
    """``max_retries`` extra attempts; the wait before attempt n is ``backoff * 2**(n-1)`` times a jitter in [1, 2)."""

    max_retries: int = 3
    backoff: float = 0.5
    max_backoff: float = 30.0

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number ``retry``: the server's ``Retry-After`` when it sent one
        (capped at ``max_backoff``), else the jittered exponential backoff."""
        if retry_after is not None:
            return min(self.max_backoff, retry_after)
        return min(self.max_backoff, self.backoff * 2 ** (retry - 1)) * (1.0 + random.random())


def retry_after_seconds(value: str | None, *, now: datetime | None = None) -> float | None:
    """A ``Retry-After`` header as seconds from now: delay-seconds (``"3"``) or an HTTP date
    (``"Wed, 21 Oct 2026 07:28:00 GMT"``; a past date is 0). None when absent or unreadable, so the
    client falls back on its own backoff rather than trusting a garbled header."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # an HTTP date is GMT by definition
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - (now or datetime.now(timezone.utc))).total_seconds())


@attrs.define
class ClientStats:
    """What the client did: requests sent (each attempt counts) and retries among them."""

    attempts: int = 0
    retries: int = 0
    waited: list[float] = attrs.field(factory=list)  # seconds slept before each retry, in order


def server_message(body: bytes | str) -> str:
    """The server's own words from an error body: OpenAI's ``{"error": {"message": ...}}``, FastAPI's
    ``{"detail": ...}``, or the start of the text."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text)
    except ValueError:
        return text.strip()[:_MESSAGE_CHARS]
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])[:_MESSAGE_CHARS]
        for key in ("message", "detail", "error"):
            if data.get(key):
                return str(data[key])[:_MESSAGE_CHARS]
    return text.strip()[:_MESSAGE_CHARS]


class ServedClient:
    """POSTs JSON to ``<base_url><path>`` with retries; see the module docstring."""

    def __init__(self, base_urls: Sequence[str], *, timeout: float, retry: RetryPolicy,
                 headers: dict[str, str] | None = None, max_connections: int = 8):
        # the `serve` extra; imported here so `import unireward_sdk` stays light
        httpx = require("httpx", extra="serve", purpose="the openai backend")
        self._httpx = httpx
        self.base_urls = tuple(u.rstrip("/") for u in base_urls)
        self.retry = retry
        self.stats = ClientStats()
        self._next = itertools.cycle(range(len(self.base_urls)))
        self._lock = threading.Lock()
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._client = httpx.Client(timeout=timeout, headers=headers or {}, limits=limits)

    def close(self) -> None:
        self._client.close()

    def _pick(self) -> str:
        with self._lock:
            return self.base_urls[next(self._next)]

    def _count(self, retry: bool) -> None:
        with self._lock:
            self.stats.attempts += 1
            self.stats.retries += int(retry)

    def _send(self, url: str, body: dict[str, Any]) -> Any:
        """POST ``body`` and read the whole answer. After a 5xx its connection is not kept for the next request:
        uvicorn (under vLLM, SGLang and ``transformers serve``) closes a connection once it has answered an
        unhandled exception with 500, a moment later and without saying so, and a request sent on it in that
        moment is reset unanswered, which would read as an unreachable server."""
        with self._client.stream("POST", url, json=body) as response:
            response.read()
            if response.status_code >= 500:
                stream = response.extensions.get("network_stream")
                if stream is not None:  # closed before the pool takes the connection back: the pool drops it
                    stream.close()
        return response

    def post_json(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The decoded JSON answer; raises :class:`ServedJudgeError` once retries are spent."""
        httpx = self._httpx
        last: ServedJudgeError | None = None
        retry_after: float | None = None
        for attempt in range(self.retry.max_retries + 1):
            if attempt:
                wait = self.retry.delay(attempt, retry_after)
                with self._lock:
                    self.stats.waited.append(wait)
                time.sleep(wait)
            retry_after = None
            url = self._pick() + path
            self._count(retry=attempt > 0)
            try:
                response = self._send(url, body)
            except httpx.TimeoutException as exc:
                last = ServedJudgeError(f"no answer within the timeout ({type(exc).__name__})", who=url,
                                        fix="Raise the backend's 'timeout' option, or check the server's load")
                continue
            except httpx.TransportError as exc:
                last = ServedJudgeError(f"connection failed ({type(exc).__name__}: {exc})", who=url,
                                        fix="Check that the server runs and that base_url is right")
                continue
            if response.status_code >= 400:
                error = ServedJudgeError(
                    f"HTTP {response.status_code}: {server_message(response.content)}", who=url,
                    status=response.status_code,
                    fix="The server refused the request; its message above says why (model name, context length, "
                    "fields it does not accept)" if response.status_code not in _RETRY_STATUSES else
                    "The server is overloaded or failing: lower max_concurrency, add replicas, or raise max_retries",
                )
                if response.status_code in _RETRY_STATUSES:
                    last = error
                    if response.status_code in _RETRY_AFTER_STATUSES:
                        retry_after = retry_after_seconds(response.headers.get("Retry-After"))
                    continue
                raise error
            try:
                data = response.json()
            except ValueError:
                raise ServedJudgeError(
                    f"the answer is not JSON: {response.text[:_MESSAGE_CHARS]!r}", who=url, status=response.status_code,
                    fix="Point base_url at the server's OpenAI-compatible root (usually ending in /v1)",
                ) from None
            if not isinstance(data, dict):
                raise ServedJudgeError(f"the answer is JSON but not an object: {str(data)[:_MESSAGE_CHARS]!r}",
                                       who=url, status=response.status_code,
                                       fix="Point base_url at an OpenAI-compatible chat-completions server")
            return data
        assert last is not None
        unreachable = last.status is None or last.status in _UNREACHABLE_STATUSES  # no status: no answer at all
        kind = ServerUnreachableError if unreachable else ServedJudgeError
        raise kind(f"{last.what} (after {self.retry.max_retries + 1} attempts)", who=last.who,
                   fix=last.fix, status=last.status)
