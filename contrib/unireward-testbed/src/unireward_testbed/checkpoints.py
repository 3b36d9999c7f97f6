"""The testbed's shipped checkpoints: where they live, what they are, and how to check them.

``checkpoints/`` (next to this module) holds small models, all safetensors, written by
``unireward testbed build`` (or ``unireward demo --rebuild-checkpoints``):

- ``base_vlm``: the Qwen2-VL-architecture VLM pretrained on world captions, questions and caption
  verification (base of every judge);
- ``judge``: a joint judge trained from ``base_vlm`` on simulated preferences of all four tasks with the
  SDK's judge trainer (used to build pairs in the quick profile);
- ``qa_policy``: ``base_vlm`` fine-tuned on noisily answered world questions (the understanding policy);
- ``judge_single/<task>``: one judge per task, trained like the joint judge on that task's share of the
  same data (the quick demo's budget-matched joint-vs-single comparison; the full demo retrains all five);
- ``t2i_policy``: a pixel-space text-to-image UNet pretrained briefly on world scenes;
- ``t2v_policy``: a pixel-space text-to-video UNet (8 frames of 16 pixels) pretrained briefly on world clips.

``MANIFEST.json`` records each file's sha256, the build settings and library versions.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from unireward_sdk.errors import UniRewardError

CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
NAMES = ("base_vlm", "judge", "judge_single", "qa_policy", "t2i_policy", "t2v_policy")
MANIFEST = "MANIFEST.json"
# what the package may ship: the checkpoints are part of every install (five 4.8 MB judges, the base and
# the QA policy are most of it)
MAX_BYTES = 40_000_000


class CheckpointError(UniRewardError):
    """A testbed checkpoint is missing or does not match its manifest."""


def checkpoint_dir(root: str | Path | None = None) -> Path:
    return Path(root) if root is not None else CHECKPOINT_DIR


def require(name: str, root: str | Path | None = None) -> Path:
    """The folder of checkpoint ``name``, or an error that says how to rebuild it."""
    path = checkpoint_dir(root) / name
    if not path.is_dir() or not any(path.rglob("*.safetensors")):
        raise CheckpointError(f"the testbed checkpoint '{name}' is missing", who=str(path),
                              fix="Rebuild the checkpoints with `unireward testbed build` "
                                  "(or `unireward demo --rebuild-checkpoints`)")
    return path


def file_hashes(root: Path) -> dict[str, str]:
    """sha256 of every file under the checkpoint folders, by relative path."""
    out = {}
    for name in NAMES:
        for path in sorted((root / name).rglob("*")):
            if path.is_file():
                out[str(path.relative_to(root))] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def read_manifest(root: str | Path | None = None) -> dict | None:
    path = checkpoint_dir(root) / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


def verify(root: str | Path | None = None) -> list[str]:
    """Files whose sha256 differs from the manifest (empty when everything matches)."""
    root = checkpoint_dir(root)
    manifest = read_manifest(root)
    if manifest is None:
        return [f"{root / MANIFEST} is missing"]
    actual = file_hashes(root)
    expected = manifest.get("files", {})
    problems = [f"{p}: missing" for p in expected if p not in actual]
    problems += [f"{p}: sha256 differs" for p in expected if p in actual and actual[p] != expected[p]]
    problems += [f"{p}: not in the manifest" for p in actual if p not in expected]
    return problems


def total_bytes(root: str | Path | None = None) -> int:
    root = checkpoint_dir(root)
    return sum(p.stat().st_size for name in NAMES for p in (root / name).rglob("*") if p.is_file())
