"""What ``unireward serve`` does with a request, apart from HTTP: read its items under the media policy,
batch concurrent requests into head calls, and turn a group's verdicts into win-rate rewards.

HTTP (FastAPI, auth, size limits) is in :mod:`.app`; this module needs neither fastapi nor torch, and takes
any objects with the attributes of :mod:`.schema`'s models.
"""

from __future__ import annotations

import base64
import hashlib
import queue
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import attrs

from unireward_sdk.errors import ConfigError, UniRewardError
from unireward_sdk.ingest import PathPolicy
from unireward_sdk.judging import group_pairs, win_rate_rewards
from unireward_sdk.records import Candidate, JudgeItem, Verdict, to_dict

INLINE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".mp4", ".webm", ".mov", ".avi", ".mkv")


# a group-rewards request may ask for at most this many model batches of judgments
PAIRS_PER_BATCH = 64


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
    """Collects judge jobs for ``window`` seconds (or until ``max_batch`` items wait) and judges each mode's
    items in head calls of at most ``max_batch`` items; every job's future gets its own slice of the results.
    One thread makes every head call, so the head (not thread-safe) sees one call at a time."""

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

    def close(self) -> None:
        self.jobs.put(None)
        self.thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            first = self.jobs.get()
            if first is None:
                return
            batch = [first]
            deadline = time.monotonic() + self.window
            while sum(len(job[1]) for job in batch) < self.max_batch:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    job = self.jobs.get(timeout=left)
                except queue.Empty:
                    break
                if job is None:
                    self.jobs.put(None)  # finish this batch, then stop
                    break
                batch.append(job)
            for mode in ("pairwise", "pointwise"):
                jobs = [job for job in batch if job[0] == mode]
                if jobs:
                    self._run(mode, jobs)

    def _run(self, mode: str, jobs: list) -> None:
        # a request that timed out cancelled its future: skip its items, and mark the others running so
        # that no later cancel can make set_result raise and kill this thread (the server would hang)
        jobs = [job for job in jobs if job[2].set_running_or_notify_cancel()]
        if not jobs:
            return
        items = [item for _, job_items, _ in jobs for item in job_items]
        judge = self.head.judge_pairwise if mode == "pairwise" else self.head.score_pointwise
        results: list[Any] = []
        try:
            for start in range(0, len(items), self.max_batch):
                chunk = items[start:start + self.max_batch]
                self.stats.model_calls += 1
                self.stats.items += len(chunk)
                results.extend(judge(chunk))
        except Exception as exc:  # noqa: BLE001 - the callers get the error; the server keeps serving
            for _, _, future in jobs:
                future.set_exception(exc)
            return
        start = 0
        for _, job_items, future in jobs:
            future.set_result(results[start:start + len(job_items)])
            start += len(job_items)


