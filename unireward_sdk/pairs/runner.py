"""Run a pair-construction job: prompts in fixed batches through the filter chain, committed batch by batch.

    from unireward_sdk.pairs import PairJob, PairJobConfig
    summary = PairJob(PairJobConfig.from_toml("job.toml")).run(resume=True)

Under ``accelerate launch`` every process takes its share of the batches not yet committed
(``PartialState.split_between_processes``) and writes its own shard; because batches are fixed slices of the
prompt list, the merged dataset equals the one a single process writes. The judge is built once per process,
with one media cache shared by pair ranking and point sifting, so every file is decoded once per job.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..errors import BackendUnavailableError, ConfigError, UniRewardError, raise_all
from ..interfaces import CandidateGroup
from ..records import Candidate, ParseStatus, to_dict
from .config import PairJobConfig
from .preflight import collect, model_problem
from .sources import ManifestSource, SamplerSource, batch_ranges, prompts_only
from .store import (FORMAT, MediaStore, PairDataset, PairStore, atomic_write, check_output, committed,
                    discard_output, prepare_output)


def import_object(spec: str) -> Any:
    """``"package.module:attribute"`` -> the attribute."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise ConfigError(f"'{spec}' is not of the form 'package.module:callable'", who="pair job",
                          fix="Write it as the module path, a colon and the callable, e.g. 'my_judges:make_judge'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"cannot import '{module_name}': {exc}", who="pair job",
                          fix=f"Install the package that provides '{module_name}' or put its folder on PYTHONPATH"
                          ) from exc
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise ConfigError(f"module '{module_name}' has no attribute '{attribute}'", who="pair job",
                          fix=f"Name a callable that '{module_name}' defines after the ':' (check the spelling)"
                          ) from None


# --- processes ------------------------------------------------------------------------------------


class _Processes:
    """Rank, world size and barriers: accelerate's PartialState when launched with several processes."""

    def __init__(self) -> None:
        self.state = None
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            import torch
            from accelerate import PartialState
            from accelerate.utils import parse_flag_from_env

            # without CUDA the processes talk over gloo (accelerate's MULTI_CPU)
            cpu = parse_flag_from_env("ACCELERATE_USE_CPU") or not torch.cuda.is_available()
            self.state = PartialState(cpu=cpu)

    @property
    def rank(self) -> int:
        return self.state.process_index if self.state else 0

    @property
    def world(self) -> int:
        return self.state.num_processes if self.state else 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.state:
            self.state.wait_for_everyone()

    @contextlib.contextmanager
    def share(self, todo: list[int]) -> Iterator[list[int]]:
        if self.state is None:
            yield todo
            return
        with self.state.split_between_processes(todo) as mine:
            yield list(mine)


# --- building the pieces --------------------------------------------------------------------------


def build_judge(config: PairJobConfig, registry: Any, media: Any = None) -> Any:
    """The reward head the filters call: a ``judge_factory`` callable, or registry backend + head."""
    if config.judge_factory:
        return import_object(config.judge_factory)(**config.head_options)
    backend = None  # a model-free head (its spec says needs_backend=False) is built without one
    if registry.reward_head_spec(config.head).needs_backend:
        backend = registry.backend(config.backend, checkpoint=config.model,
                                   **{"batch_size": config.judge_batch_size, **config.backend_options})
    kwargs: dict[str, Any] = dict(backend=backend, task=config.task, registry=registry)
    # what the user set is always passed (a head that does not take it refuses it by name); the job's
    # batching default only reaches a head that declares batching, or declares no schema at all
    kwargs.update({k: v for k, v in (("template", config.template),
                                     ("pointwise_template", config.pointwise_template)) if v is not None})
    declared = registry.reward_head_spec(config.head).options
    if declared is None or "batch_size" in {option.name for option in declared}:
        kwargs["batch_size"] = config.judge_batch_size
    if media is not None:
        kwargs["media"] = media
    return registry.reward_head(config.head, **{**kwargs, **config.head_options})


