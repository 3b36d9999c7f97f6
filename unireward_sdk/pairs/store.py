"""Pair datasets on disk: append-only JSONL shards, one per process, with atomic commits per batch.

Layout of a dataset folder::

    dataset.json              what the job was (config fingerprint, prompt count, batch size, media mode)
    shards/rank-00000.jsonl   records appended batch by batch (one JSON object per prompt)
    commits/rank-00000.json   the committed batches of that shard: byte offset, length, sha256, prompt range
    media/ab/abcd....png      candidate and context media, copied once by content hash (media = "copy")
    pairs.jsonl               every committed record in prompt order (written when the job completes)

A batch is committed in this order: its media files (temporary name, fsync, rename), its records appended
to the shard and fsynced, then the commit file rewritten (temporary file, fsync, ``os.replace``, directory
fsync). A process killed at any point leaves at most some bytes past the committed length, which the next
``resume`` truncates; readers only ever read committed byte ranges, so nothing half-written is seen and no
batch is lost, repeated or reordered.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError, UniRewardError
from ..records import DroppedPrompt, PreferencePair, from_dict

FORMAT = "unireward-pairs/1"
CRASH_VAR = "UNIREWARD_PAIRS_CRASH_AT"  # fault injection for tests: "<point>:<batch index>"
MEDIA_MODES = ("copy", "reference")


class StoreError(UniRewardError):
    """A pair dataset on disk is inconsistent or cannot be written."""


def _crash_point(point: str, batch: int) -> None:
    """Kill this process with SIGKILL at a named point of a commit, when a test asks for it."""
    want = os.environ.get(CRASH_VAR)
    if want and want == f"{point}:{batch}":
        os.kill(os.getpid(), signal.SIGKILL)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # some platforms cannot open directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes, *, crash: tuple[str, int] | None = None) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    if crash:
        _crash_point(crash[0], crash[1])
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def encode_row(row: Mapping[str, Any]) -> bytes:
    """One record line: compact, key order as built, so equal records give equal bytes."""
    return (json.dumps(row, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode("utf-8")


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class MediaStore:
    """Places media files in the dataset by content hash (``copy``), or records them by path (``reference``)."""

    def __init__(self, root: Path, mode: str = "copy"):
        if mode not in MEDIA_MODES:
            raise ConfigError(f"media must be one of {', '.join(MEDIA_MODES)}, not {mode!r}", who="pair dataset",
                              fix="'copy' places the files in the dataset, 'reference' records their paths")
        self.root = root
        self.mode = mode
        self._hashes: dict[str, str] = {}

    def sha256(self, path: str) -> str:
        if path not in self._hashes:
            self._hashes[path] = file_sha256(path)
        return self._hashes[path]

    def place(self, path: str) -> tuple[str, str]:
        """(path to store in the record, sha256). Copies are relative to the dataset folder."""
        digest = self.sha256(path)
        if self.mode == "reference":
            return str(Path(path).resolve()), digest
        rel = Path("media") / digest[:2] / f"{digest}{Path(path).suffix.lower()}"
        target = self.root / rel
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
            shutil.copyfile(path, tmp)
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, target)
        return rel.as_posix(), digest


def _rank_name(rank: int) -> str:
    return f"rank-{rank:05d}"


def read_meta(root: str | Path) -> dict[str, Any] | None:
    path = Path(root) / "dataset.json"
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def _read_meta_checked(root: Path) -> dict[str, Any] | None:
    try:
        return read_meta(root)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"its dataset.json cannot be read ({exc})", who=str(root),
                          fix="Pass --overwrite to replace the folder, or choose a new output folder") from exc


def check_output(root: str | Path, meta: Mapping[str, Any] | None, *, resume: bool, overwrite: bool) -> None:
    """Refuse an output folder the job may not write, without writing anything: a folder holding a pair
    dataset needs ``resume`` (the same job: ``meta``'s fingerprint; ``None`` skips that check) or
    ``overwrite``; a folder holding anything else is never written into."""
    root = Path(root)
    if resume and overwrite:
        raise ConfigError("--resume and --overwrite exclude each other", who="pair job",
                          fix="Pass --resume to continue the dataset in the folder, or --overwrite to replace it")
    if root.exists() and not root.is_dir():
        raise ConfigError(f"the output '{root}' is a file, not a folder", who="pair job",
                          fix="Set 'output' to a new or empty folder (a pair dataset is a folder)")
    existing = _read_meta_checked(root) if root.is_dir() else None
    if existing is not None:
        if overwrite:
            return
        if not resume:
            raise ConfigError(f"'{root}' already holds a pair dataset", who="pair job",
                              fix="Pass --resume to continue it, --overwrite to replace it with this job's, "
                                  "or choose a new output folder")
        if meta is not None and existing.get("fingerprint") != meta["fingerprint"]:
            changed = sorted(k for k in set(existing.get("config", {})) | set(meta.get("config", {}))
                             if existing.get("config", {}).get(k) != meta.get("config", {}).get(k))
            raise ConfigError(
                f"cannot resume '{root}': the job differs from the one that wrote it"
                + (f" (changed: {', '.join(changed)})" if changed else " (the manifest's content changed)"),
                who="pair job", fix="Resume with the original config and manifest, pass --overwrite (instead of "
                                    "--resume) to start this job over in the folder, or write to a new folder")
        return
    if root.is_dir() and any(p for p in root.iterdir() if not p.name.startswith(".")):
        raise ConfigError(f"'{root}' is not empty and holds no pair dataset", who="pair job",
                          fix="Choose an empty or new output folder (--overwrite replaces only a folder that holds "
                              "a pair dataset)")


def prepare_output(root: str | Path, meta: Mapping[str, Any], *, resume: bool, overwrite: bool = False) -> bool:
    """Create the dataset folder (main process only), or check that ``resume`` continues the same job;
    ``overwrite`` first removes a pair dataset the folder holds. True when this call created the dataset."""
    root = Path(root)
    check_output(root, meta, resume=resume, overwrite=overwrite)
    existing = read_meta(root) if root.is_dir() else None
    if existing is not None and not overwrite:
        return False
    if existing is not None:
        shutil.rmtree(root)
    for sub in ("shards", "commits", "media"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    atomic_write(root / "dataset.json", (json.dumps(dict(meta), indent=2, sort_keys=True) + "\n").encode())
    return True


def discard_output(root: str | Path, *, keep_folder: bool) -> None:
    """Remove a dataset this job created and never committed a batch to (a run that failed at its start),
    so the next run starts fresh; ``keep_folder`` leaves the (empty) folder the user had made."""
    root = Path(root)
    if committed(root):
        return
    if not keep_folder:
        shutil.rmtree(root, ignore_errors=True)
        return
    for name in ("shards", "commits", "media"):
        shutil.rmtree(root / name, ignore_errors=True)
    (root / "dataset.json").unlink(missing_ok=True)


def committed(root: str | Path) -> dict[int, dict[str, Any]]:
    """batch index -> its commit entry (with the shard it lives in), over every process's commit file."""
    out: dict[int, dict[str, Any]] = {}
    commit_dir = Path(root) / "commits"
    if not commit_dir.exists():
        return out
    for path in sorted(commit_dir.glob("rank-*.json")):
        state = json.loads(path.read_text(encoding="utf-8"))
        for entry in state["batches"]:
            b = entry["batch"]
            if b in out:
                raise StoreError(f"batch {b} is committed twice ({out[b]['shard']} and {state['shard']})",
                                 who=str(root), fix="The dataset was written by two jobs at once; rebuild it")
            out[b] = {**entry, "shard": state["shard"]}
    return out


class PairStore:
    """The writer of one process: appends batches to its own shard and commits them atomically.

    Opening truncates the shard to its committed length, discarding whatever a killed run wrote after its
    last commit.
    """

    def __init__(self, root: str | Path, rank: int = 0, media: str = "copy"):
        self.root = Path(root)
        self.rank = rank
        self.media = MediaStore(self.root, media)
        self.shard_rel = f"shards/{_rank_name(rank)}.jsonl"
        self.shard_path = self.root / self.shard_rel
        self.commit_path = self.root / "commits" / f"{_rank_name(rank)}.json"
        if self.commit_path.exists():
            self.state = json.loads(self.commit_path.read_text(encoding="utf-8"))
        else:
            self.state = {"rank": rank, "shard": self.shard_rel, "length": 0, "batches": []}
        self.shard_path.parent.mkdir(parents=True, exist_ok=True)
        self.commit_path.parent.mkdir(parents=True, exist_ok=True)
        mode = "r+b" if self.shard_path.exists() else "w+b"
        self._file = open(self.shard_path, mode)
        self._file.truncate(self.state["length"])
        self._file.seek(self.state["length"])
        os.fsync(self._file.fileno())

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> PairStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def commit(self, batch: int, prompts: range, rows: Sequence[Mapping[str, Any]]) -> None:
        """Append one batch's records and commit them. Media must already be placed (see :attr:`media`)."""
        if any(entry["batch"] == batch for entry in self.state["batches"]):
            raise StoreError(f"batch {batch} is already committed", who=str(self.shard_path),
                             fix="Commit only the batches that committed(root) does not list yet")
        data = b"".join(encode_row(row) for row in rows)
        offset = self.state["length"]
        _crash_point("before_write", batch)
        if os.environ.get(CRASH_VAR) == f"mid_write:{batch}":
            self._file.write(data[: max(1, len(data) // 2)])
            self._file.flush()
            os.fsync(self._file.fileno())
            _crash_point("mid_write", batch)
        self._file.write(data)
        self._file.flush()
        os.fsync(self._file.fileno())
        _crash_point("after_write", batch)
        entry = {"batch": batch, "prompts": [prompts.start, prompts.stop], "offset": offset, "length": len(data),
                 "sha256": hashlib.sha256(data).hexdigest()}
        state = {**self.state, "length": offset + len(data), "batches": [*self.state["batches"], entry]}
        atomic_write(self.commit_path, (json.dumps(state, indent=1) + "\n").encode(), crash=("before_replace", batch))
        self.state = state
        _crash_point("after_commit", batch)


class PairDataset:
    """Read a pair dataset: committed records in prompt order, pairs, dropped prompts, a summary, exports."""

    def __init__(self, root: str | Path):
        # absolute, so every media path it hands out is absolute whatever the current folder is later
        self.root = Path(root).expanduser().resolve()
        meta = read_meta(self.root)
        if meta is None:
            raise ConfigError("not a pair dataset (no dataset.json)", who=str(self.root),
                              fix="Point at the output folder of `unireward pairs`")
        if meta.get("format") != FORMAT:
            raise ConfigError(f"unknown dataset format {meta.get('format')!r} (expected {FORMAT})", who=str(self.root),
                              fix="Rebuild the dataset with this version's `unireward pairs`, or read it with the "
                                  "version that wrote it")
        self.meta = meta

    @property
    def num_batches(self) -> int:
        return int(self.meta["num_batches"])

    def committed_batches(self) -> set[int]:
        return set(committed(self.root))

    @property
    def complete(self) -> bool:
        return self.committed_batches() == set(range(self.num_batches))

    def batch_bytes(self) -> Iterator[tuple[int, bytes]]:
        """(batch index, its committed bytes) in batch order, each checked against its sha256."""
        handles: dict[str, Any] = {}
        try:
            for b, entry in sorted(committed(self.root).items()):
                f = handles.get(entry["shard"])
                if f is None:
                    f = handles[entry["shard"]] = open(self.root / entry["shard"], "rb")
                f.seek(entry["offset"])
                data = f.read(entry["length"])
                if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                    raise StoreError(f"batch {b} in {entry['shard']} does not match its checksum", who=str(self.root),
                                     fix="The shard was modified or truncated; rebuild the dataset")
                yield b, data
        finally:
            for f in handles.values():
                f.close()

    def rows(self) -> Iterator[dict[str, Any]]:
        for _, data in self.batch_bytes():
            for line in data.decode("utf-8").splitlines():
                yield json.loads(line)

    def merged_bytes(self) -> bytes:
        return b"".join(data for _, data in self.batch_bytes())

    def write_merged(self, path: str | Path | None = None) -> Path:
        """Every committed record in prompt order in one JSONL file (default ``pairs.jsonl``), atomically."""
        path = Path(path) if path is not None else self.root / "pairs.jsonl"
        atomic_write(path, self.merged_bytes())
        return path

    def pairs(self) -> list[PreferencePair]:
        return [self.pair(row) for row in self.rows() if row["kind"] == "pair"]

    def dropped(self) -> list[DroppedPrompt]:
        return [from_dict(row["record"]) for row in self.rows() if row["kind"] == "dropped"]

    def pair(self, row: Mapping[str, Any]) -> PreferencePair:
        """The pair of a row, with media paths made absolute (copied media live in the dataset folder)."""
        import attrs

        pair: PreferencePair = from_dict(row["record"])

        def absolute(c):
            if c.path is None or Path(c.path).is_absolute():
                return c
            return attrs.evolve(c, path=str(self.root / c.path))

        context = tuple(p if Path(p).is_absolute() else str(self.root / p) for p in pair.context)
        return attrs.evolve(pair, chosen=absolute(pair.chosen), rejected=absolute(pair.rejected), context=context)

    def resolve(self, path: str) -> str:
        return path if Path(path).is_absolute() else str(self.root / path)

    def summary(self) -> dict[str, Any]:
        """Prompts seen, pairs kept, dropped by reason, parse failures by mode and status."""
        seen = kept = 0
        dropped: Counter[str] = Counter()
        pairwise: Counter[str] = Counter()
        pointwise: Counter[str] = Counter()
        n_verdicts = n_scores = 0
        for row in self.rows():
            seen += 1
            if row["kind"] == "pair":
                kept += 1
            else:
                dropped[row["record"]["reason"]] += 1
            record = row["record"]
            for v in record.get("verdicts", []):
                n_verdicts += 1
                if v["status"] != "ok":
                    pairwise[v["status"]] += 1
            for s in (row.get("scores", []) if row["kind"] == "pair" else record.get("scores", [])):
                n_scores += 1
                if s["status"] != "ok":
                    pointwise[s["status"]] += 1
        return {
            "prompts_total": int(self.meta["num_prompts"]),
            "prompts_seen": seen,
            "pairs_kept": kept,
            "dropped": dict(sorted(dropped.items())),
            "verdicts": n_verdicts,
            "scores": n_scores,
            "parse_failures": {"pairwise": dict(sorted(pairwise.items())), "pointwise": dict(sorted(pointwise.items()))},
            "complete": seen == int(self.meta["num_prompts"]),
        }
