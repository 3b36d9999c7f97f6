"""`unireward plugins [--json] [--check] [--options NAME]`: every plugin, its components (with what each can
do and needs), and every failure or conflict; ``--options NAME`` prints one component's option table."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("plugins", help="list plugins, their components, failures and conflicts")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--check", action="store_true", help="exit 1 if any plugin failed to load or names conflict")
    p.add_argument("--options", metavar="NAME",
                   help="print the options a component takes (a head, backend, filter, aligner... of that name)")
    return p


# what each kind of spec says about itself beyond its name (capabilities, needs, modes...)
_DETAILS: dict[str, tuple[str, ...]] = {
    "modality": ("extensions",),
    "task": ("modalities", "modes"),
    "template": ("task", "mode", "family"),
    "backend": ("families", "capabilities"),
    "reward_head": ("modes", "tasks", "needs_backend", "backend_capabilities"),
    "filter": ("needs",),
    "aligner": ("tasks", "modalities"),
    "command": (),
}


def _options(spec) -> list[dict[str, Any]] | None:
    return None if spec.options is None else [option.describe() for option in spec.options]


def component_entry(kind: str, provided) -> dict[str, Any]:
    """One component as plain data: kind, name, plugin, summary, what it can do / needs, its options."""
    spec = provided.spec
    entry: dict[str, Any] = {"kind": kind, "name": spec.name, "plugin": provided.plugin.name,
                             "summary": spec.summary, "requires": list(spec.requires)}
    for attribute in _DETAILS.get(kind, ()):
        value = getattr(spec, attribute, None)
        entry[attribute] = list(value) if isinstance(value, tuple) else value
    if kind == "reward_head":
        entry["trainable"] = spec.trainer is not None
    entry["options"] = _options(spec)
    return entry


def report(host) -> dict[str, Any]:
    """The plugin table as plain data (what --json prints)."""
    components = host.components()
    by_plugin: dict[str, dict[str, list[str]]] = {name: {} for name in host.plugins}
    for kind, names in components.items():
        for name, providers in names.items():
            for p in providers:
                by_plugin.setdefault(p.plugin.name, {}).setdefault(kind, []).append(name)
    plugins = []
    for info in host.plugins.values():
        plugins.append({
            "name": info.name,
            "distribution": info.distribution,
            "version": info.version,
            "builtin": info.builtin,
            "hooks": list(info.hooks),
            "components": {k: sorted(v) for k, v in sorted(by_plugin.get(info.name, {}).items())},
        })
    return {
        "plugins": plugins,
        "components": [component_entry(kind, p) for kind, names in sorted(components.items())
                       for _name, providers in sorted(names.items()) for p in providers],
        "failures": [
            {"entry_point": f.plugin, "distribution": f.distribution, "version": f.version,
             "phase": f.phase, "error": f.error, "message": f.message}
            for f in host.failures
        ],
        "conflicts": [
            {"kind": c.kind, "name": c.name,
             "providers": [{"plugin": p.plugin.name, "distribution": p.plugin.distribution,
                            "version": p.plugin.version} for p in c.providers],
             "message": c.message}
            for c in host.conflicts()
        ],
        "skipped": [{"entry_point": s.plugin, "distribution": s.distribution, "version": s.version,
                     "reason": s.reason} for s in host.skipped],
    }


def _print_text(data: dict[str, Any]) -> None:
    for p in data["plugins"]:
        origin = "built-in" if p["builtin"] else "third-party"
        print(f"{p['name']}  ({p['distribution']} {p['version']}, {origin})")
        print(f"    hooks: {', '.join(p['hooks']) or 'none'}")
        for kind, names in p["components"].items():
            print(f"    {kind}: {', '.join(names)}")
    if data["skipped"]:
        print("\nskipped:")
        for s in data["skipped"]:
            print(f"  {s['entry_point']} ({s['distribution']} {s['version']}): {s['reason']}")
    if data["failures"]:
        print("\nfailures:")
        for f in data["failures"]:
            print(f"  {f['entry_point']} ({f['distribution']} {f['version']}) [{f['phase']}]: {f['error']}")
    if data["conflicts"]:
        print("\nconflicts:")
        for c in data["conflicts"]:
            print(f"  {c['message']}")


def options_report(host, name: str) -> list[dict[str, Any]]:
    """Every component called ``name`` (of any kind) with its option table; refuses an unknown name."""
    from ..errors import UnknownComponentError, did_you_mean

    components = host.components()
    found = [component_entry(kind, p) for kind, names in sorted(components.items())
             for p in names.get(name, [])]
    if not found:
        known = sorted({n for kind, names in components.items() if kind != "template" for n in names})
        raise UnknownComponentError(f"no component named '{name}'.{did_you_mean(name, known)}",
                                    who="unireward plugins --options",
                                    fix=f"Name one of: {', '.join(known)}")
    return found


_KIND_LABEL = {"reward_head": "reward head"}


def _print_options(entries: list[dict[str, Any]]) -> None:
    for n, entry in enumerate(entries):
        if n:
            print()
        label = _KIND_LABEL.get(entry["kind"], entry["kind"])
        print(f"{label} '{entry['name']}' (plugin {entry['plugin']})")
        options = entry["options"]
        if options is None:
            print("  declares no option schema: options reach its factory unchecked")
            continue
        if not options:
            print("  takes no options")
            continue
        rows = [(o["name"], o["type"], "required" if o["required"] else repr(o["default"]),
                 o["help"] + (f" (one of {', '.join(map(repr, o['choices']))})" if o["choices"] else ""))
                for o in options]
        header = ("option", "type", "default", "help")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(3)]
        for row in [header, *rows]:
            print("  " + "  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])


def run(args) -> int:
    from ..host import PluginHost
    from ..settings import PluginSettings

    host = PluginHost.load(PluginSettings.from_env())
    if args.options:
        entries = options_report(host, args.options)
        if args.json:
            print(json.dumps(entries, indent=2, default=repr))
        else:
            _print_options(entries)
        return 0
    data = report(host)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_text(data)
    if args.check and (data["failures"] or data["conflicts"]):
        return 1
    return 0
