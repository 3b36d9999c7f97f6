"""The options a user may set on the built-in judge heads (their factories' non-wiring arguments)."""

from __future__ import annotations

from unireward_sdk.judging import DISAGREEMENT_POLICIES
from unireward_sdk.options import Option

OPTIONAL_STR = (str, type(None))

JUDGE_HEAD_OPTIONS: tuple[Option, ...] = (
    Option("template", OPTIONAL_STR, default=None,
           help="template id (default: the task's default for the backend's family)"),
    Option("pointwise_template", OPTIONAL_STR, default=None, help="template id for pointwise scoring"),
    Option("batch_size", int, default=16, help="items per backend call"),
    Option("family", OPTIONAL_STR, default=None,
           help="template family for default templates when the backend does not name one"),
    Option("symmetric", bool, default=False, help="pairwise: judge A/B and B/A and combine them"),
    Option("on_disagreement", str, default="tie", choices=DISAGREEMENT_POLICIES,
           help="with symmetric: what a disagreement between the orders becomes"),
)
