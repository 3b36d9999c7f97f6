"""`unireward templates [--json | --markdown]`: every judge prompt template and the capability matrix.

``--json`` prints each template's fields with its text exactly as stored (byte for byte once decoded);
``--markdown`` prints the generated tables of ``docs/judging-templates.md``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..errors import ConfigError, ConflictError, did_you_mean

BEGIN = "<!-- BEGIN GENERATED: {name} (unireward templates --markdown) -->"
END = "<!-- END GENERATED: {name} -->"


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("templates", help="list judge prompt templates and which checkpoint family uses which")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print one JSON document")
    out.add_argument("--markdown", action="store_true", help="print the generated tables of docs/judging-templates.md")
    p.add_argument("--task", help="only this task's templates")
    p.add_argument("--family", help="only this family's templates (qwen_v1, llava_v1, v2, think, data_construction...)")
    p.add_argument("--id", dest="template_id", help="only this template")
    p.add_argument("--templates-file", action="append", default=[], metavar="FILE",
                   help="add or override templates from a TOML/JSON file (repeatable)")
    return p


def collect(registry) -> dict[str, Any]:
    """Templates (by id), capability matrix rows and conflicts, as plain data."""
    templates, conflicts = [], []
    for name in registry.names("template"):
        try:
            templates.append(registry.template_spec(name).create())
        except ConflictError as exc:
            conflicts.append({"id": name, "message": str(exc)})
    capabilities = []
    for task_name in registry.names("task"):
        task = registry.task(task_name)
        if callable(getattr(task, "capabilities", None)):
            capabilities.extend(task.capabilities())
    return {"templates": templates, "capabilities": capabilities, "conflicts": conflicts}


def _check_filters(templates, registry, args) -> None:
    """An unknown --task, --family or --id is a mistake to name, not an empty listing (exit status 2)."""
    checks = (("--task", args.task, {t.task for t in templates} | set(registry.names("task"))),
              ("--family", args.family, {t.family for t in templates}),
              ("--id", args.template_id, {t.id for t in templates}))
    for flag, value, known in checks:
        if value and value not in known:
            raise ConfigError(f"{flag} '{value}' matches no template.{did_you_mean(value, known)}",
                              fix=f"Known: {', '.join(sorted(known)) or 'none'} (`unireward templates` lists them)")


def _selected(templates, args) -> list:
    out = []
    for t in templates:
        if args.task and t.task != args.task:
            continue
        if args.family and t.family != args.family:
            continue
        if args.template_id and t.id != args.template_id:
            continue
        out.append(t)
    return out


def _capability_dict(cap) -> dict[str, Any]:
    return {"family": cap.family, "task": cap.task, "mode": cap.mode, "template": cap.template,
            "also": list(cap.also), "note": cap.note or None}


def _readout_label(t) -> str:
    if t.readout is None:
        return "none"
    return "exact" if t.readout.exact else "approx."


# --- markdown (the generated parts of docs/judging-templates.md) ---------------------------------


def capability_markdown(capabilities) -> str:
    families = list(dict.fromkeys(c.family for c in capabilities))
    cells: dict[tuple[str, str], dict[str, Any]] = {}
    notes: list[str] = []
    for c in capabilities:
        text = f"`{c.template}`" if c.template else "—"
        if c.note:
            if c.note not in notes:
                notes.append(c.note)
            text += f" [{notes.index(c.note) + 1}]"
        cells.setdefault((c.task, c.mode), {})[c.family] = text
    lines = ["| task | mode | " + " | ".join(families) + " |", "|---|---|" + "---|" * len(families)]
    for (task, mode), row in cells.items():
        lines.append(f"| {task} | {mode} | " + " | ".join(row.get(f, "—") for f in families) + " |")
    lines.append("")
    lines.extend(f"[{i}] {note}." for i, note in enumerate(notes, 1))
    also = [c for c in capabilities if c.also]
    if also:
        lines += ["", "Other templates each family can use:", ""]
        lines.extend(f"- {c.family}, {c.task}, {c.mode}: " + ", ".join(f"`{a}`" for a in c.also) for c in also)
    return "\n".join(lines)


def templates_markdown(templates) -> str:
    lines = [
        "| id | slots | media | delivery | parser | scale | max_new_tokens | fast readout |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in templates:
        scale = f"{t.score_range[0]:g}–{t.score_range[1]:g}" if t.score_range else "—"
        media = f"{t.media_count} × {t.media_kind}"
        lines.append(f"| `{t.id}` | {', '.join(t.slots)} | {media} | {t.delivery} | {t.output_format} | {scale} | "
                     f"{t.max_new_tokens} | {_readout_label(t)} |")
    notes = [(t.id, t.readout.note) for t in templates if t.readout and t.readout.note]
    missing = [(t.id, t.readout_unavailable) for t in templates if t.readout is None]
    lines += ["", "Fast-head readouts that approximate, and why:", ""]
    lines.extend(f"- `{tid}`: {note}" for tid, note in notes)
    lines += ["", "Templates without a fast-head readout:", ""]
    lines.extend(f"- `{tid}`: {why}" for tid, why in missing)
    return "\n".join(lines)


def generated_sections(registry) -> dict[str, str]:
    data = collect(registry)
    return {
        "capability matrix": capability_markdown(data["capabilities"]),
        "template table": templates_markdown(sorted(data["templates"], key=lambda t: t.id)),
    }


def _wrap(name: str, body: str) -> str:
    return f"{BEGIN.format(name=name)}\n{body}\n{END.format(name=name)}"


# --- command ---------------------------------------------------------------------------------------


def load_registry(template_files) -> Any:
    """The registry of the environment; a fresh one when template files are added to it."""
    from ..registry import Registry, get_registry
    from ..templates import register_template_file

    registry = Registry.from_env() if template_files else get_registry()
    for path in template_files:
        register_template_file(registry, path)
    return registry


def run(args) -> int:
    registry = load_registry(args.templates_file)
    if args.markdown:
        for name, body in generated_sections(registry).items():
            print(_wrap(name, body))
            print()
        return 0
    data = collect(registry)
    _check_filters(data["templates"], registry, args)
    templates = _selected(data["templates"], args)
    capabilities = [c for c in data["capabilities"]
                    if (not args.task or c.task == args.task) and (not args.family or c.family == args.family)]
    if args.json:
        doc = {
            "templates": [t.to_dict() for t in templates],
            "capabilities": [_capability_dict(c) for c in capabilities],
            "conflicts": data["conflicts"],
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for t in templates:
        print(t.id)
        print(f"  task: {t.task}   mode: {t.mode} ({t.judging_mode})   family: {t.family}")
        print(f"  slots: {', '.join(t.slots) or '-'}   media: {t.media_count} x {t.media_kind} ({t.delivery})")
        scale = f"{t.score_range[0]:g}-{t.score_range[1]:g}" if t.score_range else "-"
        print(f"  parser: {t.output_format}   scale: {scale}   max_new_tokens: {t.max_new_tokens}   "
              f"fast readout: {_readout_label(t)}")
        if t.media_prefix is not None:
            prefix = (repr(t.media_prefix.literal) if t.media_prefix.repeat == "fixed"
                      else f"{t.media_prefix.placeholder!r} per image or frame")
            print(f"  media prefix: {prefix}")
        print("  ---8<--- text")
        print(t.text)
        print("  --->8---")
        print()
    if capabilities and not args.template_id:
        print("capability matrix (default template per checkpoint family, task and mode):")
        print(capability_markdown(capabilities))
    for c in data["conflicts"]:
        print(f"conflict: {c['message']}")
    return 0
