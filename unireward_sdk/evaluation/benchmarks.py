"""Loaders for the reward benchmarks UnifiedReward reports, and a generic pairwise format for user data.

Each loader turns published rows into :class:`BenchmarkExample` records: a pairwise
:class:`~unireward_sdk.records.JudgeItem` (A and B in the benchmark's own order), the gold label on
"A" / "B" / "tie", the published label value, and a category. Field names and label values are the
benchmarks' own (see ``docs/evaluation.md``):

=====================  =============================================  ==========================
benchmark              fields                                          gold label
=====================  =============================================  ==========================
genai-bench-image      prompt, left_image, right_image, vote_type      leftvote A, rightvote B,
genai-bench-video      prompt, left_video, right_video, vote_type      tievote tie, bothbad_vote tie
genai-bench-edit       instruct_prompt, source_image,                  as GenAI-Bench above
                       left/right_output_image, vote_type
videogen-rewardbench   prompt, path_A, path_B, Overall (+ VQ, MQ, TA)  A, B, same -> tie
vl-rewardbench         id, query, image, response[2], human_ranking    [0, 1] -> A, [1, 0] -> B
pairwise-jsonl         id, task, prompt/question, context, a, b, label  A, B, tie
=====================  =============================================  ==========================
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from attrs import field, frozen

from .. import ingest
from ..errors import ConfigError
from ..records import Candidate, JudgeItem
from . import labels as L
from .sources import MediaResolver, read_rows, rows_from_hub


@frozen
class BenchmarkExample:
    """One benchmark pair: what to judge, the gold label (on the published A/B order), and groupings.

    ``raw_label`` is the value as published (``bothbad_vote``, ``same``, ``[1, 0]``...);
    ``dimension_labels`` holds further gold labels on the same pair (VideoGen-RewardBench's VQ, MQ, TA).
    """

    item: JudgeItem
    label: str = field()
    raw_label: str = ""
    category: str | None = None
    dimension_labels: Mapping[str, str] = field(factory=dict, converter=dict, hash=False)

    @label.validator
    def _known(self, _attribute, value) -> None:
        if value not in L.LABELS:
            raise ValueError(f"gold label must be one of {L.LABELS}, got {value!r}")

    @property
    def id(self) -> str:
        return self.item.id


@frozen
class PublishedResult:
    """A number a paper reports for a judge on a benchmark, in percent, to set beside your own run."""

    judge: str
    figures: Mapping[str, float] = field(converter=dict, hash=False)
    source: str = "UnifiedReward, arXiv 2503.05236"


@frozen
class BenchmarkInfo:
    """What a benchmark is and how it is scored.

    ``kind``: ``"ties"`` (tau and diff) or ``"categories"`` (overall and macro accuracy over
    ``required_categories``). ``task`` is ``None`` when rows name their own task.
    """

    name: str
    title: str
    kind: str
    task: str | None
    hub_id: str | None = None
    hub_config: str | None = None
    hub_split: str | None = None
    required_categories: tuple[str, ...] = ()
    published: tuple[PublishedResult, ...] = ()
    notes: tuple[str, ...] = ()


@frozen
class LoadedBenchmark:
    """A loader's result: the examples, where they came from, and what was skipped and why."""

    info: BenchmarkInfo
    examples: tuple[BenchmarkExample, ...] = field(converter=tuple)
    source: str = ""
    skipped: Mapping[str, int] = field(factory=dict, converter=dict, hash=False)
    options: Mapping[str, Any] = field(factory=dict, converter=dict, hash=False)
    media_written: int = 0


# --- one loader per format -------------------------------------------------------------------------


def _require(row: Mapping[str, Any], names: Sequence[str], index: int, benchmark: str) -> None:
    missing = [n for n in names if n not in row]
    if missing:
        raise ConfigError(
            f"row {index} lacks field(s) {', '.join(missing)} (has: {', '.join(sorted(row))})",
            who=benchmark, fix=f"Check that --benchmark {benchmark} matches the data file",
        )


def _row_id(row: Mapping[str, Any], index: int, prefix: str) -> str:
    for key in ("id", "question_id", "idx"):
        if row.get(key) not in (None, ""):
            return str(row[key])
    return f"{prefix}-{index:06d}"


def _genai(modality: str) -> Callable[..., tuple[list[BenchmarkExample], dict[str, int]]]:
    left, right = f"left_{modality}", f"right_{modality}"
    task = f"{modality}_generation"
    name = f"genai-bench-{modality}"

    def convert(rows, media: MediaResolver, *, bothbad: str = "tie", **_ignored):
        examples, skipped = [], {}
        for i, row in enumerate(rows):
            _require(row, ("prompt", left, right, "vote_type"), i, name)
            label = L.genai_label(row["vote_type"], bothbad=bothbad)
            if label is None:
                skipped[str(row["vote_type"])] = skipped.get(str(row["vote_type"]), 0) + 1
                continue
            item_id = _row_id(row, i, name)
            meta = {k: row[k] for k in ("left_model", "right_model", "judge", "tstamp") if row.get(k) is not None}
            item = JudgeItem(
                id=item_id, task=task, prompt=str(row["prompt"]),
                candidates=(
                    Candidate(id=f"{item_id}:left", modality=modality, path=media(row[left], field=left, row=i)),
                    Candidate(id=f"{item_id}:right", modality=modality, path=media(row[right], field=right, row=i)),
                ),
                # "row": the row's index in the split, which GenAI-Bench's saved judge outputs call idx
                meta={"benchmark": name, "row": str(i), **{k: str(v) for k, v in meta.items()}},
            )
            examples.append(BenchmarkExample(item=item, label=label, raw_label=str(row["vote_type"])))
        return examples, skipped

    return convert


# The editing task's name in the SDK. No built-in task judges it (the UnifiedReward prompt catalogue has no
# editing prompt): a plugin that registers this task can judge the items, or saved outputs can be replayed.
IMAGE_EDITING_TASK = "image_editing"


def _genai_edit(rows, media: MediaResolver, *, bothbad: str = "tie", **_ignored):
    """GenAI-Bench image editing (config ``image_edition``): a source image, the editing instruction, two edits.

    The item's prompt is the instruction (``instruct_prompt``), its context the source image; the
    source and target captions are kept in ``meta``, as the benchmark's judge prompt also shows them.
    """
    name = "genai-bench-edit"
    fields = ("instruct_prompt", "source_image", "left_output_image", "right_output_image", "vote_type")
    examples, skipped = [], {}
    for i, row in enumerate(rows):
        _require(row, fields, i, name)
        label = L.genai_label(row["vote_type"], bothbad=bothbad)
        if label is None:
            skipped[str(row["vote_type"])] = skipped.get(str(row["vote_type"]), 0) + 1
            continue
        item_id = _row_id(row, i, name)
        meta = {k: str(row[k]) for k in ("source_prompt", "target_prompt", "left_model", "right_model")
                if row.get(k) is not None}
        item = JudgeItem(
            id=item_id, task=IMAGE_EDITING_TASK, prompt=str(row["instruct_prompt"]),
            context=(media(row["source_image"], field="source_image", row=i),),
            candidates=(
                Candidate(id=f"{item_id}:left", modality="image",
                          path=media(row["left_output_image"], field="left_output_image", row=i)),
                Candidate(id=f"{item_id}:right", modality="image",
                          path=media(row["right_output_image"], field="right_output_image", row=i)),
            ),
            meta={"benchmark": name, "row": str(i), **meta},
        )
        examples.append(BenchmarkExample(item=item, label=label, raw_label=str(row["vote_type"])))
    return examples, skipped


def _videogen(rows, media: MediaResolver, **_ignored):
    name = "videogen-rewardbench"
    examples = []
    for i, row in enumerate(rows):
        _require(row, ("prompt", "path_A", "path_B", "Overall"), i, name)
        item_id = _row_id(row, i, name)
        dims = {d: L.videogen_label(row[d], column=d) for d in L.VIDEOGEN_DIMENSIONS[1:]
                if row.get(d) not in (None, "")}
        meta = {k: str(row[k]) for k in ("A_model", "B_model") if row.get(k) not in (None, "")}
        item = JudgeItem(
            id=item_id, task="video_generation", prompt=str(row["prompt"]),
            candidates=(
                Candidate(id=f"{item_id}:A", modality="video", path=media(row["path_A"], field="path_A", row=i)),
                Candidate(id=f"{item_id}:B", modality="video", path=media(row["path_B"], field="path_B", row=i)),
            ),
            meta={"benchmark": name, **meta},
        )
        examples.append(BenchmarkExample(item=item, label=L.videogen_label(row["Overall"]),
                                         raw_label=str(row["Overall"]).strip(), dimension_labels=dims))
    return examples, {}


def _vlrb(rows, media: MediaResolver, *, category_scheme: str = "benchmark", **_ignored):
    name = "vl-rewardbench"
    examples = []
    for i, row in enumerate(rows):
        _require(row, ("id", "query", "response", "human_ranking"), i, name)
        image_field = "image" if row.get("image") is not None else "image_path"
        if row.get(image_field) is None:
            raise ConfigError(f"row {i} has neither 'image' nor 'image_path'", who=name,
                              fix="Give every row an 'image' (bytes or path) or an 'image_path' column")
        responses = list(row["response"])
        if len(responses) != 2:
            raise ConfigError(f"row {i} (id {row['id']}) has {len(responses)} responses, expected 2", who=name,
                              fix="Give the row exactly two responses, or drop it from the data")
        item_id = str(row["id"])
        image_path = row.get("image_path") if isinstance(row.get("image_path"), str) else None
        item = JudgeItem(
            id=item_id, task="image_understanding", question=str(row["query"]),
            context=(media(row[image_field], field=image_field, row=i),),
            candidates=(
                Candidate(id=f"{item_id}:0", text=str(responses[0])),
                Candidate(id=f"{item_id}:1", text=str(responses[1])),
            ),
            meta={"benchmark": name, **({"query_source": str(row["query_source"])} if row.get("query_source") else {})},
        )
        examples.append(BenchmarkExample(
            item=item, label=L.vlrb_label(row["human_ranking"]), raw_label=str(list(row["human_ranking"])),
            category=L.vlrb_category(item_id, image_path=image_path, scheme=category_scheme),
        ))
    return examples, {}


def _user_candidate(value: Any, item_id: str, side: str, media: MediaResolver, where: str, task: str,
                    registry: Any) -> Candidate:
    if isinstance(value, str):
        # the ingestion rule for a bare string: a media path by its suffix, a text only where the task takes texts
        key = ingest.bare_key(value, task=task, registry=registry, where=where, cid=f"'{side}'")
        value = {key: value}
    if not isinstance(value, Mapping):
        raise ConfigError(f"candidate '{side}' must be a string (a media path or a text) or an object", who=where,
                          fix=f'Give \'{side}\' as a string, {{"text": ...}} or {{"path": ...}}')
    if value.get("path") is not None or value.get("bytes") is not None:
        path = media(value if value.get("bytes") is not None else value["path"], field=side, row=where)
        # the media resolver placed the file; the ingestion rules give its modality and check the task takes it
        return ingest.candidate({"path": path, **({"modality": value["modality"]} if value.get("modality") else {})},
                                cid=f"{item_id}:{side}", task=task, policy=ingest.PathPolicy(allow_outside=True),
                                registry=registry, where=where)
    if value.get("text") is not None:
        return Candidate(id=f"{item_id}:{side}", text=str(value["text"]))
    raise ConfigError(f"candidate '{side}' needs 'text' or 'path'", who=where,
                      fix=f"Add a 'text' or a 'path' key to candidate '{side}'")


def _pairwise_jsonl(rows, media: MediaResolver, *, task: str | None = None, registry: Any = None, **_ignored):
    """Generic pairs: ``a``/``b`` + ``label`` (A, B, tie), or ``chosen``/``rejected`` (label A). Every row is
    checked (fields, media files, the task's modalities) and every bad row is reported at once."""
    name = "pairwise-jsonl"
    examples = []
    problems = ingest.RowProblems(name)
    for i, located in enumerate(rows):
        # rows read from a file come located (file:line, file[row i]); rows handed in are numbered
        where, row = ((located.where, located.data) if isinstance(located, ingest.Row)
                      else (f"{name} row {i}", located))
        with problems.check():
            examples.append(_pairwise_example(row, i, where, name, media, task, registry))
    problems.raise_if_any()
    return examples, {}


def _pairwise_example(row: Any, i: int, where: str, name: str, media: MediaResolver, task: str | None,
                      registry: Any) -> BenchmarkExample:
    if not isinstance(row, Mapping):
        raise ConfigError(f"expected a JSON object, got {type(row).__name__}", who=where,
                          fix='Write each row as one object, e.g. {"task": "image_generation", "prompt": "a cat", '
                              '"a": "a.png", "b": "b.png", "label": "A"}')
    row_task = row.get("task") or task
    if not row_task:
        raise ConfigError(f"row {i} names no task", who=where,
                          fix="Add a 'task' field (e.g. image_generation) or pass --task")
    if "chosen" in row and "rejected" in row:
        a_val, b_val, label = row["chosen"], row["rejected"], "A"
    else:
        _require(row, ("a", "b", "label"), i, name)
        a_val, b_val, label = row["a"], row["b"], L.user_label(row["label"])
    item_id = _row_id(row, i, name)
    context = row.get("context") or ()
    if isinstance(context, (str, Mapping)):
        context = (context,)
    item = JudgeItem(
        id=item_id, task=str(row_task), prompt=row.get("prompt"), question=row.get("question"),
        context=ingest.context_paths([media(c, field="context", row=where) for c in context],
                                     task=str(row_task), policy=ingest.PathPolicy(allow_outside=True),
                                     registry=registry, where=where),
        candidates=(_user_candidate(a_val, item_id, "a", media, where, str(row_task), registry),
                    _user_candidate(b_val, item_id, "b", media, where, str(row_task), registry)),
        meta={"benchmark": name},
    )
    return BenchmarkExample(item=item, label=label, raw_label=str(row.get("label", "chosen")),
                            category=str(row["category"]) if row.get("category") is not None else None)


# --- registry of benchmarks ------------------------------------------------------------------------

_GENAI_LEADERBOARD = "GenAI-Bench leaderboard (v1), TIGER-AI-Lab/GenAI-Bench genaibench_results.txt"
_TIE_NOTES = (
    "tau = accuracy with ties (a tie item is right only if the judge says tie); "
    "diff = accuracy over non-tie items (a judge tie there is wrong); failures are wrong in both.",
)

BENCHMARKS: dict[str, tuple[BenchmarkInfo, Callable[..., Any]]] = {
    "genai-bench-image": (BenchmarkInfo(
        name="genai-bench-image", title="GenAI-Bench (image generation)", kind="ties", task="image_generation",
        hub_id="TIGER-Lab/GenAI-Bench", hub_config="image_generation", hub_split="test_v1",
        published=(PublishedResult("UnifiedReward", {"tau": 54.8, "diff": 70.9}),
                   PublishedResult("PickScore", {"tau": 53.2, "diff": 67.2}),
                   PublishedResult("HPSv2", {"tau": 51.6, "diff": 68.4})),
        notes=_TIE_NOTES + ("bothbad_vote counts as a tie unless --bothbad exclude.",),
    ), _genai("image")),
    "genai-bench-video": (BenchmarkInfo(
        name="genai-bench-video", title="GenAI-Bench (video generation)", kind="ties", task="video_generation",
        hub_id="TIGER-Lab/GenAI-Bench", hub_config="video_generation", hub_split="test_v1",
        published=(PublishedResult("UnifiedReward", {"tau": 60.7, "diff": 77.2}),
                   PublishedResult("VideoReward", {"tau": 50.2, "diff": 73.3})),
        notes=_TIE_NOTES + ("bothbad_vote counts as a tie unless --bothbad exclude.",),
    ), _genai("video")),
    "genai-bench-edit": (BenchmarkInfo(
        name="genai-bench-edit", title="GenAI-Bench (image editing)", kind="ties", task=IMAGE_EDITING_TASK,
        hub_id="TIGER-Lab/GenAI-Bench", hub_config="image_edition", hub_split="test_v1",
        published=(PublishedResult("GPT-4o", {"accuracy": 53.54}, source=_GENAI_LEADERBOARD),
                   PublishedResult("random", {"accuracy": 25.9}, source=_GENAI_LEADERBOARD)),
        notes=_TIE_NOTES + ("bothbad_vote counts as a tie unless --bothbad exclude.",
                            "No built-in task judges image editing: judge with a plugin that registers the task "
                            "'image_editing', or replay saved judge outputs (--replay).",),
    ), _genai_edit),
    "videogen-rewardbench": (BenchmarkInfo(
        name="videogen-rewardbench", title="VideoGen-RewardBench", kind="ties", task="video_generation",
        hub_id="KwaiVGI/VideoGen-RewardBench", hub_split="eval",
        published=(PublishedResult("UnifiedReward", {"tau": 66.6, "diff": 79.3}),
                   PublishedResult("VideoReward", {"tau": 60.1, "diff": 73.9})),
        notes=_TIE_NOTES + ("Gold label: the Overall column; VQ, MQ and TA are scored against the same verdicts.",),
    ), _videogen),
    "vl-rewardbench": (BenchmarkInfo(
        name="vl-rewardbench", title="VL-RewardBench", kind="categories", task="image_understanding",
        hub_id="MMInstruction/VL-RewardBench", hub_split="test", required_categories=L.VLRB_CATEGORIES,
        published=(PublishedResult("UnifiedReward", {"accuracy": 66.1, "macro_accuracy": 66.5}),
                   PublishedResult("GPT-4o", {"accuracy": 65.8, "macro_accuracy": 62.4}),
                   PublishedResult("UnifiedReward-qwen-32b", {"accuracy": 81.5})),
        notes=("accuracy over all items; macro = mean of general, hallucination and reasoning accuracies.",
               "human_ranking[i] is the rank of response[i] (0 = preferred).",),
    ), _vlrb),
    "pairwise-jsonl": (BenchmarkInfo(
        name="pairwise-jsonl", title="Pairwise preferences (user file)", kind="ties", task=None,
        notes=_TIE_NOTES,
    ), _pairwise_jsonl),
}

_MEDIA_COLUMNS = {
    "genai-bench-image": ("left_image", "right_image"),
    "genai-bench-video": ("left_video", "right_video"),
    "genai-bench-edit": ("source_image", "left_output_image", "right_output_image"),
    "vl-rewardbench": ("image",),
}


def benchmark_names() -> list[str]:
    return list(BENCHMARKS)


def benchmark_info(name: str) -> BenchmarkInfo:
    from ..errors import UnknownComponentError, did_you_mean

    if name not in BENCHMARKS:
        raise UnknownComponentError(f"no benchmark named '{name}'.{did_you_mean(name, BENCHMARKS)} "
                                    f"Known: {', '.join(BENCHMARKS)}", fix="Use one of the known benchmark names")
    return BENCHMARKS[name][0]


def examples_from_rows(name: str, rows: Sequence[Mapping[str, Any]], media: MediaResolver,
                       **options: Any) -> tuple[list[BenchmarkExample], dict[str, int]]:
    """Convert already-read rows (e.g. from your own ``datasets`` pipeline) into examples."""
    benchmark_info(name)
    return BENCHMARKS[name][1](rows, media, **options)


def load_benchmark(
    name: str,
    data: str | Path,
    *,
    media_root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    limit: int | None = None,
    split: str | None = None,
    **options: Any,
) -> LoadedBenchmark:
    """Load a benchmark from a local file/folder, or from the hub.

    ``data`` is a local path, or ``hf`` (the benchmark's published hub id), or ``hf:<owner>/<name>``.
    Relative media paths resolve against ``media_root`` (default: the data file's folder; required for
    VideoGen-RewardBench from the hub, whose videos are a separate archive). Embedded media bytes and
    downloaded media URLs are written to ``cache_dir``. ``options``: ``bothbad`` ("tie" | "exclude") for GenAI-Bench,
    ``category_scheme`` ("benchmark" | "unifiedreward_script") for VL-RewardBench, ``task`` for
    pairwise-jsonl rows without one, ``registry`` whose modality plugins type pairwise-jsonl media files
    (default: the process registry). ``limit`` keeps the first N examples.
    """
    info = benchmark_info(name)
    text = str(data)
    if text == "hf" or text.startswith("hf:"):
        hub_id = text[3:] if text.startswith("hf:") else info.hub_id
        if not hub_id:
            raise ConfigError("this benchmark has no published hub id", who=name, fix="Pass a local file to --data")
        if media_root is None and name == "videogen-rewardbench":
            # its rows hold paths into a separate multi-gigabyte video archive: never fetch that silently
            raise ConfigError(
                "VideoGen-RewardBench rows name videos (path_A, path_B) that ship as a separate archive",
                who=name, fix="Download and extract the benchmark's videos, then pass --media-root <folder>",
            )
        rows = rows_from_hub(hub_id, config=info.hub_config, split=split or info.hub_split,
                             media_columns=_MEDIA_COLUMNS.get(name, ()))
        source = f"hf:{hub_id}" + (f" ({info.hub_config})" if info.hub_config else "")
    else:
        path = Path(text)
        # the user format's rows keep their file and line for its error messages
        rows = list(ingest.read_rows(path)) if name == "pairwise-jsonl" else read_rows(path)
        if media_root is None:
            media_root = path if path.is_dir() else path.parent
        source = str(path)
    resolver = MediaResolver(media_root, cache_dir)
    if limit is not None:
        # convert only what is kept: a limit is a quick look, so do not touch every media file
        rows = _rows_for_limit(name, rows, limit, options)
    examples, skipped = examples_from_rows(name, rows, resolver, **options)
    if limit is not None:
        examples = examples[:limit]
    return LoadedBenchmark(info=info, examples=examples, source=source, skipped=skipped,
                           options={k: v for k, v in options.items() if v is not None and k != "registry"},
                           media_written=resolver.written)


def _rows_for_limit(name: str, rows: Sequence[Mapping[str, Any]], limit: int, options: Mapping[str, Any]):
    if limit < 0:
        raise ConfigError(f"--limit must be >= 0, got {limit}",
                          fix="Pass --limit 0 or more, or leave it out to judge every row")
    if name.startswith("genai-bench") and options.get("bothbad") == "exclude":
        # excluded rows cost nothing to convert (they are dropped before their media are touched) and
        # stay counted in `skipped`: keep all of them, and the first `limit` of the others
        excluded = [r for r in rows if str(r.get("vote_type", "")).strip() == "bothbad_vote"]
        kept = [r for r in rows if str(r.get("vote_type", "")).strip() != "bothbad_vote"]
        return excluded + kept[:limit]
    return list(rows[:limit])