def read_manifest(config: PairJobConfig, registry: Any = None) -> ManifestSource:
    """The config's manifest, every line and file checked (all problems raised together)."""
    return ManifestSource.from_jsonl(config.manifest, config.task, allow_outside=config.allow_outside,
                                     registry=registry)


def check_n(config: PairJobConfig, manifest: ManifestSource) -> None:
    """Refuse lines whose candidate count differs from ``n`` (when ``n`` is set and no sampler fills them)."""
    wrong = [r.prompt_id for r in manifest.records if len(r.candidates) != config.n]
    if wrong:
        raise ConfigError(f"{len(wrong)} prompt(s) do not have n={config.n} candidates (e.g. '{wrong[0]}')",
                          who=config.manifest, fix="Fix the manifest, or leave n unset to use what each line has")


def build_source(config: PairJobConfig, registry: Any = None, sampler: Any = None,
                 manifest: ManifestSource | None = None) -> ManifestSource | SamplerSource:
    manifest = manifest if manifest is not None else read_manifest(config, registry)
    if sampler is None and config.sampler:
        if ":" in config.sampler:
            sampler = import_object(config.sampler)(**config.sampler_options)
        else:
            sampler = registry.aligner(config.sampler, **config.sampler_options)
    if sampler is not None:
        return SamplerSource(sampler, prompts_only(manifest), n=config.n or 10, seed=config.seed,
                             fingerprint=manifest.fingerprint)
    if config.n is not None:
        check_n(config, manifest)
    return manifest


def build_filters(config: PairJobConfig, registry: Any) -> list[Any]:
    """The config's stages, built in order (each with its options)."""
    return [registry.filter(stage.name, **stage.options) for stage in config.filters]


# --- an unreachable backend ------------------------------------------------------------------------


class _WatchedJudge:
    """The job's judge, noting every verdict and score of the current batch (whatever stage or wrapper asked),
    so the job can tell an outage from bad items: when every judgment of a batch failed because the backend
    could not be reached, the batch's prompts are not at fault and must not be recorded as dropped."""

    _JUDGING = ("judge_pairwise", "score_pointwise")

    def __init__(self, judge: Any) -> None:
        self._judge = judge
        self.results: list[Any] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._judge, name)  # a head without a mode keeps lacking it
        if name not in self._JUDGING:
            return attribute

        def judged(items: Any) -> list[Any]:
            results = list(attribute(items))
            self.results.extend(results)
            return results

        return judged

    def outage(self) -> str | None:
        """The first failure's error when every judgment since the last call failed as unreachable, else None
        (and the notes start over)."""
        results, self.results = self.results, []
        if results and all(getattr(r, "status", None) == ParseStatus.BACKEND_UNAVAILABLE for r in results):
            return str(results[0].error)
        return None


def outage_error(batch: int, prompts: range, committed_batches: int, error: str) -> BackendUnavailableError:
    """What a job stopped by an unreachable backend says: which batch, the backend's own error (it names the
    server), and how to continue."""
    kept = (f"the {committed_batches} batch(es) committed before it are kept" if committed_batches
            else "nothing was committed yet")
    return BackendUnavailableError(
        f"stopped at batch {batch} (prompts {prompts.start}-{prompts.stop - 1}): the judge's backend could not be "
        f"reached for any of its judgments ({error.rstrip('.')})", who="pair job",
        fix=f"Nothing of batch {batch} was recorded and {kept}. Once the backend answers again, run the same "
        "command with --resume (PairJob.run(resume=True)) to finish the job",
    )


# --- records ----------------------------------------------------------------------------------------


