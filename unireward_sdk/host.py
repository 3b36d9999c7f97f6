"""The plugin host: loads built-ins and entry-point plugins defensively and collects their specs.

One broken plugin never stops the host: an import error, a bad hook signature, an unknown hook name, a
duplicate entry-point name or a hook that raises becomes a :class:`PluginFailure` record. Two providers
of one component name become a :class:`Conflict`, raised only when that name is requested (or at once
in strict mode).
"""

from __future__ import annotations

import importlib
import importlib.metadata as md
import inspect
import re
from collections.abc import Iterable, Sequence
from typing import Any

import pluggy
from attrs import field, frozen

from . import hookspecs
from .errors import PluginLoadError, did_you_mean
from .hookspecs import HOOK_KINDS, PROJECT
from .settings import PluginSettings
from .specs import SPEC_TYPES, ComponentSpec

ENTRY_POINT_GROUP = "unireward"
SDK_DISTRIBUTION = "unireward-sdk"

# Built-in plugins, one module per component, registered exactly like third-party ones.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "unireward_builtins.modalities.text",
    "unireward_builtins.modalities.image",
    "unireward_builtins.modalities.video",
    "unireward_builtins.tasks.image_generation",
    "unireward_builtins.tasks.video_generation",
    "unireward_builtins.tasks.image_understanding",
    "unireward_builtins.tasks.video_understanding",
    "unireward_builtins.backends.transformers_backend",
    "unireward_builtins.backends.openai_backend",
    "unireward_builtins.heads.generative",
    "unireward_builtins.heads.fast",
    "unireward_builtins.heads.scalar",
    "unireward_builtins.filters.pair_ranking",
    "unireward_builtins.filters.point_sifting",
    "unireward_builtins.filters.margin",
    "unireward_builtins.filters.swap_consistency",
    "unireward_builtins.aligners.diffusion_dpo",
    "unireward_builtins.aligners.video_diffusion_dpo",
    "unireward_builtins.aligners.vlm_dpo",
    "unireward_builtins.serving.command",
)


def _sdk_version() -> str:
    try:
        return md.version(SDK_DISTRIBUTION)
    except md.PackageNotFoundError:  # running from a source tree
        from . import __version__

        return __version__


@frozen
class PluginFailure:
    """A plugin that could not be used. ``phase``: discover, import, validate, register or collect."""

    plugin: str
    distribution: str | None
    version: str | None
    phase: str
    error: str

    @property
    def what(self) -> str:
        dist = f" ({self.distribution} {self.version})" if self.distribution else ""
        return f"could not load unireward plugin '{self.plugin}'{dist} during {self.phase}: {self.error}"

    @property
    def fix(self) -> str:
        if self.distribution == SDK_DISTRIBUTION:
            return "Reinstall unireward-sdk"
        if self.distribution:
            return f"Fix or uninstall {self.distribution}, or set UNIREWARD_DISABLE_PLUGINS={self.plugin}"
        return f"Fix the plugin, or set UNIREWARD_DISABLE_PLUGINS={self.plugin}"

    @property
    def message(self) -> str:
        return f"{self.what}. {self.fix}"


@frozen
class PluginInfo:
    """A loaded plugin: where it came from, which hooks it implements, what it registered."""

    name: str
    distribution: str | None
    version: str | None
    builtin: bool
    hooks: tuple[str, ...] = ()


@frozen
class Provided:
    """A component spec together with the plugin that provided it."""

    spec: ComponentSpec
    plugin: PluginInfo

    def describe(self) -> str:
        where = f"{self.plugin.distribution} {self.plugin.version}" if self.plugin.distribution else "unknown"
        return f"plugin '{self.plugin.name}' ({where})"


@frozen
class Conflict:
    """Several plugins registered the same component name for one kind."""

    kind: str
    name: str
    providers: tuple[Provided, ...] = field(converter=tuple)

    @property
    def what(self) -> str:
        who = "; ".join(p.describe() for p in self.providers)
        return f"{self.kind} '{self.name}' is provided by {len(self.providers)} plugins: {who}"

    @property
    def fix(self) -> str:
        outside = [p.plugin.name for p in self.providers if not p.plugin.builtin]
        if len(outside) == len(self.providers):
            return "Uninstall or disable all but one (UNIREWARD_DISABLE_PLUGINS=<entry point>)"
        if outside:  # the switches cannot remove a built-in, so name the plugins they can remove
            return (f"A built-in name cannot be replaced: disable {', '.join(outside)} "
                    f"(UNIREWARD_DISABLE_PLUGINS={','.join(outside)}) or give its component another name")
        return "Two built-in plugins clash: reinstall unireward-sdk"

    @property
    def message(self) -> str:
        return f"{self.what}. {self.fix}"


@frozen
class SkippedPlugin:
    """A discovered third-party plugin that the environment switches kept out."""

    plugin: str
    distribution: str | None
    version: str | None
    reason: str


