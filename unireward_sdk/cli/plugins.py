"""`unireward plugins [--json] [--check]`: every plugin, its components, and every failure or conflict."""

from __future__ import annotations

import argparse
import json
from typing import Any


def add_parser(subparsers) -> argparse.ArgumentParser:
    p = subparsers.add_parser("plugins", help="list plugins, their components, failures and conflicts")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.add_argument("--check", action="store_true", help="exit 1 if any plugin failed to load or names conflict")
    return p


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


def run(args) -> int:
    from ..host import PluginHost
    from ..settings import PluginSettings

    host = PluginHost.load(PluginSettings.from_env())
    data = report(host)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        _print_text(data)
    if args.check and (data["failures"] or data["conflicts"]):
        return 1
    return 0
