"""`unireward score`: judge items with a local or hub checkpoint and print one JSON line per verdict or score.

One item from flags::

    unireward score --model CodeGoat24/UnifiedReward-qwen-7b --task image_generation --mode pairwise \\
        --prompt "a red cube" --media a.png b.png
    unireward score --model ./judge --task image_understanding --mode pointwise \\
        --question "What is shown?" --media photo.jpg --response "A cat."

A reward head whose spec declares ``needs_backend=False`` (a rule, a metric) runs without ``--model``.

Or many from a JSONL manifest (``--manifest items.jsonl``), one object per line::

    {"id": "p1", "prompt": "a red cube", "media": ["a.png", "b.png"]}
    {"id": "q1", "question": "What is shown?", "media": ["photo.jpg"], "responses": ["A cat.", "A dog."]}

``media`` are the files judged (generation tasks) or the files asked about (understanding tasks, when
``responses`` are given); ``candidates`` / ``context`` name them explicitly instead. Relative paths are
relative to the manifest's folder, and a path that leads outside that folder is refused unless
``--allow-outside-paths`` is given. Results go to stdout (``to_dict`` of each Verdict / Score), progress
to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import CapabilityError, ConfigError
from ..records import Candidate, JudgeItem
from . import add_fail_on_error, items_status

MODES = ("pairwise", "pointwise")
_MANIFEST_KEYS = ("id", "prompt", "question", "media", "responses", "candidates", "context", "meta")


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "score", help="judge items with a reward model and print JSON lines",
        description="Judge pairwise (A vs B) or pointwise items with a judge checkpoint; prints one JSON line per item.",
    )
    p.add_argument("--model", help="hub id or local folder of the judge checkpoint (not needed by a head that "
                   "declares needs_backend=False)")
    p.add_argument("--task", required=True, help="image_generation, video_generation, image_understanding, ...")
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--template", help="template id (default: the task's default for the checkpoint's family)")
    p.add_argument("--head", default="generative", help="reward head: generative (default), fast or scalar")
    p.add_argument("--value-head", type=Path, metavar="DIR",
                   help="scalar head: the value head folder a scalar judge training saved (ScalarValueHead)")
    p.add_argument("--symmetric", action="store_true", help="pairwise: judge A/B and B/A and report consistency")
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--backend", default="transformers", help="judge backend plugin (default: transformers)")
    p.add_argument("--backend-option", action="append", default=[], metavar="KEY=VALUE",
                   help="a backend option, repeatable (e.g. base_url=http://127.0.0.1:8000/v1 for --backend openai); "
                   "VALUE is read as JSON when it parses (8, true, [\"a\", \"b\"]), else as text")
    p.add_argument("--device", help="cpu, cuda, cuda:1... (default: cuda when present)")
    p.add_argument("--dtype", help="bfloat16, float16 or float32 (default: bf16 on CUDA, fp32 on CPU)")
    p.add_argument("--family", help="template family the checkpoint speaks (default: inferred)")
    p.add_argument("--trust-remote-code", action="store_true", help="run code shipped with the checkpoint")
    p.add_argument("--frames", type=int, default=8, help="frames sampled evenly from each video (default 8)")
    p.add_argument("--max-new-tokens", type=int, help="cap on generated tokens (default: the template's budget)")
    item = p.add_argument_group("one item from flags")
    item.add_argument("--prompt", help="caption / generation prompt")
    item.add_argument("--question", help="question about the media (understanding tasks)")
    item.add_argument("--media", nargs="+", metavar="FILE", default=[], help="media files")
    item.add_argument("--response", nargs="+", metavar="TEXT", default=[], help="candidate answers (understanding)")
    item.add_argument("--id", default="item-0", help="id of the item (default item-0)")
    many = p.add_argument_group("many items from a file")
    many.add_argument("--manifest", type=Path, help="JSONL file, one item per line")
    many.add_argument("--allow-outside-paths", action="store_true",
                      help="accept manifest media paths outside the manifest's folder")
    add_fail_on_error(p)
    return p


# --- items --------------------------------------------------------------------------------------


def _candidates_and_context(
    registry: Any, where: str, media: list[str], responses: list[str],
    candidates: list[str] | None = None, context: list[str] | None = None, *, task: str,
) -> tuple[list[Candidate], list[str]]:
    """Text responses become candidates with the media as context; otherwise the media are the candidates."""
    if candidates is not None or context is not None:
        files, context = list(candidates or []), list(context or [])
        if responses and files:
            raise ConfigError("give either candidate files or responses, not both", who=where,
                              fix="Judge files with 'candidates' alone, or texts with 'responses' and 'context'")
    elif responses:
        files, context = [], list(media)
    else:
        files, context = list(media), []
    from ..ingest import PathPolicy, candidate, context_paths

    # paths are resolved already (or taken as given on the command line): the policy only types and checks them
    as_given = PathPolicy()
    out = [Candidate(id=chr(ord("A") + i), text=text) for i, text in enumerate(responses)]
    for i, path in enumerate(files):
        out.append(candidate({"path": path}, cid=chr(ord("A") + i), task=task, policy=as_given, registry=registry,
                             where=where))
    return out, list(context_paths(context, task=task, policy=as_given, registry=registry, where=where))


def _check_mode(n: int, mode: str, where: str) -> None:
    wanted = 2 if mode == "pairwise" else 1
    if n != wanted:
        raise ConfigError(
            f"{mode} judging needs {wanted} candidate(s), got {n}", who=where,
            fix="Pairwise: two media files (generation) or two --response texts (understanding); pointwise: one",
        )


def item_from_flags(args, registry: Any) -> JudgeItem:
    from ..ingest import PathPolicy

    # every file is checked here, before the checkpoint loads: a typo costs no model load
    exists = PathPolicy(must_exist=True, missing_fix="Check the --media path")
    media = [exists.resolve(str(Path(m)), where="command line", name="--media file") for m in args.media]
    candidates, context = _candidates_and_context(registry, "command line", media, list(args.response),
                                                  task=args.task)
    _check_mode(len(candidates), args.mode, "command line")
    return JudgeItem(id=args.id, task=args.task, candidates=candidates, prompt=args.prompt,
                     question=args.question, context=context)


def _policy(root: Path, allow_outside: bool) -> Any:
    from ..ingest import PathPolicy

    # a missing file is refused with the other problems of the manifest, before the checkpoint loads
    return PathPolicy(root, allow_outside=allow_outside, must_exist=True, base_label="the manifest's folder",
                      allow_hint="pass --allow-outside-paths if you trust the manifest",
                      missing_fix="Correct the path (relative paths start at the manifest's folder) or remove the "
                                  "line")


def items_from_manifest(path: Path, task: str, mode: str, registry: Any, allow_outside: bool) -> list[JudgeItem]:
    """Every line of a JSONL manifest as a JudgeItem. Every line is checked (keys, media files exist, the task
    takes them, the mode's candidate count, ids) and every problem is reported at once, before anything is
    judged or loaded."""
    from ..ingest import RowProblems, jsonl_rows

    policy = _policy(path.parent, allow_outside)
    items, seen = [], set()
    try:
        rows = list(jsonl_rows(path))
    except OSError as exc:
        raise ConfigError(f"cannot read the manifest: {exc.strerror or exc}", who=str(path),
                          fix="Check the --manifest path and that the file is readable") from exc
    problems = RowProblems(str(path))
    for located in rows:
        with problems.check():
            items.append(_manifest_item(located, task, mode, registry, policy, seen))
    problems.raise_if_any()
    if not items:
        raise ConfigError("the manifest holds no items", who=str(path),
                          fix='Add one item per line, e.g. {"id": "p1", "prompt": "a cube", "media": ["a.png"]}')
    return items


def _manifest_item(located: Any, task: str, mode: str, registry: Any, policy: Any, seen: set[str]) -> JudgeItem:
    """One manifest line as a JudgeItem, or an error naming ``file:line``."""
    where, row, number = located.where, located.data, located.line
    if not isinstance(row, dict):
        raise ConfigError("each line must be a JSON object", who=where,
                          fix='Write the item as an object, e.g. {"id": "p1", "media": ["a.png", "b.png"]}')
    unknown = sorted(set(row) - set(_MANIFEST_KEYS))
    if unknown:
        raise ConfigError(f"unknown keys {unknown}", who=where, fix=f"Use {', '.join(_MANIFEST_KEYS)}")

    def paths(key: str) -> list[str] | None:
        value = row.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        return [policy.resolve(str(v), where=where, name="media path") for v in value]

    responses = row.get("responses") or []
    if isinstance(responses, str):
        responses = [responses]
    candidates, context = _candidates_and_context(
        registry, where, paths("media") or [], [str(r) for r in responses], paths("candidates"), paths("context"),
        task=task,
    )
    _check_mode(len(candidates), mode, where)
    item_id = str(row.get("id", f"line-{number}"))
    if item_id in seen:
        raise ConfigError(f"duplicate id '{item_id}'", who=where,
                          fix="Give every line its own 'id', or leave 'id' out to use the line number")
    seen.add(item_id)
    return JudgeItem(id=item_id, task=task, candidates=candidates, prompt=row.get("prompt"),
                     question=row.get("question"), context=context, meta=row.get("meta") or {})


# --- run ----------------------------------------------------------------------------------------


def backend_options(pairs: list[str]) -> dict[str, Any]:
    """``--backend-option KEY=VALUE`` flags as a dict (VALUE read as JSON when it parses, else kept as text)."""
    from .flags import key_values

    return key_values(pairs, flag="--backend-option", who="unireward score",
                      example="base_url=http://127.0.0.1:8000/v1")


def _backend_options(args) -> dict[str, Any]:
    """What the flags give the backend: --model as its checkpoint, the shared flags, then --backend-option."""
    options: dict[str, Any] = {"checkpoint": args.model, "batch_size": args.batch_size}
    for key in ("device", "dtype", "family", "max_new_tokens"):
        if getattr(args, key):
            options[key] = getattr(args, key)
    if args.trust_remote_code:
        options["trust_remote_code"] = True
    options.update(backend_options(args.backend_option))
    return options


def build_head(args, registry: Any) -> Any:
    """The backend and head the flags describe (heavy: loads the checkpoint; none for a model-free head)."""
    from ..media import MediaCache, VideoSampling

    from ..interfaces import judging_mode

    spec = registry.reward_head_spec(args.head)
    if not spec.supports(args.task, args.mode):
        raise CapabilityError(f"does not support {args.mode} judging of task '{args.task}'",
                              who=f"reward head '{args.head}'", fix="Pick another --head (see `unireward plugins`)")
    if spec.needs_backend:
        if not args.model:
            raise ConfigError(f"reward head '{args.head}' judges with a model, and no --model was given",
                              who="unireward score",
                              fix="Pass --model <hub id or local folder of the judge checkpoint>")
        # before the checkpoint loads; with the options, a served judge is asked what it can do
        registry.check_head_backend(args.head, args.backend, _backend_options(args))
    if args.symmetric and args.mode != "pairwise":
        raise ConfigError("--symmetric applies to pairwise judging only", who="unireward score",
                          fix="Drop --symmetric, or pass --mode pairwise")
    if args.template:
        template = registry.task(args.task).template(args.template)
        judged = judging_mode(template)
        if judged != args.mode:
            raise ConfigError(f"template '{args.template}' judges {judged} items, not {args.mode}",
                              who="unireward score", fix=f"Pass --mode {judged} or a {args.mode} template")
    if args.value_head is not None and args.head != "scalar":
        raise ConfigError("--value-head applies to the scalar head only", who="unireward score",
                          fix="Pass --head scalar with --value-head")
    backend = None
    if spec.needs_backend:
        backend = registry.backend(args.backend, **_backend_options(args))
    elif args.model:
        print(f"unireward score: reward head '{args.head}' needs no model; --model is ignored", file=sys.stderr)
    media = MediaCache(registry=registry, video_policy=VideoSampling(frames=args.frames))
    head_options: dict[str, Any] = dict(backend=backend, task=args.task, registry=registry, media=media)
    if args.template:
        head_options["template"] = args.template
    if spec.options is None or "batch_size" in {o.name for o in spec.options}:
        head_options["batch_size"] = args.batch_size  # a head that declares no batching gets none
    if backend is None and args.family:
        head_options["family"] = args.family  # no backend to name the template family
    if args.symmetric:
        head_options["symmetric"] = True
    if args.value_head is not None:
        head_options["value_head"] = str(args.value_head)
    return registry.reward_head(args.head, **head_options)


def run(args) -> int:
    from ..records import to_dict
    from ..registry import get_registry

    registry = get_registry()
    registry.task(args.task)  # an unknown task fails here, before the checkpoint loads
    backend_options(args.backend_option)  # so does a malformed flag, before any file is read
    if args.manifest is not None:
        if args.media or args.response:
            raise ConfigError("give either --manifest or --media/--response, not both", who="unireward score",
                              fix="Drop --media/--response and list the items in the manifest, or drop --manifest")
        items = items_from_manifest(args.manifest, args.task, args.mode, registry, args.allow_outside_paths)
    else:
        items = [item_from_flags(args, registry)]
    head = build_head(args, registry)
    judge = head.judge_pairwise if args.mode == "pairwise" else head.score_pointwise
    from ..progress import track

    failed = 0
    with track("unireward score:", len(items), noun="items judged") as bar:
        for start in range(0, len(items), args.batch_size):
            chunk = items[start:start + args.batch_size]
            for record in judge(chunk):
                failed += not record.ok
                sys.stdout.write(json.dumps(to_dict(record), ensure_ascii=False) + "\n")
            sys.stdout.flush()
            bar.advance(len(chunk), status=f"{failed} failed")
    status = items_status(len(items), failed, fail_on_error=args.fail_on_error)
    if status:
        why = "no item was judged successfully" if failed >= len(items) else "--fail-on-error and some items failed"
        print(f"unireward score: {failed} of {len(items)} items failed ({why}): exit status {status}; each "
              "failed line on stdout says why", file=sys.stderr)
    else:
        print(f"unireward score: {len(items)} items judged ({failed} failed)", file=sys.stderr)
    return status
