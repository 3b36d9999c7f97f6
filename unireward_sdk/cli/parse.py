"""`unireward parse --template ID`: read a judge's answer on stdin, print the verdict or score as one JSON object.

For people who run their own serving: send the template's prompt to any engine, pipe the answer here.
The object always has ``ok``, ``status``, ``kind`` (verdict or score), ``winner`` (A, B, tie), ``score``
(on the template's scale), ``scale``, ``normalized`` ([0, 1]), ``scores`` (per axis; for pairwise axis
scores a pair [A, B]), ``raw`` and ``error`` (when not ok). Exit status 0, or 1 with ``--check`` when
the answer does not parse.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..errors import UnknownComponentError
from ..records import Score, Verdict


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("parse", help="parse a judge's answer (stdin) with a template's parser, print JSON")
    p.add_argument("--template", required=True, help="template id, e.g. image_generation.pairwise_rank.qwen_v1")
    p.add_argument("--text", help="the answer (default: read it from stdin)")
    p.add_argument("--item-id", default="", help="item id to put in the record")
    p.add_argument("--templates-file", action="append", default=[], metavar="FILE",
                   help="add or override templates from a TOML/JSON file (repeatable)")
    p.add_argument("--check", action="store_true", help="exit 1 when the answer does not parse")
    return p


def result(record: Verdict | Score, template_id: str) -> dict[str, Any]:
    """The JSON object printed for a parsed record."""
    if isinstance(record, Verdict):
        return {
            "ok": record.ok, "status": record.status, "kind": "verdict", "template": template_id,
            "winner": record.winner, "score": None, "scale": None, "normalized": None,
            "scores": {k: list(v) for k, v in record.dimension_scores.items()},
            "raw": record.raw, "error": record.error,
        }
    return {
        "ok": record.ok, "status": record.status, "kind": "score", "template": template_id,
        "winner": None, "score": record.value, "scale": list(record.scale) if record.scale else None,
        "normalized": record.normalized, "scores": dict(record.dimensions),
        "raw": record.raw, "error": record.error,
    }


def run(args) -> int:
    from .templates import load_registry

    registry = load_registry(args.templates_file)
    spec = registry.template_spec(args.template)
    raw = args.text if args.text is not None else sys.stdin.read()
    try:
        task = registry.task(spec.task)
    except UnknownComponentError:  # a template whose task is not installed still parses with its own parser
        task = None
    if task is not None and callable(getattr(task, "parse", None)):
        record = task.parse(args.template, raw, args.item_id)
    else:
        from ..parsing import parse

        record = parse(spec.create(), raw, args.item_id)
    print(json.dumps(result(record, args.template), ensure_ascii=False))
    return 1 if args.check and not record.ok else 0