class PluginHost:
    """Owns the pluggy manager and every plugin-loading policy. Build with :meth:`load`."""

    def __init__(self, settings: PluginSettings | None = None):
        self.settings = settings or PluginSettings()
        self.pm = pluggy.PluginManager(PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        self.failures: list[PluginFailure] = []
        self.skipped: list[SkippedPlugin] = []
        self._objects: dict[str, Any] = {}
        self._components: dict[str, dict[str, list[Provided]]] | None = None

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        settings: PluginSettings | None = None,
        *,
        builtins: Sequence[str] = BUILTIN_PLUGINS,
        entry_points: Iterable[md.EntryPoint] | None = None,
    ) -> PluginHost:
        """Load built-ins, then third-party entry points (``entry_points`` overrides discovery)."""
        host = cls(settings)
        for module_name in builtins:
            host._load_builtin(module_name)
        if entry_points is None:
            eps, unreadable = discover_entry_points()
            host.failures.extend(unreadable)
        else:
            eps = list(entry_points)
        host._load_entry_points(eps)
        host.components()  # collect now so strict mode can raise here
        if host.settings.strict:
            host.raise_on_problems()
        return host

    def _load_builtin(self, module_name: str) -> None:
        name = module_name.rsplit(".", 1)[-1]
        version = _sdk_version()
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 - any import failure is recorded, not raised
            self._fail(name, SDK_DISTRIBUTION, version, "import", exc)
            return
        self.register(module, name=name, distribution=SDK_DISTRIBUTION, version=version, builtin=True)

    def _load_entry_points(self, eps: list[md.EntryPoint]) -> None:
        seen: dict[str, str | None] = {}
        for ep in eps:
            dist = getattr(ep, "dist", None)
            dist_name = dist.name if dist is not None else None
            dist_version = dist.version if dist is not None else None
            if ep.name in seen or ep.name in self.plugins:
                if ep.name in seen:
                    why = f"also provided by {seen[ep.name] or 'another entry point'}; only the first was loaded"
                else:
                    taken = self.plugins[ep.name]
                    why = f"the name is taken by plugin '{ep.name}' of {taken.distribution}; rename the entry point"
                self.failures.append(
                    PluginFailure(ep.name, dist_name, dist_version, "discover",
                                  f"duplicate entry-point name '{ep.name}' ({why})")
                )
                continue
            seen[ep.name] = dist_name
            allowed, why = self.settings.allows(ep.name)
            if not allowed:
                self.skipped.append(SkippedPlugin(ep.name, dist_name, dist_version, why))
                continue
            try:
                obj = ep.load()
            except BaseException as exc:  # noqa: BLE001 - SystemExit in a plugin must not kill the host
                if isinstance(exc, KeyboardInterrupt):
                    raise
                self._fail(ep.name, dist_name, dist_version, "import", exc)
                continue
            self.register(obj, name=ep.name, distribution=dist_name, version=dist_version)

    def register(
        self,
        plugin: Any,
        *,
        name: str,
        distribution: str | None = None,
        version: str | None = None,
        builtin: bool = False,
    ) -> bool:
        """Validate and register one plugin object; record a failure instead of raising."""
        problem = self._validate(plugin)
        if problem:
            self.failures.append(PluginFailure(name, distribution, version, "validate", problem))
            return False
        try:
            self.pm.register(plugin, name=name)
        except Exception as exc:  # noqa: BLE001 - pluggy's PluginValidationError and friends
            self._fail(name, distribution, version, "register", exc)
            return False
        # pluggy's view, so @hookimpl(specname=...) functions count under the hook they implement
        hooks = tuple(sorted(c.name for c in self.pm.get_hookcallers(plugin) or () if c.name in HOOK_KINDS))
        self.plugins[name] = PluginInfo(name, distribution, version, builtin, hooks)
        self._objects[name] = plugin
        self._components = None
        return True

    def unregister(self, name: str) -> None:
        """Remove a plugin registered under ``name`` (used by temporary test plugins)."""
        obj = self._objects.pop(name, None)
        if obj is not None:
            self.pm.unregister(obj, name=name)
        self.plugins.pop(name, None)
        self.failures = [f for f in self.failures if f.plugin != name]
        self._components = None

    @staticmethod
    def _validate(plugin: Any) -> str:
        """Catch what pluggy would accept silently: misspelt hook names and unmarked hooks.

        The ``unireward_`` prefix is reserved for hooks; a marked function without it (a typo such as
        ``unirewrd_register_tasks``) is checked too, honouring ``@hookimpl(specname=...)``.
        """
        problems = []
        for attr in dir(plugin):
            try:
                value = getattr(plugin, attr, None)
            except Exception:  # noqa: BLE001 - odd descriptors on plugin objects are not hooks
                continue
            if not callable(value) or inspect.isclass(value):
                continue
            opts = getattr(value, f"{PROJECT}_impl", None)
            if opts is None and not attr.startswith("unireward_"):
                continue
            hook = (opts or {}).get("specname") or attr
            if hook not in HOOK_KINDS:
                problems.append(f"unknown hook '{hook}'.{did_you_mean(hook, HOOK_KINDS)}".rstrip())
            elif opts is None:
                problems.append(f"hook '{attr}' is not decorated with @hookimpl")
        return "; ".join(problems)

    def _fail(self, name: str, dist: str | None, version: str | None, phase: str, exc: BaseException) -> None:
        self.failures.append(PluginFailure(name, dist, version, phase, f"{type(exc).__name__}: {exc}"))

    # --- components ---------------------------------------------------------------------------

    def components(self) -> dict[str, dict[str, list[Provided]]]:
        """kind -> name -> providers, calling each plugin's hooks in isolation (cached)."""
        if self._components is not None:
            return self._components
        table: dict[str, dict[str, list[Provided]]] = {kind: {} for kind in SPEC_TYPES}
        broken: set[str] = set()
        # collecting again (after register / unregister) must not record the same broken hook twice
        self.failures = [f for f in self.failures if f.phase != "collect"]
        for hook_name, kind in HOOK_KINDS.items():
            expected = SPEC_TYPES[kind]
            for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
                info = self.plugins.get(impl.plugin_name)
                if info is None or impl.plugin_name in broken:
                    continue
                try:
                    specs = list(impl.function() or ())
                    for spec in specs:
                        if not isinstance(spec, expected):
                            raise TypeError(f"{hook_name} yielded {type(spec).__name__}, expected {expected.__name__}")
                except Exception as exc:  # noqa: BLE001 - a broken hook is recorded, not raised
                    self._fail(info.name, info.distribution, info.version, "collect", exc)
                    broken.add(info.name)
                    continue
                for spec in specs:
                    table[kind].setdefault(spec.name, []).append(Provided(spec, info))
        # a plugin that failed while collecting contributes nothing at all (no half-registered plugin)
        for kind in table:
            for name in list(table[kind]):
                table[kind][name] = [p for p in table[kind][name] if p.plugin.name not in broken]
                if not table[kind][name]:
                    del table[kind][name]
        self._components = table
        return table

    def conflicts(self) -> list[Conflict]:
        out = []
        for kind, names in self.components().items():
            for name, providers in sorted(names.items()):
                if len(_effective(kind, providers)) > 1:
                    out.append(Conflict(kind, name, providers))
        return out

    def resolve(self, kind: str, name: str) -> list[Provided]:
        """The providers of ``kind`` ``name`` after explicit template overrides are applied."""
        return _effective(kind, self.components().get(kind, {}).get(name, []))

    def raise_on_problems(self) -> None:
        problems = [f.message for f in self.failures] + [c.message for c in self.conflicts()]
        if problems:
            raise PluginLoadError("; ".join(problems), who="unireward plugin host (strict mode)",
                                  fix="Unset UNIREWARD_STRICT_PLUGINS to record these instead")