def group_row(group: CandidateGroup, *, batch: int, seed: int, media: MediaStore) -> dict[str, Any]:
    """The stored record of one prompt: its pair (media placed in the dataset) or the reason it was dropped."""
    if group.pair is None and group.dropped is None:
        raise ConfigError(f"prompt '{group.prompt_id}' left the filter chain with neither a pair nor a drop reason",
                          who="pair job", fix="End the chain with point_sifting (or a filter that makes pairs)")
    index = int(group.meta["index"])

    def place(c: Candidate) -> Candidate:
        if c.path is None:
            return c
        path, digest = media.place(c.path)
        return attrs.evolve(c, path=path, meta={**c.meta, "sha256": digest})

    row: dict[str, Any] = {"index": index, "prompt_id": group.prompt_id, "batch": batch}
    if group.pair is not None:
        pair = group.pair
        pair = attrs.evolve(
            pair, chosen=place(pair.chosen), rejected=place(pair.rejected),
            context=tuple(media.place(p)[0] for p in pair.context),
            provenance=attrs.evolve(pair.provenance, seed=seed, extra={**pair.provenance.extra, "index": index}),
        )
        row.update(kind="pair", record=to_dict(pair), scores=[to_dict(s) for s in group.scores])
    else:
        row.update(kind="dropped", record=to_dict(group.dropped))
    row["candidates"] = [{"id": c.id, "modality": c.modality, "path": c.path, "text": c.text} for c in group.candidates]
    row["ranking"] = group.meta.get("ranking")
    row["sifting"] = group.meta.get("sifting")
    return row


# --- the job --------------------------------------------------------------------------------------


