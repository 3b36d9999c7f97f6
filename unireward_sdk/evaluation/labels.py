"""Gold-label mappings from each benchmark's published label values to the SDK's verdict labels.

The SDK compares verdicts on the labels ``"A"``, ``"B"`` and ``"tie"`` where A is the first
candidate *as the benchmark publishes the pair* (left image, ``path_A``, ``response[0]``).
Every mapping here is a pure function and raises :class:`LabelError` on a value it does not know,
so a new label value in a future release of a benchmark fails loudly instead of being miscounted.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import UniRewardError

LABELS: tuple[str, ...] = ("A", "B", "tie")
MIRROR: dict[str, str] = {"A": "B", "B": "A", "tie": "tie"}

# GenAI-Bench ``vote_type`` values.
GENAI_VOTES: tuple[str, ...] = ("leftvote", "rightvote", "tievote", "bothbad_vote")
# How a "both are bad" vote is scored. "tie": it is a tie (right only if the judge says tie), the
# convention of the UnifiedReward evaluation scripts (any vote containing "both" or "tie" is a tie) and
# of GenAI-Bench's own scorer, which accepts a plain "A=B" verdict for both tievote and bothbad_vote.
# "exclude": the item is dropped before judging and the number dropped is reported.
BOTHBAD_POLICIES: tuple[str, ...] = ("tie", "exclude")

# VideoGen-RewardBench preference columns and their values.
VIDEOGEN_DIMENSIONS: tuple[str, ...] = ("Overall", "VQ", "MQ", "TA")
VIDEOGEN_VALUES: dict[str, str] = {"A": "A", "B": "B", "same": "tie"}

# VL-RewardBench categories, and the id-prefix rule that assigns them (see vlrb_category).
VLRB_CATEGORIES: tuple[str, ...] = ("general", "hallucination", "reasoning")
# Source dataset (first token of the id, or the image folder of the GitHub release) -> category.
# This is VL-RewardBench's own grouping (its scorer maps the image folders vlfeedback and
# wildvision-battle to general; povid, rlhf-v and rlaif-v to hallucination; reasoning_tasks to reasoning).
VLRB_SOURCE_CATEGORY: dict[str, str] = {
    "rlaif": "hallucination",  # RLAIF-V-<n>
    "rlaif-v": "hallucination",
    "rlhf": "hallucination",  # RLHF-V-<n>
    "rlhf-v": "hallucination",
    "povid": "hallucination",
    "hallucination": "hallucination",  # POVID items are published with ids hallucination_pair-<n>
    "mathverse": "reasoning",
    "mmmu": "reasoning",  # mmmu_pro_<split>_<subject>_<n>
    "reasoning": "reasoning",
    "reasoning_tasks": "reasoning",
    "wildvision": "general",  # wildvision-battle-...
    "wildvision-battle": "general",
    "vlfeedback": "general",
}
# Category schemes: "benchmark" follows VL-RewardBench's grouping above (every other source is a
# VLFeedback source, i.e. general). "unifiedreward_script" reproduces the UnifiedReward evaluation
# script, which only knows the prefixes RLAIF, RLHF, mathverse, mmmu and wildvision and so counts the
# POVID items (ids hallucination_pair-<n>) as general; use it only to reproduce that script's numbers.
VLRB_CATEGORY_SCHEMES: tuple[str, ...] = ("benchmark", "unifiedreward_script")
_UR_SCRIPT_PREFIXES: dict[str, str] = {
    "RLAIF": "hallucination",
    "RLHF": "hallucination",
    "mathverse": "reasoning",
    "mmmu": "reasoning",
    "wildvision": "general",
}


# VL-RewardBench's six source datasets and the group each belongs to, as its scorer (cal.py) reports
# them. The source is read from the id's first token the way cal.py does (case-sensitive: RLAIF, RLHF,
# mathverse / mmmu, wildvision, hallucination for POVID; every other id is a VLFeedback item).
VLRB_SOURCE_GROUP: dict[str, str] = {
    "povid": "hallucination",
    "reasoning_tasks": "reasoning",
    "rlaif-v": "hallucination",
    "rlhf-v": "hallucination",
    "vlfeedback": "general",
    "wildvision-battle": "general",
}
_VLRB_PREFIX_SOURCE: dict[str, str] = {
    "RLAIF": "rlaif-v",
    "RLHF": "rlhf-v",
    "mathverse": "reasoning_tasks",
    "mmmu": "reasoning_tasks",
    "wildvision": "wildvision-battle",
    "hallucination": "povid",
}

# Names a head may give its per-dimension scores (Verdict.dimension_scores keys, lower case) that
# mean a VideoGen-RewardBench dimension. Axes with another meaning (physics, style) are not mapped.
VIDEOGEN_AXIS_ALIASES: dict[str, str] = {
    "overall": "Overall",
    "vq": "VQ", "visual_quality": "VQ",
    "mq": "MQ", "motion_quality": "MQ",
    "ta": "TA", "text_alignment": "TA", "text_to_video_alignment": "TA", "alignment": "TA",
}


class LabelError(UniRewardError, ValueError):
    """A benchmark row carries a label value the loader does not know."""


def mirror(label: str | None) -> str | None:
    """The same judgment with A and B exchanged (``None``, a failure, stays ``None``)."""
    return None if label is None else MIRROR[label]


def genai_label(vote_type: str, *, bothbad: str = "tie") -> str | None:
    """GenAI-Bench ``vote_type`` -> "A" / "B" / "tie", or ``None`` when the policy excludes the item.

    leftvote -> A, rightvote -> B, tievote -> tie, bothbad_vote -> tie (``bothbad="tie"``, default)
    or excluded (``bothbad="exclude"``).
    """
    if bothbad not in BOTHBAD_POLICIES:
        raise LabelError(f"unknown both-bad policy {bothbad!r}", fix=f"Use one of {', '.join(BOTHBAD_POLICIES)}")
    value = str(vote_type).strip()
    if value == "leftvote":
        return "A"
    if value == "rightvote":
        return "B"
    if value == "tievote":
        return "tie"
    if value == "bothbad_vote":
        return "tie" if bothbad == "tie" else None
    raise LabelError(f"unknown GenAI-Bench vote_type {vote_type!r}", fix=f"Expected one of {', '.join(GENAI_VOTES)}")


def videogen_label(value: str, *, column: str = "Overall") -> str:
    """VideoGen-RewardBench preference value (``A``, ``B``, ``same``) -> "A" / "B" / "tie"."""
    key = str(value).strip()
    if key not in VIDEOGEN_VALUES:
        raise LabelError(
            f"unknown VideoGen-RewardBench {column} value {value!r}",
            fix=f"Expected one of {', '.join(VIDEOGEN_VALUES)}",
        )
    return VIDEOGEN_VALUES[key]


def vlrb_label(human_ranking: Sequence[int]) -> str:
    """VL-RewardBench ``human_ranking`` -> "A" (response 0 preferred) or "B" (response 1 preferred).

    ``human_ranking[i]`` is the rank of ``response[i]``, 0 the best: ``[0, 1]`` means response 0 is
    preferred, ``[1, 0]`` response 1. This is how the benchmark's own scorer reads it (the rejected
    response is the one whose rank is 1) and how the UnifiedReward scripts read it
    (``human_ranking[0] == 0`` means response 0 is the answer). The benchmark has no ties.
    """
    ranks = [int(r) for r in human_ranking]
    if len(ranks) != 2:
        raise LabelError(f"human_ranking must rank exactly 2 responses, got {list(human_ranking)!r}",
                         fix="Set human_ranking to [0, 1] (response 0 preferred) or [1, 0] (response 1 preferred)")
    if ranks[0] == ranks[1]:
        raise LabelError(f"human_ranking {ranks} ranks both responses equally; VL-RewardBench has no ties",
                         fix="Set human_ranking to [0, 1] or [1, 0], or drop the row from the data")
    return "A" if ranks[0] < ranks[1] else "B"


def _id_source(item_id: str) -> str:
    """The id up to the first '_' or '-' (how the UnifiedReward script splits it)."""
    cuts = [i for i in (item_id.find("_"), item_id.find("-")) if i != -1]
    return item_id[: min(cuts)] if cuts else item_id


def vlrb_category(item_id: str, *, image_path: str | None = None, scheme: str = "benchmark") -> str:
    """The VL-RewardBench category (general / hallucination / reasoning) of one item.

    ``scheme="benchmark"``: the GitHub release's image folder (``images/<source>/...``) when given,
    else the id's first token, looked up case-insensitively in :data:`VLRB_SOURCE_CATEGORY`; unknown
    sources are VLFeedback sources, i.e. general. ``scheme="unifiedreward_script"``: the UnifiedReward
    evaluation script's rule (see :data:`VLRB_CATEGORY_SCHEMES`).
    """
    if scheme not in VLRB_CATEGORY_SCHEMES:
        raise LabelError(f"unknown VL-RewardBench category scheme {scheme!r}",
                         fix=f"Use one of {', '.join(VLRB_CATEGORY_SCHEMES)}")
    prefix = _id_source(str(item_id))
    if scheme == "unifiedreward_script":
        return _UR_SCRIPT_PREFIXES.get(prefix, "general")
    if image_path:
        parts = str(image_path).replace("\\", "/").split("/")
        if len(parts) >= 3 and parts[-3].lower() == "images":
            folder = parts[-2].lower()
            if folder in VLRB_SOURCE_CATEGORY:
                return VLRB_SOURCE_CATEGORY[folder]
    return VLRB_SOURCE_CATEGORY.get(prefix.lower(), "general")


def vlrb_source(item_id: str) -> str:
    """The VL-RewardBench source dataset of an item, read from its id as the benchmark's scorer does."""
    return _VLRB_PREFIX_SOURCE.get(_id_source(str(item_id)), "vlfeedback")


def user_label(value) -> str:
    """A user file's label: "A" / "B" / "tie" (also accepts a, b, 1, 2, same, tie, equal)."""
    key = str(value).strip().lower()
    table = {"a": "A", "1": "A", "b": "B", "2": "B", "tie": "tie", "same": "tie", "equal": "tie"}
    if key not in table:
        raise LabelError(f"unknown pairwise label {value!r}", fix="Use A, B or tie")
    return table[key]