def discover_entry_points(group: str = ENTRY_POINT_GROUP) -> tuple[list[md.EntryPoint], list[PluginFailure]]:
    """The ``group`` entry points of every installed distribution, like ``importlib.metadata.entry_points``.

    Read one distribution at a time: ``entry_points()`` raises for the whole environment when a single
    distribution has a malformed ``entry_points.txt``. Such a distribution becomes a 'discover' failure
    when its file mentions ``group``; an unrelated broken distribution is not ours to report.
    """
    found: list[md.EntryPoint] = []
    failures: list[PluginFailure] = []
    seen: set[str] = set()
    for dist in md.distributions():
        try:
            name = dist.metadata["Name"]
        except Exception:  # noqa: BLE001 - unreadable METADATA: nothing to load from it
            continue
        # the first of several copies on sys.path wins, as in importlib.metadata
        key = re.sub(r"[-_.]+", "-", str(name or getattr(dist, "_normalized_name", ""))).lower()
        if key in seen:
            continue
        seen.add(key)
        try:
            found.extend(dist.entry_points.select(group=group))
        except Exception as exc:  # noqa: BLE001
            if _mentions_group(dist, group):
                failures.append(PluginFailure(f"{name} entry points", name, dist.version, "discover",
                                              f"unreadable entry_points.txt: {type(exc).__name__}: {exc}"))
    return found, failures


def _mentions_group(dist: md.Distribution, group: str) -> bool:
    path = getattr(dist, "_path", None)  # PathDistribution: read the raw bytes, whatever their encoding
    if path is None:
        return True
    try:
        raw = (path / "entry_points.txt").read_bytes()
    except OSError:
        return True
    return f"[{group}]".encode() in raw


def _effective(kind: str, providers: list[Provided]) -> list[Provided]:
    """Apply the one sanctioned way to replace a component: a template spec with ``override=True``."""
    if kind != "template" or len(providers) < 2:
        return providers
    overriding = [p for p in providers if getattr(p.spec, "override", False)]
    return overriding if len(overriding) == 1 else providers
