"""Third-party progress bars, logging and known warnings kept off the terminal unless ``--verbose``.

The ``unireward`` entry point runs every command, plugin commands included, inside :func:`quiet_libraries`,
so a command shows only its own progress (:mod:`unireward_sdk.progress`) and results. Nothing heavy is
imported here: the environment variables the libraries read when they load are set (and restored after),
a library already loaded is switched with its own function, and one loaded later is switched as soon as its
logging module has loaded (an import hook). A variable the user set wins over ours: with
``HF_HUB_DISABLE_PROGRESS_BARS=0`` in the environment, the hub's and transformers' bars stay on.

What is silenced: the bars of huggingface_hub (downloads), transformers ("Loading weights", "Writing model
shards"), datasets ("Creating json", "Saving the dataset", "Map") and diffusers (pipeline and shard
loading); transformers', datasets' and diffusers' log records below ERROR; and the warnings in
:data:`KNOWN_WARNINGS`, which name settings the user never made. A library first loaded inside the block
stays quiet for the rest of the process.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

# variables a library reads when it loads and has no switch for afterwards -> our quiet value. The ones with
# a switch (bars, verbosity: ``SWITCHES``) are not set through the environment: a library first imported
# inside the block would read them at import and keep them after it, so the switch is applied right after
# the import instead, and undone at the end.
ENVIRONMENT = {
    "TRANSFORMERS_NO_ADVISORY_WARNINGS": "1",
}

# (category, message regex): warnings about settings the SDK makes for the user, not ones the user made
KNOWN_WARNINGS: tuple[tuple[type[Warning], str], ...] = (
    # trl's configs set gradient_checkpointing, which transformers renamed activation_checkpointing; trl also calls
    # is_gradient_checkpointing and gradient_checkpointing_enable
    (FutureWarning, r"`(is_)?gradient_checkpointing(_kwargs|_enable)?` is deprecated"),
)


class _Switch:
    """One library setting: how to read it, make it quiet and put it back; skipped when the user set ``env``."""

    def __init__(self, module: str, env: str, read: Callable[[ModuleType], Any],
                 quiet: Callable[[ModuleType], None], restore: Callable[[ModuleType, Any], None],
                 follows_hub: bool = False):
        self.module, self.env, self.read, self.quiet, self.restore = module, env, read, quiet, restore
        # the library takes its bars' first state from the hub's switch when it loads: loaded inside the block,
        # it would read the hub's bars as we turned them off and keep them off after the block
        self.follows_hub = follows_hub


def _bars(enabled: Callable[[ModuleType], bool], on: str, off: str) -> tuple[Callable, Callable, Callable]:
    def restore(m: ModuleType, was: bool) -> None:
        getattr(m, on if was else off)()

    return enabled, lambda m: getattr(m, off)(), restore


def _verbosity() -> tuple[Callable, Callable, Callable]:
    return (lambda m: m.get_verbosity(), lambda m: m.set_verbosity_error(),
            lambda m, level: m.set_verbosity(level))


SWITCHES = (
    _Switch("huggingface_hub.utils.tqdm", "HF_HUB_DISABLE_PROGRESS_BARS",
            *_bars(lambda m: not m.are_progress_bars_disabled(), "enable_progress_bars", "disable_progress_bars")),
    _Switch("transformers.utils.logging", "HF_HUB_DISABLE_PROGRESS_BARS",
            *_bars(lambda m: m.is_progress_bar_enabled(), "enable_progress_bar", "disable_progress_bar"),
            follows_hub=True),
    _Switch("transformers.utils.logging", "TRANSFORMERS_VERBOSITY", *_verbosity()),
    _Switch("datasets.utils.tqdm", "HF_DATASETS_DISABLE_PROGRESS_BARS",
            *_bars(lambda m: not m.are_progress_bars_disabled(), "enable_progress_bars", "disable_progress_bars")),
    _Switch("datasets.utils.logging", "DATASETS_VERBOSITY", *_verbosity()),
    _Switch("diffusers.utils.logging", "HF_HUB_DISABLE_PROGRESS_BARS",
            *_bars(lambda m: m.is_progress_bar_enabled(), "enable_progress_bar", "disable_progress_bar"),
            follows_hub=True),
    _Switch("diffusers.utils.logging", "DIFFUSERS_VERBOSITY", *_verbosity()),
)


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``hook(module)`` right after one of the named modules has loaded (the other finders find it)."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]):
        self.hooks = hooks

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        hook = self.hooks.get(name)
        if hook is None:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ThenHook(spec.loader, hook)
        return spec


class _ThenHook(importlib.abc.Loader):
    def __init__(self, loader: Any, hook: Callable[[ModuleType], None]):
        self.loader, self.hook = loader, hook

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        try:
            self.hook(module)
        except Exception:  # noqa: BLE001 - another version of the library: its output stays as it is
            pass

    def __getattr__(self, name: str) -> Any:  # get_source and the like, for tracebacks
        return getattr(self.loader, name)


@contextlib.contextmanager
def quiet_libraries(verbose: bool = False) -> Iterator[None]:
    """Silence library bars, logging and :data:`KNOWN_WARNINGS` inside the block; nothing when ``verbose``."""
    if verbose:
        yield
        return
    # a variable the user set is the user's choice: its switch is left alone
    user_env = {name for name in {*ENVIRONMENT, *(s.env for s in SWITCHES)} if name in os.environ}
    switches = [s for s in SWITCHES if s.env not in user_env]
    saved_env = {name: os.environ.get(name) for name in ENVIRONMENT}
    undo: list[Callable[[], None]] = []

    hub_quieted: list[bool] = []  # set once the hub's bars were turned off here

    def apply(switch: _Switch, module: ModuleType, loaded_inside: bool = False) -> None:
        try:
            before = switch.read(module)
            if loaded_inside and switch.follows_hub and hub_quieted:
                before = True  # what it would have read from the hub without us
            switch.quiet(module)
        except Exception:  # noqa: BLE001 - another version of the library: its output stays as it is
            return
        undo.append(lambda: switch.restore(module, before))
        if switch.module == "huggingface_hub.utils.tqdm":
            hub_quieted.append(True)

    def on_import(module: ModuleType) -> None:
        for switch in switches:
            if switch.module == module.__name__:
                apply(switch, module, loaded_inside=True)

    for name, value in ENVIRONMENT.items():
        if name not in user_env:
            os.environ[name] = value
    waiting: dict[str, Callable[[ModuleType], None]] = {}
    for switch in switches:
        loaded = sys.modules.get(switch.module)
        if loaded is not None:
            apply(switch, loaded)
        else:
            waiting[switch.module] = on_import
    finder = _AfterImport(waiting)
    sys.meta_path.insert(0, finder)
    try:
        with warnings.catch_warnings():
            for category, message in KNOWN_WARNINGS:
                warnings.filterwarnings("ignore", message=message, category=category)
            yield
    finally:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(finder)
        for restore in reversed(undo):
            with contextlib.suppress(Exception):
                restore()
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