class RewardService:
    """Requests in, results out (see the module docstring). ``close`` stops the batcher and removes the
    inline files' folder."""

    def __init__(self, head: Any, *, task: str, media_root: str | Path | None = None, batch_window: float = 0.01,
                 max_batch: int = 64, max_body: int = 32 * 2**20, timeout: float = 600.0, media: Any = None):
        if max_batch < 1 or batch_window < 0 or max_body < 1:
            raise ConfigError(f"max_batch ({max_batch}) and max_body ({max_body}) must be >= 1, batch_window "
                              f"({batch_window}) >= 0", who="unireward serve",
                              fix="Pass --max-batch N, --max-body BYTES and --batch-window SECONDS")
        self.head = head
        self.task = task
        self.media_root = Path(media_root).resolve() if media_root is not None else None
        self.paths = PathPolicy(base=self.media_root, base_label="the media root",
                                allow_hint="send the file inline (base64 in 'data')")
        self.batch_window = batch_window
        self.max_batch = max_batch
        self.max_pairs = max_batch * PAIRS_PER_BATCH
        self.max_body = max_body
        self.timeout = timeout
        self.stats = ServerStats()
        self._lock = threading.Lock()
        self.batcher = Batcher(head, window=batch_window, max_batch=max_batch, stats=self.stats)
        self._inline = tempfile.TemporaryDirectory(prefix="unireward-serve-")
        # the media cache the head reads through: each request's inline files are new paths, so their
        # per-path records are dropped when the files are (MediaCache.forget); a loader without one keeps them
        self._forget = getattr(media, "forget", None)

    def close(self) -> None:
        self.batcher.close()
        self._inline.cleanup()

    def info(self) -> dict[str, Any]:
        backend = getattr(self.head, "backend", None)
        checkpoint = getattr(backend, "checkpoint", None)
        return {"head": str(getattr(self.head, "name", type(self.head).__name__)), "task": self.task,
                "checkpoint": None if checkpoint is None else str(checkpoint),
                "backend": getattr(backend, "name", None), "max_batch": self.max_batch, "max_body": self.max_body,
                "batch_window": self.batch_window, "media_root": str(self.media_root) if self.media_root else None}

    def health(self) -> dict[str, Any]:
        return {"status": "ok", **attrs.asdict(self.stats)}

    # --- the two endpoints: read (blocking file work), submit, answer ---------------------------------

    def read_judge(self, request: Any, folder: Path) -> list[JudgeItem]:
        return [self.item(raw, request.mode, n, folder) for n, raw in enumerate(request.items)]

    def read_groups(self, request: Any, folder: Path) -> list[tuple[str, list[Candidate], list[JudgeItem]]]:
        # a group of G candidates is G(G-1)/2 judgments: bound them before building any, since the body
        # limit bounds bytes, not pairs (20,000 short texts fit in 1 MB and would be 2e8 judgments)
        pairs = sum(len(raw.candidates) * (len(raw.candidates) - 1) // 2 for raw in request.groups)
        if pairs > self.max_pairs:
            raise RequestError(413, f"the request's groups make {pairs} pairwise judgments, more than the server's "
                                    f"limit of {self.max_pairs} per request (--max-batch x {PAIRS_PER_BATCH})",
                               fix="Send fewer or smaller groups per request, or raise --max-batch")
        return [self.group(raw, g, folder) for g, raw in enumerate(request.groups)]

    def submit(self, mode: str, items: list[JudgeItem]) -> Future:
        """The items' results, once the batcher has judged them (with other requests' items)."""
        with self._lock:
            self.stats.requests += 1
        return self.batcher.submit(mode, items)

    @staticmethod
    def judge_answer(results: list[Any]) -> dict[str, Any]:
        return {"results": [to_dict(r) for r in results]}

    def group_answer(self, groups: list[tuple[str, list[Candidate], list[JudgeItem]]], verdicts: list[Verdict], *,
                     use_probabilities: bool) -> dict[str, Any]:
        out, start = [], 0
        for group_id, candidates, items in groups:
            out.append(self.group_result(group_id, candidates, verdicts[start:start + len(items)],
                                         use_probabilities=use_probabilities))
            start += len(items)
        return {"groups": out}

    def request_folder(self) -> _Folder:
        """A folder for one request's inline files, removed when the request is answered."""
        return _Folder(Path(self._inline.name) / uuid.uuid4().hex, forget=self._forget)

    # --- reading a request -----------------------------------------------------------------------------

    def item(self, raw: Any, mode: str, n: int, folder: Path) -> JudgeItem:
        wanted = 2 if mode == "pairwise" else 1
        if len(raw.candidates) != wanted:
            raise RequestError(400, f"item {n} has {len(raw.candidates)} candidates; {mode} items have {wanted}",
                               fix="Pairwise items carry two candidates (A, B); pointwise items one")
        where = f"item {n}"
        candidates = [self.candidate(c, where, k, folder) for k, c in enumerate(raw.candidates)]
        return JudgeItem(id=raw.id or f"item-{n}", task=self.task, prompt=raw.prompt, question=raw.question,
                         context=self.context(raw.context, where), candidates=candidates)

    def group(self, raw: Any, g: int, folder: Path) -> tuple[str, list[Candidate], list[JudgeItem]]:
        """The group's id, its candidates, and one pairwise item per pair of :func:`group_pairs`."""
        where = f"group {g}"
        group_id = raw.id or f"group-{g}"
        candidates = [self.candidate(c, where, k, folder) for k, c in enumerate(raw.candidates)]
        context = self.context(raw.context, where)
        items = [JudgeItem(id=f"{group_id}/{i}-{j}", task=self.task, prompt=raw.prompt, question=raw.question,
                           context=context, candidates=[candidates[i], candidates[j]])
                 for i, j in group_pairs(len(candidates))]
        return group_id, candidates, items

    def context(self, paths: list[str], where: str) -> list[str]:
        # context entries are media the judge reads: the same root applies to them
        return [str(self.allowed_path(path, f"{where} context {c}")) for c, path in enumerate(paths)]

    def candidate(self, raw: Any, where: str, k: int, folder: Path) -> Candidate:
        where = f"{where} candidate {k}"
        cid = raw.id or f"c{k}"
        if raw.modality == "text":
            return Candidate(cid, "text", text=raw.text or "")
        if raw.data is not None:
            return Candidate(cid, raw.modality, path=str(self.inline(raw, where, folder)))
        if raw.path is None:
            raise RequestError(400, f"{where} has neither 'path' nor 'data'",
                               fix="Send a path under the server's media root, or the file as base64 in 'data'")
        return Candidate(cid, raw.modality, path=str(self.allowed_path(raw.path, where)))

    def allowed_path(self, path: str, where: str) -> Path:
        if self.media_root is None:
            raise RequestError(403, f"{where} sends a path, and this server reads no paths",
                               fix="Send the file as base64 in 'data', or start the server with --media-root DIR")
        try:  # '..' and symbolic links are resolved before the check: nothing outside the root is opened
            return Path(self.paths.resolve(path, where=where))
        except ConfigError as exc:
            raise RequestError(403, exc.what, fix=exc.fix) from None

    def inline(self, raw: Any, where: str, folder: Path) -> Path:
        suffix = "." + (raw.format or "png").lower().lstrip(".")
        if suffix not in INLINE_SUFFIXES:
            raise RequestError(400, f"{where}: format {suffix!r} is not accepted",
                               fix=f"Use one of {', '.join(s[1:] for s in INLINE_SUFFIXES)}")
        try:
            data = base64.b64decode(raw.data, validate=True)
        except ValueError:
            raise RequestError(400, f"{where}: 'data' is not base64",
                               fix="Encode the file's bytes with base64") from None
        path = folder / (hashlib.sha256(data).hexdigest() + suffix)
        if not path.exists():
            path.write_bytes(data)
        return path

    # --- group rewards ---------------------------------------------------------------------------------

    @staticmethod
    def group_result(group_id: str, candidates: list[Candidate], verdicts: list[Verdict], *,
                     use_probabilities: bool) -> dict[str, Any]:
        """The SDK's win-rate rewards of one group, with each candidate's failed games counted; a candidate
        none of whose games was judged gets no reward (null) and the reason, not a made-up 0.5."""
        size = len(candidates)
        rewards: list[float | None] = list(win_rate_rewards(verdicts, size, use_probabilities=use_probabilities))
        failed: list[list[Verdict]] = [[] for _ in candidates]
        for (a, b), verdict in zip(group_pairs(size), verdicts):
            if not verdict.ok:
                failed[a].append(verdict)
                failed[b].append(verdict)
        per_candidate = []
        for k, candidate in enumerate(candidates):
            all_failed = len(failed[k]) == size - 1
            if all_failed:
                rewards[k] = None
            per_candidate.append({"id": candidate.id, "reward": rewards[k], "status": "failed" if all_failed else "ok",
                                  "games": size - 1, "failed_games": len(failed[k]),
                                  "error": failed[k][0].error if failed[k] else None})
        return {"id": group_id, "rewards": rewards, "candidates": per_candidate,
                "verdicts": [to_dict(v) for v in verdicts]}


class _Folder:
    def __init__(self, path: Path, forget: Callable[[list[Path]], None] | None = None):
        self.path = path
        self.forget = forget

    def __enter__(self) -> Path:
        self.path.mkdir(parents=True)
        return self.path

    def __exit__(self, *exc) -> None:
        if self.forget is not None:
            self.forget(list(self.path.iterdir()))
        shutil.rmtree(self.path, ignore_errors=True)
