"""A model reference before it loads: a local folder or a hub id, told apart, with errors that name the cause.

Every loader (judge backends, aligners' policies) calls :func:`check_reference` first, so a mistyped folder is
reported as a missing folder (not as a malformed hub id) and, with the hub's offline switch
(``HF_HUB_OFFLINE=1``), a hub id that is not in the local hub cache fails at once, without the network retries
a hub client makes. :func:`load_error` words a failure of ``from_pretrained`` itself. No torch here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path

from .errors import ModelLoadError

# the hub's own switch, and the older transformers one it also honours
OFFLINE_VARS: tuple[str, ...] = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
_TRUE = {"1", "true", "yes", "on"}
# OWNER/NAME or a bare NAME of letters, digits, '-', '_' and '.', as the hub spells repository ids
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}(/[A-Za-z0-9][\w.-]{0,95})?$")


def offline_switch(environ: Mapping[str, str] | None = None) -> str | None:
    """The name of the offline variable that is set (``HF_HUB_OFFLINE``...), or ``None`` when the hub is on."""
    env = os.environ if environ is None else environ
    return next((v for v in OFFLINE_VARS if env.get(v, "").strip().lower() in _TRUE), None)


def hub_cli() -> str:
    """The hub command line the installed ``huggingface_hub`` ships: ``hf`` (0.34 and later; the only one from
    1.0), else the older ``huggingface-cli``."""
    scripts = {ep.name for ep in metadata.entry_points(group="console_scripts")}
    if "hf" in scripts or "huggingface-cli" not in scripts:
        return "hf"
    return "huggingface-cli"


def download_command(repo_id: str) -> str:
    """The shell command that puts ``repo_id`` into the local hub cache."""
    return f"{hub_cli()} download {repo_id}"


def is_local_reference(ref: str) -> bool:
    """Whether ``ref`` names a folder rather than a hub id: it exists, starts like a path (``./``, ``../``,
    ``/``, ``~``), ends with a separator, or cannot be a hub id (more than one ``/``, spaces...)."""
    text = str(ref)
    if Path(text).expanduser().exists():
        return True
    if text.startswith((".", "/", "~")) or text.endswith(("/", os.sep)) or (os.altsep and os.altsep in text):
        return True
    return not _HUB_ID.match(text) or "--" in text or ".." in text


def in_hub_cache(repo_id: str, revision: str | None = None, filename: str = "config.json") -> bool:
    """Whether the local hub cache holds ``filename`` of ``repo_id`` (what an offline load needs first)."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - transformers depends on huggingface_hub
        return False
    try:
        found = try_to_load_from_cache(repo_id, filename, revision=revision)
    except Exception:  # noqa: BLE001 - an id the hub client refuses is simply not cached
        return False
    return isinstance(found, str)


def check_reference(ref: str, *, who: str, revision: str | None = None, filename: str = "config.json") -> None:
    """Refuse, before anything loads, a reference that cannot load: a local folder that does not exist, a
    file where a folder is needed, or a hub id that is not cached while the hub is switched off."""
    text = str(ref)
    path = Path(text).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"'{text}' is a file; a checkpoint is a folder (config, weights, processor)",
                                 who=who, fix="Pass the folder that holds the checkpoint's files")
        return
    if is_local_reference(text):
        raise ModelLoadError(
            f"local folder '{text}' does not exist (looked at {path.absolute()})", who=who,
            fix="Check the path (relative paths start at the current folder); a hub id is written OWNER/NAME",
        )
    switch = offline_switch()
    if switch and not in_hub_cache(text, revision, filename):
        raise ModelLoadError(
            f"no local folder '{text}', so it is a hub id; {switch} is set (offline: the hub is not asked) and "
            "the local hub cache does not hold it", who=who,
            fix=f"Download it once with network access (`{download_command(text)}`), or pass a local folder, "
                f"or unset {switch}",
        )


def load_error(exc: BaseException, ref: str, *, who: str, what: str = "cannot load it") -> ModelLoadError:
    """A :class:`ModelLoadError` for a ``from_pretrained`` failure that names the likely cause: the hub
    unreachable (and how to fail at once next time), or a folder missing files."""
    first = str(exc).splitlines()[0] if str(exc) else ""
    cause = f"{what} ({type(exc).__name__}: {first})" if first else f"{what} ({type(exc).__name__})"
    text = str(ref)
    if is_local_reference(text):
        fix = ("The checkpoint must ship .safetensors weights; convert pickled weights once in a trusted "
               "environment with save_pretrained(..., safe_serialization=True)"
               if "safetensors" in first.lower() else
               "Check that the folder holds the model's config and weights, its processor and tokenizer "
               "(save_pretrained of both)")
        return ModelLoadError(cause, who=who, fix=fix)
    switch = offline_switch()
    if switch:
        fix = (f"Offline ({switch} is set): the local hub cache holds only part of it. Download it with "
               f"`{download_command(text)}` while online, or pass a local folder")
    else:
        fix = (f"Check the hub id and network access; to load it offline, download it once with "
               f"`{download_command(text)}` and set HF_HUB_OFFLINE=1 (then nothing is retried over the "
               "network: a missing model fails at once)")
    return ModelLoadError(cause, who=who, fix=fix)
