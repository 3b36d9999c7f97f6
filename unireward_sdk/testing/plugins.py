"""Test helpers for plugin loading: temporary plugins, spec-only plugins, fake installed distributions.

    with temporary_plugin(spec_plugin(TaskSpec(name="my_task", factory=MyTask)), host=host):
        ...  # host.components() now includes my_task; it is gone again afterwards

    dist = fake_distribution(tmp_path, "unireward-demo", "0.1", entry_points={"demo": "demo_plugin"},
                             modules={"demo_plugin": SOURCE})
    monkeypatch.syspath_prepend(dist.path)      # importlib.metadata.entry_points() now finds it
    host = PluginHost.load(builtins=(), entry_points=dist.entry_points())

A fake distribution is a real ``*.dist-info`` folder (METADATA, entry_points.txt, top_level.txt) next to
real module files, so discovery runs through :mod:`importlib.metadata` exactly as for an installed wheel.
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import re
import sys
import textwrap
import types
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from attrs import field, frozen

from ..errors import PluginError
from ..hookspecs import HOOK_KINDS, hookimpl
from ..host import ENTRY_POINT_GROUP, PluginHost
from ..specs import ComponentSpec

_HOOK_FOR_KIND = {kind: hook for hook, kind in HOOK_KINDS.items()}


# --- plugins made in a test -----------------------------------------------------------------------


def spec_plugin(*specs: ComponentSpec, name: str = "spec_plugin") -> Any:
    """A plugin object whose hooks yield exactly ``specs`` (each under the hook for its kind).

    Every call returns a new object, so the same specs can be registered on several hosts.
    """
    plugin = types.SimpleNamespace(__name__=name)
    for kind in dict.fromkeys(spec.kind for spec in specs):
        if kind not in _HOOK_FOR_KIND:
            raise ValueError(f"no registration hook yields {kind!r} specs (known kinds: {', '.join(_HOOK_FOR_KIND)})")
        setattr(plugin, _HOOK_FOR_KIND[kind], _hook_yielding(tuple(s for s in specs if s.kind == kind)))
    return plugin


def _hook_yielding(specs: tuple[ComponentSpec, ...]):
    @hookimpl
    def hook():
        yield from specs

    return hook


def _default_name(plugin: Any) -> str:
    name = getattr(plugin, "__name__", None)
    return name if isinstance(name, str) else f"{type(plugin).__name__}-{id(plugin):x}"


@contextmanager
def temporary_plugin(
    plugin: Any,
    *,
    name: str | None = None,
    host: Any = None,
    distribution: str | None = "test",
    version: str | None = "0",
) -> Iterator[PluginHost]:
    """Register ``plugin`` (a module or object with ``@hookimpl`` functions) for the ``with`` block.

    ``host`` is a :class:`PluginHost` or a :class:`~unireward_sdk.registry.Registry` (default: the
    process-wide registry). Yields the host. A plugin the host refuses (bad hook signature, misspelt
    hook...) raises :class:`PluginError` with the host's failure message instead of being recorded.
    """
    if host is None:
        from ..registry import get_registry

        host = get_registry()
    host = getattr(host, "host", host)  # a Registry wraps its host
    name = name or _default_name(plugin)
    if name in host.plugins:
        raise PluginError(f"a plugin named '{name}' is already registered", who="temporary_plugin",
                          fix="Pass another name=")
    if not host.register(plugin, name=name, distribution=distribution, version=version):
        failure = host.failures.pop()  # leave the host as we found it
        # the failure's own fix is for installed plugins; a test plugin needs its hooks fixed
        raise PluginError(failure.what, who="temporary_plugin",
                          fix="Make the plugin's hook names and signatures match unireward_sdk.hookspecs")
    try:
        yield host
    finally:
        host.unregister(name)


# --- fake installed distributions -----------------------------------------------------------------


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@frozen
class FakeDistribution:
    """A distribution written by :func:`fake_distribution`. Put :attr:`path` on ``sys.path`` to install it."""

    name: str
    version: str
    path: Path
    dist_info: Path
    modules: tuple[str, ...] = field(converter=tuple)

    def distribution(self) -> md.Distribution:
        """The :mod:`importlib.metadata` view of this distribution, read from its folder."""
        for dist in md.distributions(path=[str(self.path)]):
            if _normalize(dist.metadata["Name"]) == _normalize(self.name):
                return dist
        raise LookupError(f"{self.name} not found in {self.path}")

    def entry_points(self, group: str = ENTRY_POINT_GROUP) -> list[md.EntryPoint]:
        """Its entry points of ``group``, each bound to the distribution (``ep.dist``), as discovery sees them."""
        return list(self.distribution().entry_points.select(group=group))

    def unload(self) -> None:
        """Forget its modules in ``sys.modules`` so the next test imports fresh copies."""
        for module in list(sys.modules):
            if any(module == m or module.startswith(m + ".") for m in self.modules):
                del sys.modules[module]


def fake_distribution(
    root: str | Path,
    name: str,
    version: str = "0.1.0",
    *,
    entry_points: Mapping[str, str] | None = None,
    modules: Mapping[str, str] | None = None,
    group: str = ENTRY_POINT_GROUP,
) -> FakeDistribution:
    """Write an installed-looking distribution into the folder ``root`` and return its handle.

    ``entry_points`` maps entry-point names to ``"module"`` or ``"module:attr"`` in ``group``;
    ``modules`` maps dotted module names to their source (dedented), parent packages are created.
    Several distributions may share one ``root``, like packages in one site-packages folder.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    modules = dict(modules or {})
    _write_modules(root, modules)

    dist_info = root / f"{re.sub(r'[-_.]+', '_', name)}-{version}.dist-info"
    dist_info.mkdir(exist_ok=True)
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\nSummary: fake distribution for tests\n",
        encoding="utf-8",
    )
    lines = [f"[{group}]"] + [f"{ep} = {target}" for ep, target in (entry_points or {}).items()]
    (dist_info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    top_level = sorted({m.split(".")[0] for m in modules})
    (dist_info / "top_level.txt").write_text("".join(t + "\n" for t in top_level), encoding="utf-8")
    # file finders cache folder listings; new files written in the same second would stay invisible
    importlib.invalidate_caches()
    return FakeDistribution(name=name, version=version, path=root, dist_info=dist_info, modules=top_level)


def _write_modules(root: Path, modules: Mapping[str, str]) -> None:
    packages = {".".join(m.split(".")[:i]) for m in modules for i in range(1, m.count(".") + 1)}
    for module in sorted(packages | set(modules)):
        parts = module.split(".")
        if module in packages:
            target = root.joinpath(*parts, "__init__.py")
        else:
            target = root.joinpath(*parts[:-1], parts[-1] + ".py")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(modules.get(module, "")), encoding="utf-8")


def unireward_entry_points(*paths: str | Path, group: str = ENTRY_POINT_GROUP) -> list[md.EntryPoint]:
    """Every ``group`` entry point of the distributions installed in ``paths``.

    Like :func:`importlib.metadata.entry_points`, a distribution name found twice counts once (the
    first wins), so two *different* distributions sharing an entry-point name both stay in the list.
    """
    found: list[md.EntryPoint] = []
    seen: set[str] = set()
    for dist in md.distributions(path=list(dict.fromkeys(str(p) for p in paths))):
        key = _normalize(dist.metadata["Name"])
        if key in seen:
            continue
        seen.add(key)
        found.extend(dist.entry_points.select(group=group))
    return found
