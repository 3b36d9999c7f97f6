"""`unireward sample`: candidates from a policy, written as a manifest that `unireward pairs` reads as it is.

    unireward sample --policy aligned/ --prompts prompts.txt --n 4 --seed 0 --output round2/candidates.jsonl

``--policy`` is a folder ``unireward align`` saved (its ``unireward_policy.json`` names the aligner) or
any model an aligner can start from, then named with ``--aligner``. ``--prompts`` is a text file (one
prompt per line) or JSON Lines with ``prompt`` (a caption) or ``question``, an optional ``id`` and, for
understanding tasks, ``context`` (the image / video asked about, relative to the prompts file).

The output is a pair job's input manifest: one line per prompt, its ``n`` candidates as ``{"path": ...}``
(media written to ``<output stem>-media/`` next to it, paths relative to the manifest) or ``{"text": ...}``,
each with the seed that produced it in ``meta``. ``--set KEY=VALUE`` changes one of the aligner's settings
for this run (e.g. ``sample_steps=30``, ``guidance_scale=5``, ``max_new_tokens=64``).
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from attrs import frozen

from ..errors import ConfigError


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("sample", help="sample candidates from a (possibly aligned) policy into a pair-job manifest")
    p.add_argument("--policy", required=True, help="a folder `unireward align` saved, or a model the aligner starts from")
    p.add_argument("--aligner", help="the aligner's registry name (read from the policy folder when it is one)")
    p.add_argument("--prompts", required=True, help="prompts: .txt (one per line) or .jsonl (prompt/question, id, context)")
    p.add_argument("--n", type=int, default=4, help="candidates per prompt (default 4; a pair job needs 2 or more)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (each candidate's own seed is in its meta)")
    p.add_argument("--output", required=True, help="the manifest to write (.jsonl)")
    p.add_argument("--task", help="write this task on every line (optional: the pair job names its task)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="settings",
                   help="change one of the aligner's settings for sampling (repeatable; VALUE is read as JSON "
                        "when it parses)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing manifest and its media folder")
    p.add_argument("--json", action="store_true", help="print a summary as JSON")
    return p


@frozen
class Prompt:
    """One prompt to sample for: its id, its text (a caption or a question) and its context media."""

    id: str
    text: str
    key: str  # "prompt" or "question", as the manifest line will hold it
    context: tuple[str, ...] = ()


def read_prompts(path: str | Path) -> list[Prompt]:
    """Prompts from a text file (one per line, blank lines skipped) or JSON Lines; every problem at once."""
    from .. import ingest

    path = Path(path)
    if not path.is_file():
        raise ConfigError("prompts file not found", who=str(path), fix="Check the path given to --prompts")
    if path.suffix.lower() not in (".jsonl", ".ndjson"):
        lines = path.read_text(encoding="utf-8").splitlines()
        return [Prompt(id=f"p{i:04d}", text=line.strip(), key="prompt")
                for i, line in enumerate(line for line in lines if line.strip())]
    policy = ingest.PathPolicy(path.parent, allow_outside=True, must_exist=True, base_label="the prompts file's folder",
                               missing_fix="Correct the context path (relative paths start at the prompts file's "
                                           "folder)")
    prompts: list[Prompt] = []
    problems: list[str] = []
    for row in ingest.jsonl_rows(path):
        data = row.data
        try:
            prompts.append(_prompt(data, row.index, row.where, policy))
        except ConfigError as exc:
            problems.append(str(exc))
    ids = [p.id for p in prompts]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        problems.append(f"{path}: prompt ids repeat: {', '.join(repeated[:5])}")
    if problems:
        raise ConfigError(f"{len(problems)} bad prompt line(s):\n  " + "\n  ".join(problems), who=str(path),
                          fix='Write each line as {"id": "cat", "prompt": "a red cat"} or '
                              '{"id": "q1", "question": "...", "context": "img.png"}')
    return prompts


def _prompt(data: Any, index: int, where: str, policy: Any) -> Prompt:
    if not isinstance(data, Mapping):
        raise ConfigError("a prompt line must be a JSON object", who=where, fix='Write {"prompt": "..."}')
    keys = [k for k in ("prompt", "question") if data.get(k) not in (None, "")]
    if len(keys) != 1:
        raise ConfigError("a prompt line needs exactly one of 'prompt' (a caption) or 'question'", who=where,
                          fix="Give 'prompt' for a generation task or 'question' for an understanding task")
    text = data[keys[0]]
    if not isinstance(text, str):
        raise ConfigError(f"'{keys[0]}' must be a string", who=where, fix="Write the prompt as a JSON string")
    context = data.get("context")
    items = () if context is None else (context,) if isinstance(context, str) else tuple(context)
    paths = tuple(policy.resolve(v, where=where, name="context path") for v in items)
    pid = str(data["id"]) if data.get("id") not in (None, "") else f"p{index:04d}"
    return Prompt(id=pid, text=text, key=keys[0], context=paths)


def _settings(pairs: list[str]) -> dict[str, Any]:
    from .flags import key_values

    return key_values(pairs, flag="--set", who="unireward sample", example="sample_steps=30")


def _relative(path: str, folder: Path) -> str:
    """A path relative to the manifest's folder when it lies inside it (the pair job's rule), else absolute."""
    full = Path(path).resolve()
    return str(full.relative_to(folder)) if full.is_relative_to(folder) else str(full)


def manifest_line(prompt: Prompt, candidates: list[Any], folder: Path, task: str | None) -> dict[str, Any]:
    """One pair-job manifest line for a prompt and its sampled candidates."""
    line: dict[str, Any] = {"id": prompt.id}
    if task:
        line["task"] = task
    line[prompt.key] = prompt.text
    if prompt.context:
        line["context"] = [_relative(c, folder) for c in prompt.context]
    entries = []
    for c in candidates:
        entry: dict[str, Any] = {"id": c.id}
        if c.path is not None:
            entry["path"] = _relative(c.path, folder)
        else:
            entry["text"] = c.text
        prov = c.provenance
        entry["meta"] = {**{k: v for k, v in dict(c.meta).items() if k not in ("prompt", "prompt_index")},
                         "seed": prov.seed, "policy": prov.checkpoint, **dict(prov.extra)}
        entries.append(entry)
    line["candidates"] = entries
    return line


def run(args) -> int:
    from ..alignment import load_policy

    output = Path(args.output).resolve()
    media = output.parent / f"{output.stem}-media"
    if args.n < 2:
        raise ConfigError(f"--n must be 2 or more, got {args.n}", who="unireward sample",
                          fix="A pair job compares candidates of one prompt: ask for --n 2 or more")
    if output.suffix.lower() != ".jsonl":
        raise ConfigError(f"the manifest must be a .jsonl file, got '{output.name}'", who="unireward sample",
                          fix="Give --output a name ending in .jsonl, e.g. candidates.jsonl")
    if (output.exists() or media.exists()) and not args.overwrite:
        raise ConfigError(f"{output if output.exists() else media} already exists", who="unireward sample",
                          fix="Choose another --output, or pass --overwrite to replace it")
    prompts = read_prompts(args.prompts)
    if not prompts:
        raise ConfigError("the prompts file holds no prompt", who=str(args.prompts), fix="Add one prompt per line")
    settings = _settings(args.settings)
    aligner = load_policy(args.policy, args.aligner, **settings)
    kwargs: dict[str, Any] = {"seed": args.seed}
    has_context = any(p.context for p in prompts)
    accepted = inspect.signature(aligner.sample).parameters
    if has_context:
        if "contexts" not in accepted:
            raise ConfigError(f"aligner '{aligner.name}' samples from text prompts only; the prompts have 'context'",
                              who="unireward sample", fix="Drop 'context' from the prompts, or use an aligner that "
                                                          "answers questions about media")
        kwargs["contexts"] = [list(p.context) for p in prompts]
    if "out_dir" in accepted:
        if args.overwrite and media.exists():
            import shutil

            shutil.rmtree(media)
        kwargs["out_dir"] = media
    samples = aligner.sample([p.text for p in prompts], args.n, **kwargs)
    output.parent.mkdir(parents=True, exist_ok=True)
    lines = [manifest_line(p, list(c), output.parent, args.task) for p, c in zip(prompts, samples, strict=True)]
    partial = output.with_name(output.name + ".partial")
    with partial.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(json.dumps(line, ensure_ascii=False) + "\n")
    partial.replace(output)  # never a half-written manifest under the real name
    summary = {"aligner": aligner.name, "policy": str(args.policy), "prompts": len(lines),
               "candidates": sum(len(line["candidates"]) for line in lines), "seed": args.seed,
               "manifest": str(output), "media": str(media) if media.exists() else None}
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"unireward sample: {summary['candidates']} candidates for {summary['prompts']} prompts from "
              f"{aligner.name} written to {output}" + (f" (media in {media})" if summary["media"] else ""))
        print(f"next: set manifest = \"{output}\" in a pair job config and run `unireward pairs --config ...`",
              file=sys.stderr)
    return 0
