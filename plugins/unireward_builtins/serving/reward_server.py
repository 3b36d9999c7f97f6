"""A reward head behind HTTP, for trainers in other processes (``unireward serve``).

Endpoints (JSON; the schema is in docs/serving.md):

- ``GET /health``: ``{"status": "ok", "requests": n, "model_calls": n}``.
- ``GET /v1/info``: the head, backend checkpoint, task and limits.
- ``POST /v1/judge``: ``{"mode": "pairwise" | "pointwise", "items": [...]}`` → ``{"results": [...]}``, one
  ``to_dict`` of a Verdict / Score per item, in order (failures are values, as from the head itself).

Requests that arrive within ``batch_window`` seconds of each other are judged in one head call (up to
``max_batch`` items), so a trainer's concurrent calls fill the judge's batches. A bearer ``token``, when
set, is required on every request (401 otherwise). Media come as paths, read only when they resolve
under ``media_root`` (nothing outside it is ever opened), or inline as base64 (``data``), written to a
folder the server owns. A body over ``max_body`` bytes is refused with 413.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import queue
import tempfile
import threading
import time
from concurrent.futures import Future
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import attrs

from unireward_sdk.errors import ConfigError, UniRewardError
from unireward_sdk.records import Candidate, JudgeItem, to_dict

INLINE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".mp4", ".webm", ".mov", ".avi", ".mkv")


class RequestError(UniRewardError):
    """A request the server refuses; ``status`` is the HTTP status it answers with."""

    def __init__(self, status: int, what: str, *, fix: str):
        self.status = status
        super().__init__(what, who="unireward serve", fix=fix)


@attrs.define
class ServerStats:
    requests: int = 0
    model_calls: int = 0
    items: int = 0


class Batcher:
    """Collects judge jobs for ``window`` seconds (or ``max_batch`` items) and runs each mode's items in one
    head call; every job's future gets its own slice of the results."""

    def __init__(self, head: Any, *, window: float, max_batch: int, stats: ServerStats):
        self.head = head
        self.window = window
        self.max_batch = max_batch
        self.stats = stats
        self.jobs: queue.Queue = queue.Queue()
        self.thread = threading.Thread(target=self._loop, daemon=True, name="unireward-serve-batcher")
        self.thread.start()

    def submit(self, mode: str, items: list[JudgeItem]) -> Future:
        future: Future = Future()
        self.jobs.put((mode, items, future))
        return future

    def _loop(self) -> None:
        while True:
            batch = [self.jobs.get()]
            deadline = time.monotonic() + self.window
            while sum(len(job[1]) for job in batch) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    batch.append(self.jobs.get(timeout=left))
                except queue.Empty:
                    break
            for mode in ("pairwise", "pointwise"):
                jobs = [job for job in batch if job[0] == mode]
                if jobs:
                    self._run(mode, jobs)

    def _run(self, mode: str, jobs: list) -> None:
        items = [item for _, job_items, _ in jobs for item in job_items]
        judge = self.head.judge_pairwise if mode == "pairwise" else self.head.score_pointwise
        self.stats.model_calls += 1
        self.stats.items += len(items)
        try:
            results = judge(items)
        except Exception as exc:  # noqa: BLE001 - the callers get the error; the server keeps serving
            for _, _, future in jobs:
                future.set_exception(exc)
            return
        start = 0
        for _, job_items, future in jobs:
            future.set_result(results[start:start + len(job_items)])
            start += len(job_items)


