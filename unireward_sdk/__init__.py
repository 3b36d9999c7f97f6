"""UniReward SDK: unified multimodal reward modeling and preference alignment, as plugins.

Importing this package is cheap: torch, transformers and friends load inside component factories.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import (  # noqa: E402
    CapabilityError,
    ConfigError,
    ConflictError,
    MediaError,
    PluginError,
    PluginLoadError,
    UniRewardError,
    UnknownComponentError,
)
from .hookspecs import hookimpl  # noqa: E402
from .interfaces import CandidateGroup, JudgeRequest  # noqa: E402
from .media import MediaCache, VideoSampling  # noqa: E402
from .pipeline import Pipeline  # noqa: E402
from .records import (  # noqa: E402
    Candidate,
    DroppedPrompt,
    JudgeItem,
    Media,
    ParseStatus,
    PreferencePair,
    Provenance,
    Score,
    Verdict,
)
from .registry import Registry, get_registry  # noqa: E402
from .specs import (  # noqa: E402
    AlignerSpec,
    BackendSpec,
    FilterSpec,
    ModalitySpec,
    RewardHeadSpec,
    TaskSpec,
    TemplateSpec,
)

__all__ = [
    "AlignerSpec", "BackendSpec", "Candidate", "CandidateGroup", "CapabilityError", "ConfigError",
    "ConflictError", "DroppedPrompt", "FilterSpec", "JudgeItem", "JudgeRequest", "Media", "MediaCache", "MediaError",
    "ModalitySpec", "ParseStatus", "Pipeline", "PluginError", "PluginLoadError", "PreferencePair",
    "Provenance", "Registry", "RewardHeadSpec", "Score", "TaskSpec", "TemplateSpec", "UniRewardError",
    "UnknownComponentError", "Verdict", "VideoSampling", "get_registry", "hookimpl",
]