class PairJob:
    """One pair-construction job. ``judge`` / ``sampler`` / ``source`` override what the config names."""

    def __init__(self, config: PairJobConfig, *, judge: Any = None, sampler: Any = None, registry: Any = None,
                 source: Any = None, filters: Sequence[Any] | None = None):
        self.config = config
        self._judge = judge
        self._sampler = sampler
        self._registry = registry
        self._source = source
        self._filters = list(filters) if filters is not None else None
        self.media_cache: Any = None
        self.timings: dict[str, float] = {}
        self.rank, self.world = 0, 1

    @property
    def registry(self) -> Any:
        if self._registry is None:
            self._registry = self.config._registry()
        return self._registry

    def meta(self, source: Any) -> dict[str, Any]:
        batches = batch_ranges(len(source), self.config.batch_size)
        return {"format": FORMAT, "fingerprint": self.config.fingerprint(source.fingerprint),
                "config": {k: v for k, v in self.config.to_dict().items() if k not in ("output", "progress")},
                "num_prompts": len(source), "batch_size": self.config.batch_size, "num_batches": len(batches),
                "media": self.config.media, "task": self.config.task}

    def judge(self) -> Any:
        if self._judge is None:
            if not self.config.judge_factory:
                from ..media import MediaCache

                self.media_cache = MediaCache(registry=self.registry)
            self._judge = build_judge(self.config, self.registry, media=self.media_cache)
        return self._judge

    def check(self, *, resume: bool = False, overwrite: bool = False) -> ManifestSource | None:
        """Check the whole input without loading a model or writing anything (see :mod:`.preflight`): the
        judge's model path or hub id, every manifest line and media file, ``n``, the output folder. Every
        problem is raised at once. Returns the manifest read (None when a ``source`` was given)."""
        cfg = self.config
        problems: list[UniRewardError] = []
        manifest = None
        if self._source is None:
            manifest = collect(problems, read_manifest, cfg, self.registry)
            if manifest is not None and cfg.n is not None and self._sampler is None and not cfg.sampler:
                collect(problems, check_n, cfg, manifest)
        if self._judge is None and not cfg.judge_factory and cfg.model is not None:
            loads = (self.registry.reward_head_spec(cfg.head).needs_backend
                     and self.registry.backend_spec(cfg.backend).loads_checkpoints)
            problem = model_problem(cfg.model) if loads else None
            if problem is not None:
                problems.append(problem)
        known = self._source if self._source is not None else manifest
        collect(problems, check_output, cfg.output, self.meta(known) if known is not None else None,
                resume=resume, overwrite=overwrite)
        raise_all(problems, who="pair job",
                  fix="Fix every problem listed, then run again (nothing was loaded or written)")
        return manifest

    def run(self, *, resume: bool = False, overwrite: bool = False, progress: bool | None = None,
            on_batch: Callable[[int, list[CandidateGroup]], None] | None = None) -> dict[str, Any]:
        """Build pairs for every prompt not yet committed; returns the dataset summary (main process).

        ``resume`` continues the dataset in the output folder (the same job only); ``overwrite`` replaces a
        dataset there with this job's. The input is checked whole first (:meth:`check`), then the judge is
        built and its templates checked; only then is the folder written, so a job that cannot start leaves
        nothing behind, and one that fails before its first commit removes the dataset it had created.
        """
        cfg = self.config
        procs = _Processes()
        self.rank, self.world = procs.rank, procs.world
        manifest = self.check(resume=resume, overwrite=overwrite)
        procs.barrier()  # every process checked the folder as it was before the main process writes to it
        source = self._source or build_source(cfg, self.registry, self._sampler, manifest=manifest)
        # the stages, the judge and its templates before anything is written: a stage or head that refuses its
        # options, a model that does not load, or a template the head cannot use leaves no folder
        filters = self._filters if self._filters is not None else build_filters(cfg, self.registry)
        judge = self.judge()
        check_templates = getattr(judge, "check_templates", None)
        if callable(check_templates):
            check_templates(cfg.pipeline.required_modes())
        root = Path(cfg.output)
        had_folder = root.is_dir()
        created = False
        if procs.is_main:
            created = prepare_output(root, self.meta(source), resume=resume, overwrite=overwrite)
        procs.barrier()
        try:
            return self._build(root, source, filters, judge, procs, progress, on_batch)
        except BaseException:
            if created and procs.world == 1:  # several processes may still be writing: leave it to --overwrite
                discard_output(root, keep_folder=had_folder)
            raise

    def _build(self, root: Path, source: Any, filters: list[Any], judge: Any, procs: _Processes,
               progress: bool | None, on_batch: Callable[[int, list[CandidateGroup]], None] | None
               ) -> dict[str, Any]:
        cfg = self.config
        batches = batch_ranges(len(source), cfg.batch_size)
        store = PairStore(root, procs.rank, media=cfg.media)  # truncates what a killed run left uncommitted
        done = set(committed(root))
        procs.barrier()  # every process has read the same commits before anyone writes new ones
        todo = [b for b in range(len(batches)) if b not in done]
        show = cfg.progress if progress is None else progress
        started = time.perf_counter()
        # the main process shows the whole job: prompts committed by an earlier run and by every process
        with _progress(show, root, batches, procs.world) as bar:
            watched = _WatchedJudge(judge)
            with store, procs.share(todo) as mine:
                for b in mine:
                    groups = source.groups(batches[b], b)
                    for stage in filters:
                        groups = stage.apply(groups, watched)
                    outage = watched.outage()
                    if outage is not None:  # not the prompts' fault: leave the batch for --resume
                        raise outage_error(b, batches[b], len(committed(root)), outage)
                    if on_batch is not None:
                        on_batch(b, groups)
                    rows = [group_row(g, batch=b, seed=cfg.seed, media=store.media) for g in groups]
                    store.commit(b, batches[b], rows)
                    bar()
            self.timings["run_s"] = time.perf_counter() - started
            procs.barrier()
            bar()
        dataset = PairDataset(root)
        summary = dataset.summary()
        if self.media_cache is not None:
            stats = self.media_cache.stats
            summary["media_cache"] = {"hits": stats.hits, "misses": stats.misses}
        if procs.is_main and dataset.complete:
            dataset.write_merged()
            atomic_write(root / "summary.json", (_json(summary) + "\n").encode())
        procs.barrier()
        return summary


def _json(data: Mapping[str, Any]) -> str:
    import json

    return json.dumps(data, indent=2, sort_keys=True)


@contextlib.contextmanager
def _progress(enabled: bool, root: Path, batches: Sequence[range], world: int) -> Iterator[Callable[[], None]]:
    """A callable that shows the prompts committed so far by every process, read from the commit files."""
    from ..progress import track

    def committed_prompts() -> int:
        return sum(len(batches[b]) for b in committed(root) if b < len(batches))

    total = sum(len(b) for b in batches)
    noun = "prompts" if world == 1 else f"prompts (all {world} processes)"
    with track("unireward pairs:", total, noun=noun, done=committed_prompts(),
               style="auto" if enabled else "off") as bar:
        yield (lambda: bar.update(committed_prompts())) if bar.style != "off" else (lambda: None)
