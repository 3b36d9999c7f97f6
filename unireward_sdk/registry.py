"""A typed facade over the plugin host: look components up by kind and name.

Call sites use ``registry.reward_head("generative", backend=...)`` and never touch ``pm.hook``.
Unknown names get a "did you mean"; a conflicting name raises, listing every provider.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from .errors import CapabilityError, ConflictError, UnknownComponentError, did_you_mean
from .host import Conflict, PluginHost
from .options import validate_options
from .settings import PluginSettings
from .specs import (
    AlignerSpec,
    BackendSpec,
    CommandSpec,
    ComponentSpec,
    FilterSpec,
    ModalitySpec,
    RewardHeadSpec,
    TaskSpec,
    TemplateSpec,
)

_KIND_LABEL = {
    "modality": "modality",
    "task": "task",
    "template": "template",
    "backend": "backend",
    "reward_head": "reward head",
    "filter": "filter",
    "aligner": "aligner",
    "command": "command",
}

# Arguments the SDK itself passes to a factory (the objects a component is wired to), as opposed to the
# user's options, which a declared schema validates.
WIRING: dict[str, frozenset[str]] = {
    "reward_head": frozenset({"backend", "task", "registry", "media"}),
    "filter": frozenset({"registry"}),
    "backend": frozenset({"registry"}),
    "aligner": frozenset({"registry"}),
}


class Registry:
    """Lookups per kind. Stateless components (modalities, tasks) are built once and cached."""

    def __init__(self, host: PluginHost):
        self.host = host
        self._instances: dict[tuple[str, str], tuple[ComponentSpec, Any]] = {}

    @classmethod
    def from_host(cls, host: PluginHost) -> Registry:
        return cls(host)

    @classmethod
    def from_env(cls) -> Registry:
        return cls(PluginHost.load(PluginSettings.from_env()))

    # --- generic --------------------------------------------------------------------------------

    def names(self, kind: str) -> list[str]:
        return sorted(self.host.components().get(kind, {}))

    def spec(self, kind: str, name: str) -> ComponentSpec:
        providers = self.host.resolve(kind, name)
        if not providers:
            label = _KIND_LABEL.get(kind, kind)
            known = self.names(kind)
            failed = [f.plugin for f in self.host.failures]
            hint = did_you_mean(name, known)
            extra = f" Plugins that failed to load: {', '.join(failed)} (see `unireward plugins`)." if failed else ""
            raise UnknownComponentError(
                f"no {label} named '{name}'.{hint} Known: {', '.join(known) or 'none'}.{extra}".replace("..", "."),
                fix=f"Use one of the known {label} names, or install the plugin that provides '{name}'",
            )
        if len(providers) > 1:
            conflict = Conflict(kind, name, providers)
            raise ConflictError(conflict.what, fix=conflict.fix)
        return providers[0].spec

    def create(self, kind: str, name: str, /, **kwargs: Any) -> Any:
        spec = self.spec(kind, name)
        if spec.options is not None:
            wiring = WIRING.get(kind, frozenset())
            options = {k: v for k, v in kwargs.items() if k not in wiring}
            checked = self.validate_options(kind, name, options)
            kwargs = {**{k: v for k, v in kwargs.items() if k in wiring}, **checked}
        return spec.create(**kwargs)

    def validate_options(self, kind: str, name: str, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` checked against the component's declared schema (unchanged when it declares none)."""
        spec = self.spec(kind, name)
        if spec.options is None:
            return dict(options)
        label = _KIND_LABEL.get(kind, kind)
        return validate_options(spec.options, options, who=f"{label} '{name}'")

    def _cached(self, kind: str, name: str) -> Any:
        # keyed on the spec too: a plugin registered or removed later must not leave a stale instance
        spec = self.spec(kind, name)
        cached = self._instances.get((kind, name))
        if cached is None or cached[0] is not spec:
            cached = self._instances[(kind, name)] = (spec, spec.create())
        return cached[1]

    # --- typed lookups --------------------------------------------------------------------------

    def modality_spec(self, name: str) -> ModalitySpec:
        return self.spec("modality", name)  # type: ignore[return-value]

    def modality(self, name: str) -> Any:
        return self._cached("modality", name)

    def modality_for_path(self, path: str) -> Any:
        """The modality whose declared extensions match ``path`` (case-insensitive)."""
        from pathlib import Path

        suffix = Path(path).suffix.lower()
        for name in self.names("modality"):
            providers = self.host.resolve("modality", name)
            if len(providers) == 1 and suffix in providers[0].spec.extensions:  # type: ignore[attr-defined]
                return self.modality(name)
        known = sorted({e for n in self.names("modality") for p in self.host.resolve("modality", n)
                        for e in p.spec.extensions})  # type: ignore[attr-defined]
        raise UnknownComponentError(
            f"no modality handles '{suffix or path}' files (known extensions: {', '.join(known)})",
            who=str(path),
            fix="Install a plugin that adds this modality, or convert the file",
        )

    def task_spec(self, name: str) -> TaskSpec:
        return self.spec("task", name)  # type: ignore[return-value]

    def task(self, name: str) -> Any:
        fresh = ("task", name) not in self._instances
        task = self._cached("task", name)
        if fresh and callable(getattr(task, "attach_registry", None)):
            task.attach_registry(self)  # so the task sees templates that plugins register
        return task

    def template_spec(self, template_id: str) -> TemplateSpec:
        return self.spec("template", template_id)  # type: ignore[return-value]

    def backend_spec(self, name: str) -> BackendSpec:
        return self.spec("backend", name)  # type: ignore[return-value]

    def backend(self, name: str, /, **kwargs: Any) -> Any:
        return self.create("backend", name, **kwargs)

    def reward_head_spec(self, name: str) -> RewardHeadSpec:
        return self.spec("reward_head", name)  # type: ignore[return-value]

    def reward_head(self, name: str, /, **kwargs: Any) -> Any:
        return self.create("reward_head", name, **kwargs)

    def check_head_backend(self, head: str, backend: str, options: Mapping[str, Any] | None = None) -> None:
        """Refuse a head on a backend whose spec lacks a capability the head's spec needs.

        With ``options`` (what the backend will be built with), a backend spec that has a ``probe`` is also
        asked whether an instance so configured really has them (a served judge may not), and refused,
        naming both sides, when it does not. A head declaring ``needs_backend=False`` fits any backend (it
        ignores it). Unknown names raise the usual did-you-mean error.
        """
        head_spec = self.reward_head_spec(head)
        if not head_spec.needs_backend:
            return
        backend_spec = self.backend_spec(backend)
        missing = [c for c in head_spec.backend_capabilities if not backend_spec.provides(c)]
        if missing:
            able = [name for name in self.backends_with(*head_spec.backend_capabilities) if name != backend]
            raise CapabilityError(
                f"reward head '{head}' needs a backend with {', '.join(missing)}, but backend '{backend}' "
                f"offers {', '.join(backend_spec.capabilities) or 'nothing'}",
                fix=(f"Use a backend that offers it ({', '.join(able)})" if able else
                     "Install a backend plugin that offers it") + ", or pick another head (`unireward plugins --json` "
                "lists capabilities and needs)",
            )
        if options is None or backend_spec.probe is None:
            return
        checked = self.validate_options("backend", backend, dict(options))
        absent = backend_spec.probe(tuple(head_spec.backend_capabilities), checked)
        if absent:
            reasons = "; ".join(f"{capability}: {why}" for capability, why in absent.items())
            raise CapabilityError(
                f"reward head '{head}' needs a backend with {', '.join(absent)}, and backend '{backend}' as "
                f"configured does not have it ({reasons})",
                fix=f"Point backend '{backend}' at a service that offers {', '.join(absent)}, or pick a head that "
                "does not need it (`unireward plugins --json` lists capabilities and needs)",
            )

    def backends_with(self, *capabilities: str) -> list[str]:
        """Names of the backends whose spec lists every one of ``capabilities`` (sorted; conflicting names skipped)."""
        out = []
        for name in self.names("backend"):
            providers = self.host.resolve("backend", name)
            if len(providers) == 1 and all(providers[0].spec.provides(c) for c in capabilities):  # type: ignore[attr-defined]
                out.append(name)
        return out

    def filter_spec(self, name: str) -> FilterSpec:
        return self.spec("filter", name)  # type: ignore[return-value]

    def filter(self, name: str, /, **kwargs: Any) -> Any:
        return self.create("filter", name, **kwargs)

    def aligner_spec(self, name: str) -> AlignerSpec:
        return self.spec("aligner", name)  # type: ignore[return-value]

    def aligner(self, name: str, /, **kwargs: Any) -> Any:
        return self.create("aligner", name, **kwargs)

    def command_spec(self, name: str) -> CommandSpec:
        return self.spec("command", name)  # type: ignore[return-value]


_default: Registry | None = None
_lock = threading.Lock()


def get_registry(*, refresh: bool = False) -> Registry:
    """The process-wide registry built from the environment switches (loaded once)."""
    global _default
    with _lock:
        if _default is None or refresh:
            _default = Registry.from_env()
        return _default