class RewardServer:
    """The HTTP server (see the module docstring). ``serve_forever`` blocks; ``start`` runs it in a thread."""

    def __init__(self, head: Any, *, task: str, host: str = "127.0.0.1", port: int = 8080,
                 media_root: str | Path | None = None, token: str | None = None, batch_window: float = 0.01,
                 max_batch: int = 64, max_body: int = 32 * 2**20, timeout: float = 600.0):
        if max_batch < 1 or batch_window < 0 or max_body < 1:
            raise ConfigError(f"max_batch ({max_batch}) and max_body ({max_body}) must be >= 1, batch_window "
                              f"({batch_window}) >= 0", who="unireward serve",
                              fix="Pass --max-batch N, --max-body BYTES and --batch-window SECONDS")
        self.head = head
        self.task = task
        self.token = token
        self.media_root = Path(media_root).resolve() if media_root is not None else None
        self.max_batch = max_batch
        self.max_body = max_body
        self.timeout = timeout
        self.stats = ServerStats()
        self._lock = threading.Lock()
        self.batcher = Batcher(head, window=batch_window, max_batch=max_batch, stats=self.stats)
        self._inline = tempfile.TemporaryDirectory(prefix="unireward-serve-")
        self.httpd = ThreadingHTTPServer((host, port), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.reward_server = self

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.1)

    def start(self) -> RewardServer:
        threading.Thread(target=self.serve_forever, daemon=True, name="unireward-serve").start()
        return self

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._inline.cleanup()

    # --- requests -------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        backend = getattr(self.head, "backend", None)
        return {"head": getattr(self.head, "name", type(self.head).__name__), "task": self.task,
                "checkpoint": getattr(backend, "checkpoint", None), "backend": getattr(backend, "name", None),
                "max_batch": self.max_batch, "max_body": self.max_body,
                "media_root": str(self.media_root) if self.media_root else None}

    def authorised(self, header: str | None) -> bool:
        if not self.token:
            return True
        return hmac.compare_digest((header or "").encode(), f"Bearer {self.token}".encode())

    def judge(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or body.get("mode") not in ("pairwise", "pointwise"):
            raise RequestError(400, "the body must be an object with mode 'pairwise' or 'pointwise'",
                               fix='Send {"mode": "pairwise", "items": [...]}')
        raw_items = body.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise RequestError(400, "'items' must be a non-empty list", fix='Send {"mode": ..., "items": [{...}]}')
        mode = body["mode"]
        items = [self.item(raw, mode, n) for n, raw in enumerate(raw_items)]
        with self._lock:
            self.stats.requests += 1
        results = self.batcher.submit(mode, items).result(timeout=self.timeout)
        return {"results": [to_dict(r) for r in results]}

    def item(self, raw: Any, mode: str, n: int) -> JudgeItem:
        if not isinstance(raw, dict) or not isinstance(raw.get("candidates"), list):
            raise RequestError(400, f"item {n} has no 'candidates' list", fix="Give every item its candidates")
        wanted = 2 if mode == "pairwise" else 1
        if len(raw["candidates"]) != wanted:
            raise RequestError(400, f"item {n} has {len(raw['candidates'])} candidates; {mode} items have {wanted}",
                               fix="Pairwise items carry two candidates (A, B); pointwise items one")
        candidates = [self.candidate(c, n, k) for k, c in enumerate(raw["candidates"])]
        context = raw.get("context") or []
        return JudgeItem(id=str(raw.get("id", f"item-{n}")), task=self.task, prompt=raw.get("prompt"),
                         question=raw.get("question"), context=[str(c) for c in context], candidates=candidates)

    def candidate(self, raw: Any, n: int, k: int) -> Candidate:
        if not isinstance(raw, dict) or not raw.get("modality"):
            raise RequestError(400, f"item {n} candidate {k} has no modality",
                               fix="Give modality: image, video or text")
        cid = str(raw.get("id", f"c{k}"))
        if raw["modality"] == "text":
            return Candidate(cid, "text", text=str(raw.get("text", "")))
        if "data" in raw:
            return Candidate(cid, raw["modality"], path=str(self.inline(raw, n, k)))
        if "path" not in raw:
            raise RequestError(400, f"item {n} candidate {k} has neither 'path' nor 'data'",
                               fix="Send a path under the server's media root, or the file as base64 in 'data'")
        return Candidate(cid, raw["modality"], path=str(self.allowed_path(raw["path"], n, k)))

    def allowed_path(self, path: Any, n: int, k: int) -> Path:
        if self.media_root is None:
            raise RequestError(403, f"item {n} candidate {k} sends a path, and this server reads no paths",
                               fix="Send the file as base64 in 'data', or start the server with --media-root DIR")
        resolved = (self.media_root / str(path)).resolve()  # symlinks and '..' resolved before the check
        if not resolved.is_relative_to(self.media_root):
            raise RequestError(403, f"item {n} candidate {k}: {path!r} is outside the media root",
                               fix=f"Send paths under {self.media_root}, or the file as base64 in 'data'")
        return resolved

    def inline(self, raw: dict, n: int, k: int) -> Path:
        suffix = "." + str(raw.get("format", "png")).lower().lstrip(".")
        if suffix not in INLINE_SUFFIXES:
            raise RequestError(400, f"item {n} candidate {k}: format {suffix!r} is not accepted",
                               fix=f"Use one of {', '.join(s[1:] for s in INLINE_SUFFIXES)}")
        try:
            data = base64.b64decode(str(raw["data"]), validate=True)
        except ValueError:
            raise RequestError(400, f"item {n} candidate {k}: 'data' is not base64",
                               fix="Encode the file's bytes with base64") from None
        path = Path(self._inline.name) / (hashlib.sha256(data).hexdigest() + suffix)
        if not path.exists():
            path.write_bytes(data)
        return path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # requests are counted, not logged line by line
        pass

    def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _refuse(self, error: RequestError, headers: dict | None = None) -> None:
        self._send(error.status, {"error": {"message": str(error)}}, headers)

    def _guard(self) -> bool:
        server: RewardServer = self.server.reward_server
        if server.authorised(self.headers.get("Authorization")):
            return True
        self.close_connection = True
        self._refuse(RequestError(401, "a bearer token is required", fix="Send 'Authorization: Bearer <token>'"),
                     {"WWW-Authenticate": "Bearer"})
        return False

    def do_GET(self):
        if not self._guard():
            return
        server: RewardServer = self.server.reward_server
        if self.path == "/health":
            return self._send(200, {"status": "ok", **attrs.asdict(server.stats)})
        if self.path == "/v1/info":
            return self._send(200, server.info())
        self._refuse(RequestError(404, f"no endpoint {self.path}", fix="Use /health, /v1/info or POST /v1/judge"))

    def do_POST(self):
        server: RewardServer = self.server.reward_server
        length = int(self.headers.get("Content-Length") or 0)
        if length > server.max_body:
            self.close_connection = True  # the body is not read
            return self._refuse(RequestError(413, f"the body has {length} bytes; this server takes {server.max_body}",
                                             fix="Send fewer items per request, or paths instead of inline media"))
        body = self.rfile.read(length)
        if not self._guard():
            return
        if self.path != "/v1/judge":
            return self._refuse(RequestError(404, f"no endpoint {self.path}", fix="POST to /v1/judge"))
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return self._refuse(RequestError(400, "the body is not JSON", fix="Send a JSON object"))
        try:
            self._send(200, server.judge(payload))
        except RequestError as exc:
            self._refuse(exc)
        except UniRewardError as exc:
            self._refuse(RequestError(400, str(exc), fix="See the message"))
        except Exception as exc:  # noqa: BLE001 - one failing request never stops the server
            self._refuse(RequestError(500, f"{type(exc).__name__}: {exc}", fix="See the server's log"))
