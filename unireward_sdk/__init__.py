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
from .heads import JudgeHeadBase  # noqa: E402
from .interfaces import (  # noqa: E402
    CAPABILITIES,
    FEATURES,
    GENERATE,
    SCORE_CONTINUATIONS,
    TRAINABLE,
    Aligner,
    Backend,
    CandidateGroup,
    ContinuationScorer,
    ContinuationScores,
    FeatureExtractor,
    Filter,
    JudgeBackend,
    JudgeRequest,
    MediaLoader,
    Modality,
    RewardHead,
    Task,
    TextGenerator,
    TrainableBackend,
    judging_mode,
    require_capabilities,
)
from .media import MediaCache, VideoSampling  # noqa: E402
from .options import REQUIRED, Option  # noqa: E402
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
    CommandSpec,
    FilterSpec,
    ModalitySpec,
    RewardHeadSpec,
    TaskSpec,
    TemplateSpec,
)

__all__ = [
    "CAPABILITIES", "FEATURES", "GENERATE", "REQUIRED", "SCORE_CONTINUATIONS", "TRAINABLE", "Aligner",
    "AlignerSpec", "Backend", "BackendSpec", "Candidate", "CandidateGroup", "CapabilityError", "CommandSpec",
    "ConfigError", "ConflictError", "ContinuationScorer", "ContinuationScores", "DroppedPrompt", "FeatureExtractor",
    "Filter", "FilterSpec", "JudgeBackend", "JudgeHeadBase", "JudgeItem", "JudgeRequest", "Media", "MediaCache",
    "MediaError", "MediaLoader", "Modality", "ModalitySpec", "Option", "ParseStatus", "Pipeline", "PluginError",
    "PluginLoadError", "PreferencePair", "Provenance", "Registry", "RewardHead", "RewardHeadSpec", "Score", "Task",
    "TaskSpec", "TemplateSpec", "TextGenerator", "TrainableBackend", "UniRewardError", "UnknownComponentError",
    "Verdict", "VideoSampling", "get_registry", "hookimpl", "judging_mode", "require_capabilities",
]
