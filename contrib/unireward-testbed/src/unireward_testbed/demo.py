"""``unireward demo``: the paper's whole method on the synthetic world, on a CPU, measured against ground truth.

Stages (each timed and reported as it goes):

1. **world**: simulated annotator preferences for the four tasks (noisy labels, truth kept aside);
2. **judges**: single-task judges and a joint judge, trained on a matched budget with the SDK's judge
   trainer (quick profile: the shipped ones, trained by the build command with the full recipe; full
   profile: trained live), measured per task against the truth and against the best constant answer;
3. **image generation**: the text-to-image policy samples N candidates per training caption, the judge
   builds pairs (pair ranking then point sifting, through the SDK's pair pipeline), Diffusion-DPO trains
   the policy (stopping on held-out pairs), the pixel oracle scores it on held-out captions before and
   after, per attribute; the data-selection ablation (random pairs, pointwise only, pair ranking only,
   two-stage) trains one policy per strategy from the same candidates, and supervised fine-tuning on the
   two-stage pairs' chosen images is the baseline;
4. **video generation**: the same with the text-to-video policy and the video oracle;
5. **understanding**: the question-answering VLM samples N answers per question about images and videos,
   the judge builds pairs, DPO (trl; DPO plus an SFT term by default) trains it, the answer grader
   measures accuracy on held-out questions before and after, next to SFT on the chosen answers;
6. **report**: a results table, ``results.json``, ``results.md`` and pictures in the report folder.

Which parts are trained live and which are loaded from the shipped checkpoints is recorded in the results.
Nothing is invented: a stage that fails or is skipped says so, and every figure is what was measured.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import shutil
import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from . import stats as S

N_CANDIDATES = 10  # the paper's N
# what a run writes at the top of its report folder (removed first, so no stale picture survives a rerun)
REPORT_FILES = ("results.json", "results.md", "judge_accuracy.png", "t2i_before_after.png", "t2i_pairs.png",
                "ablation.png", "t2v_before_after.png", "t2v_pairs.png", "t2v_ablation.png", "qa_image_pairs.png",
                "qa_video_pairs.png")


@dataclass(frozen=True)
class Profile:
    """How much of everything a demo run does."""

    name: str
    summary: str
    # judges
    judge_train_per_task: int
    judge_eval_per_task: int
    judge_steps: int
    judge_batch: int = 8
    judge_lr: float = 5e-4
    judge_seeds: tuple[int, ...] = (0,)
    judge_noise: float = 0.1
    # "shipped": measure the build command's joint and single-task judges (trained with the full recipe);
    # "live": train all of them in this run with the settings above
    judges: str = "live"
    # which judge builds each task's pairs: "single" (that task's single-task judge) or "joint"; from this
    # run's stage 2 when the judges are trained live, else the shipped ones
    pair_judge: str = "single"
    # image generation
    t2i_prompts: int = 24
    t2i_eval_samples: int = 4
    t2i_seeds: tuple[int, ...] = (0,)
    t2i_strategies: tuple[str, ...] = ("random", "pointwise_only", "pair_ranking_only", "two_stage")
    t2i_options: dict[str, Any] = field(default_factory=dict)
    # the strategies whose pairs train a policy (None: all); the others' pairs only have their precision measured
    t2i_trained_strategies: tuple[str, ...] | None = None
    # video generation
    t2v_prompts: int = 16
    t2v_eval_samples: int = 2
    t2v_seeds: tuple[int, ...] = (0,)
    t2v_strategies: tuple[str, ...] = ("random", "two_stage")
    t2v_options: dict[str, Any] = field(default_factory=dict)
    t2v_trained_strategies: tuple[str, ...] | None = None
    # supervised fine-tuning on the chosen side of the two-stage pairs, next to DPO
    sft_baselines: bool = True
    # understanding
    qa_prompts: int = 24
    qa_eval: int = 48
    qa_eval_samples: int = 4
    qa_seeds: tuple[int, ...] = (0,)
    qa_options: dict[str, Any] = field(default_factory=dict)
    # how the QA pair judge's answers are read (judges.READOUTS): "verdict", the judge's own verdict and
    # score (the paper's readout), or "checks", decided from the values it wrote (judges.ChecksReadout)
    qa_readout: str = "verdict"
    n_candidates: int = N_CANDIDATES


# Diffusion-DPO for the testbed's policies, which predict the clean sample: their per-step errors are far
# larger than an ε-predicting latent model's, so the paper's β = 5000 saturates the margin within a few
# steps (the pairs are memorised). β is set so that the first steps' margin stays well below 1
# (docs/testbed.md, "Calibrating β"). No classifier-free guidance: on the oracle's perfect pairs DPO raised
# the text-to-image policy at guidance 1 and lowered it at guidance 2 (docs/testbed.md).
# DPO with an SFT term on the chosen image (sft_weight near β/4, docs/aligners.md), trained as LoRA on the
# cross-attention keys and values only. Fully fine-tuned, the policy learnt a colour *prior* from the pairs
# (red drawn 43 -> 15 times in 128 whatever the caption) and gained +0.2 to +4.9 points over three seeds;
# restricted to how the caption's tokens are read, the same pairs taught it to follow the colour word
# (+19 to +38 points of colour, +8.6, +5.1 and +4.9 points of score on seeds 0, 1 and 2; docs/testbed.md,
# "Which weights DPO trains"). Pure DPO gained as much but broke shapes the pairs do not contrast (93 -> 85%).
# The held-out pairs did not follow the oracle, so every pair is trained for the whole budget ("budget").
_T2I = {"beta": 500.0, "sft_weight": 125.0, "learning_rate": 1e-2, "batch_size": 8, "max_steps": 40,
        "lora": True, "lora_r": 8, "lora_target_modules": ("attn2.to_k", "attn2.to_v"),
        "stop_on": "budget", "sample_steps": 8, "guidance_scale": 1.0}
# the video policy draws 16-pixel frames and the video judges were trained on 32-pixel renders: clips are
# written at 32 pixels (each pixel a 2x2 block), which the judges read (on 16-pixel clips most of their
# answers failed to parse) and the aligner reduces back exactly for training
_T2V = {"beta": 50.0, "learning_rate": 3e-5, "batch_size": 4, "max_steps": 30, "sample_steps": 8,
        "guidance_scale": 1.0, "sample_upscale": 2}
# The full profile's video stage: the image recipe (DPO + SFT, LoRA r 8 at lr 1e-2, x 8 on every pair) on the
# spatial cross-attention only, for 80 steps: on the rebuilt video policy 40 steps gained +3.6 [-1.3, +8.5]
# over seeds 0-2 (one seed flat); 80 steps, chosen on those seeds, gained +7.5 [+3.9, +12.2] on fresh seeds
# 3-5 (docs/testbed.md, "Full profile"). In the video UNet ``attn2`` also names the temporal blocks'
# second self-attention, so these suffixes leave ``temp_attentions`` out. A third of the two-stage pairs
# contrast colour (half contrast direction, which the UNet cannot condition on): with 64 prompts (each
# training caption twice) colour gained +9.4, +12.5, +10.9 points on seeds 0-2 (docs/testbed.md, "Which
# weights DPO trains"). The quick profile keeps _T2V: this recipe's steps do not fit its 5 minutes.
T2V_SPATIAL_CROSS_ATTENTION = tuple(f"attentions.{i}.transformer_blocks.0.attn2.{w}" for w in ("to_k", "to_v")
                                    for i in (0, 1))
_T2V_LORA = {**_T2V, "beta": 500.0, "sft_weight": 125.0, "learning_rate": 1e-2, "batch_size": 8, "max_steps": 80,
             "lora": True, "lora_r": 8, "lora_target_modules": T2V_SPATIAL_CROSS_ATTENTION, "stop_on": "budget"}
# DPO plus an SFT term on the chosen answer: pure DPO on answers one word apart lowers the chosen answer's
# likelihood along with the rejected one's, and the testbed's policy then answers worse (docs/testbed.md)
_QA = {"beta": 0.1, "loss_type": ("sigmoid", "sft"), "learning_rate": 3e-5, "batch_size": 8,
       "gradient_accumulation_steps": 1, "max_steps": 40, "max_new_tokens": 12, "temperature": 1.0}

PROFILES: dict[str, Profile] = {
    "smoke": Profile(
        name="smoke", summary="a plumbing check in well under a minute; its numbers mean nothing",
        judge_train_per_task=8, judge_eval_per_task=6, judge_steps=2, judge_batch=4,
        t2i_prompts=2, t2i_eval_samples=1, t2i_strategies=("random", "two_stage"),
        t2i_options={**_T2I, "max_steps": 1, "sample_steps": 2, "batch_size": 2},
        t2v_prompts=2, t2v_eval_samples=1, t2v_strategies=("random", "two_stage"),
        t2v_trained_strategies=("two_stage",),
        t2v_options={**_T2V, "max_steps": 1, "sample_steps": 2, "batch_size": 2},
        qa_prompts=2, qa_eval=4, qa_eval_samples=1, qa_options={**_QA, "max_steps": 1, "batch_size": 2},
        n_candidates=4,
    ),
    "quick": Profile(
        name="quick", summary="the README's first command: 3 to 5 minutes on 2 CPU cores",
        judge_train_per_task=80, judge_eval_per_task=60, judge_steps=1200, judges="shipped",
        t2i_prompts=32, t2i_eval_samples=8, t2i_strategies=("random", "two_stage"), t2v_prompts=16,
        t2i_options=dict(_T2I), t2v_options=dict(_T2V), qa_options=dict(_QA),
        # random video pairs are built and scored (two-stage precision vs random) but not trained on: at this
        # budget the held-out loss kept DPO at step 0 on either kind of pair, so that comparison was between
        # two pretrained policies; the full profile trains every strategy
        t2v_trained_strategies=("two_stage",),
    ),
    "full": Profile(
        name="full", summary="every judge trained live with the shipped judge's recipe (1,200 steps), two judge "
                             "seeds and three seeds of every policy, for tighter intervals (about 100 minutes)",
        judge_train_per_task=400, judge_eval_per_task=100, judge_steps=1200, judge_batch=16, judge_lr=1e-3,
        judge_seeds=(0, 1),
        t2i_prompts=48, t2i_eval_samples=8, t2i_seeds=(0, 1, 2), t2i_options=dict(_T2I),
        # 12 samples per held-out video caption: at 4, sampling noise made up about two thirds of the
        # per-caption variance of the change, and most of the spread between policy seeds (docs/testbed.md)
        t2v_prompts=64, t2v_eval_samples=12, t2v_seeds=(0, 1, 2),
        t2v_strategies=("random", "pointwise_only", "pair_ranking_only", "two_stage"), t2v_options=dict(_T2V_LORA),
        qa_prompts=64, qa_eval=96, qa_eval_samples=8, qa_seeds=(0, 1, 2), qa_options=dict(_QA),
        # the live judges read the answers and the media well but compare them badly; deciding from their
        # checks took their image pairs from 63% to 94% right (docs/testbed.md, "Full profile"). The quick
        # profile keeps the judges' own verdicts: at its 24 questions this readout measured no better
        qa_readout="checks",
    ),
}


class Progress:
    """Stage-by-stage progress lines with elapsed times (rich when available)."""

    def __init__(self, total: int, quiet: bool = False):
        self.total = total
        self.index = 0
        self.started = time.monotonic()
        self.quiet = quiet
        self.stages: list[dict[str, Any]] = []
        try:
            from rich.console import Console

            self.console: Any = Console(highlight=False)
            if not self.console.is_terminal:
                # a file or a pipe has no width: rich would wrap lines and squeeze tables into columns of
                # single words at 80 characters; lines run on instead and tables get room
                self.console = Console(highlight=False, width=240, soft_wrap=True)
        except ImportError:  # pragma: no cover - rich is a core dependency
            self.console = None

    def print(self, text: str = "", style: str | None = None) -> None:
        if self.quiet:
            return
        if self.console is not None:
            self.console.print(text, style=style)
        else:
            print(text, flush=True)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def log(self, text: str) -> None:
        self.print(f"      {text}  [dim]({self.elapsed():.0f}s)[/dim]" if self.console else f"      {text}")

    @contextlib.contextmanager
    def stage(self, name: str, title: str) -> Iterator[dict[str, Any]]:
        self.index += 1
        record: dict[str, Any] = {"name": name, "title": title, "status": "running"}
        self.stages.append(record)
        self.print(f"[bold][{self.index}/{self.total}] {title}[/bold]" if self.console else f"[{self.index}/{self.total}] {title}")
        t0 = time.monotonic()
        try:
            yield record
        except Exception as exc:  # noqa: BLE001 - one failed stage is reported, the others still run
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            self.print(f"      ✗ failed: {type(exc).__name__}: {exc}", style="red")
        else:
            if record["status"] == "running":
                record["status"] = "ok"
        record["seconds"] = round(time.monotonic() - t0, 1)
        if record["status"] == "ok":
            self.print(f"      ✓ done in {record['seconds']:.0f}s (total {self.elapsed():.0f}s)", style="green")
        elif record["status"] == "skipped":
            self.print(f"      – skipped: {record.get('reason', '')}", style="yellow")

    def skip(self, name: str, title: str, reason: str) -> None:
        with self.stage(name, title) as record:
            record.update(status="skipped", reason=reason)


def _threads(requested: int | None) -> int:
    """Torch threads: as asked, else the cores (at most 4), or one when the machine is already busy (oversubscribed
    threads slow tiny models down many times over)."""
    import torch

    if requested:
        n = requested
    else:
        cores = os.cpu_count() or 1
        try:
            busy = os.getloadavg()[0] > 0.75 * cores
        except OSError:
            busy = False
        n = 1 if busy else min(cores, 4)
    torch.set_num_threads(n)
    return n


def run_demo(profile: str | Profile = "quick", out: str | Path = "demo-report", *, seed: int = 0,
             checkpoints: str | Path | None = None, threads: int | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the demo and write the report folder; returns the results (also ``results.json``)."""
    import torch

    from unireward_sdk.registry import get_registry

    from . import checkpoints as C
    from .report import write_report

    prof = PROFILES[profile] if isinstance(profile, str) else profile
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    if work.exists():  # the demo's own scratch folder: a rerun starts clean instead of resuming old jobs
        shutil.rmtree(work)
    for stale in REPORT_FILES:
        (out / stale).unlink(missing_ok=True)
    progress = Progress(total=6, quiet=quiet)
    n_threads = _threads(threads)
    progress.print(f"[bold]UniReward demo[/bold] — profile [cyan]{prof.name}[/cyan] ({prof.summary}); seed {seed}; "
                   f"{n_threads} torch thread(s); report in {out}/")
    registry = get_registry()
    results: dict[str, Any] = {
        "profile": asdict(prof), "seed": seed, "report_dir": str(out),
        "machine": {"python": platform.python_version(), "torch": torch.__version__, "threads": n_threads,
                    "cpu_count": os.cpu_count(), "cuda": torch.cuda.is_available()},
        "trained_live": [], "loaded": [], "claims": [],
    }
    ckpt = C.checkpoint_dir(checkpoints)
    manifest = C.read_manifest(ckpt)
    results["checkpoints"] = {"dir": str(ckpt), "manifest_settings": (manifest or {}).get("settings")}

    # 1. world ------------------------------------------------------------------------------------
    data: dict[str, Path] = {}
    with progress.stage("world", "World: simulated annotator preferences (noisy labels, truth kept)") as rec:
        from .judges import write_preferences

        for js in prof.judge_seeds:
            train, evals = write_preferences(work / "preferences" / f"seed{seed + js}", seed=seed + js,
                                             noise=prof.judge_noise, n_train=prof.judge_train_per_task,
                                             n_eval=prof.judge_eval_per_task)
            data[f"train{js}"], data[f"eval{js}"] = train, evals
        rec["detail"] = (f"{prof.judge_train_per_task} training records (pairwise + pointwise) and "
                         f"{prof.judge_eval_per_task} held-out pairs per task, label noise {prof.judge_noise}")
        progress.log(rec["detail"])

    # 2. judges -----------------------------------------------------------------------------------
    live_dirs: dict[str, Path] = {}  # judges trained in this run: "joint" and each task's single-task judge
    judges_title = ("Judges: joint vs single-task, trained live with the SDK's judge trainer" if prof.judges == "live"
                    else "Judges: the shipped joint and single-task judges, measured on this run's held-out pairs")
    with progress.stage("judges", judges_title) as rec:
        if "train0" not in data:
            raise RuntimeError("no preference data (the world stage failed)")
        from .judges import compare_joint_and_single, measure_shipped_judges

        per_seed = []
        if prof.judges == "live":
            base = C.require("base_vlm", ckpt)
            results["loaded"].append("base_vlm (starting point of every judge)")
            for js in prof.judge_seeds:
                per_seed.append(compare_joint_and_single(
                    data[f"train{js}"], data[f"eval{js}"], base, work / "judges" / f"seed{seed + js}",
                    steps=prof.judge_steps, batch_size=prof.judge_batch, lr=prof.judge_lr, seed=seed + js,
                    registry=registry, log=progress.log))
            live_dirs = {"joint": per_seed[0]["joint_dir"],
                         **{t: per_seed[0]["joint_dir"].parent / "single" / t for t in per_seed[0]["tasks"]}}
            results["trained_live"].append(f"{len(per_seed[0]['tasks']) + 1} judges per seed x "
                                           f"{len(prof.judge_seeds)} seed(s), {prof.judge_steps} steps each")
        else:
            for js in prof.judge_seeds:
                per_seed.append(measure_shipped_judges(ckpt, data[f"eval{js}"], seed=seed + js, registry=registry,
                                                       log=progress.log))
            results["loaded"].append("judge and judge_single/<task> (the build command's joint and single-task "
                                     "judges, 1,200 steps each)")
        results["judges"] = _judge_results(per_seed, prof, manifest)
        results["claims"] += results["judges"]["claims"]

    # which judge builds pairs: the profile's choice, from stage 2's folders or the shipped checkpoints
    pair_judges: dict[str, Path] | None = None
    try:
        pair_judges = _pair_judges(prof, live_dirs, ckpt)
        which = "each task's single-task judge" if prof.pair_judge == "single" else "the joint judge"
        where = "trained live in stage 2" if live_dirs else "shipped, trained by the build command"
        results["pair_judge"] = {"source": f"{which} ({where})", "paths": {t: str(p) for t, p in pair_judges.items()}}
    except C.CheckpointError as exc:
        results["pair_judge"] = {"source": None, "error": str(exc)}

    # 3-4. image and video generation -------------------------------------------------------------
    from . import generation

    for setting, key, checkpoint, title, seeds, strategies, trained_strategies, n_prompts, eval_samples, options in (
        (generation.IMAGE, "image_generation", "t2i_policy",
         "Image generation: sample 10 → pair ranking → point sifting → Diffusion-DPO → oracle",
         prof.t2i_seeds, prof.t2i_strategies, prof.t2i_trained_strategies, prof.t2i_prompts, prof.t2i_eval_samples,
         prof.t2i_options),
        (generation.VIDEO, "video_generation", "t2v_policy",
         "Video generation: sample 10 → pair ranking → point sifting → Diffusion-DPO (video) → oracle",
         prof.t2v_seeds, prof.t2v_strategies, prof.t2v_trained_strategies, prof.t2v_prompts, prof.t2v_eval_samples,
         prof.t2v_options),
    ):
        with progress.stage(key, title):
            if pair_judges is None:
                raise RuntimeError(results["pair_judge"].get("error", "no judge to build pairs"))
            from .judges import pair_head

            policy = C.require(checkpoint, ckpt)
            results["loaded"].append(f"{checkpoint} (pretrained {setting.label} UNet)")
            run_seeds = [seed + s for s in seeds]
            gen = generation.run(setting=setting, policy=policy,
                                 judge=pair_head(pair_judges[setting.task], setting.task, registry=registry),
                                 out_dir=work / key, seeds=run_seeds, strategies=strategies, n_prompts=n_prompts,
                                 n_candidates=prof.n_candidates, eval_samples=eval_samples,
                                 aligner_options=options, registry=registry, sft_baseline=prof.sft_baselines,
                                 trained_strategies=trained_strategies, log=progress.log)
            results[key] = _generation_results(gen, run_seeds, strategies, setting)
            trained = len([r for r in gen["runs"].values() if r.get("after") is not None])
            from .report import SHORT_STRATEGY_LABELS

            on = [SHORT_STRATEGY_LABELS.get(s, s) for s in strategies
                  if trained_strategies is None or s in trained_strategies]
            results["trained_live"].append(f"{setting.label}: {trained} policies (Diffusion-DPO on {', '.join(on)} "
                                           f"pairs{', the SFT baseline' if prof.sft_baselines else ''}, "
                                           f"{len(seeds)} seed(s))")
            results["claims"] += results[key]["claims"]

    # 5. understanding ----------------------------------------------------------------------------
    with progress.stage("understanding",
                        "Image & video understanding: sample 10 answers → pairs → DPO (trl) → answer accuracy") as rec:
        if pair_judges is None:
            raise RuntimeError(results["pair_judge"].get("error", "no judge to build pairs"))
        from . import understanding
        from .judges import pair_head

        policy = C.require("qa_policy", ckpt)
        results["loaded"].append("qa_policy (question-answering VLM fine-tuned on noisy answers)")
        qa_seeds = [seed + s for s in prof.qa_seeds]
        und = understanding.run(policy=policy,
                                judge_for=lambda t: pair_head(pair_judges[t], t, registry=registry,
                                                              readout=prof.qa_readout),
                                out_dir=work / "understanding", seed=seed, seeds=qa_seeds, n_prompts=prof.qa_prompts,
                                n_candidates=prof.n_candidates, n_eval=prof.qa_eval,
                                eval_samples=prof.qa_eval_samples, aligner_options=prof.qa_options,
                                registry=registry, sft_baseline=prof.sft_baselines, log=progress.log)
        results["understanding"] = {**_understanding_results(und), "readout": prof.qa_readout}
        trained = [run["pairs_trained"] for run in und["runs"].values() if "train" in run]
        if trained:
            results["trained_live"].append(
                f"DPO (trl, objective {und['objective']}): the question-answering policy, {len(trained)} seed(s), "
                f"on {', '.join(map(str, trained))} pairs" + (", and the SFT baseline on their chosen answers"
                                                               if prof.sft_baselines else ""))
        results["claims"] += results["understanding"]["claims"]

    # 6. report -----------------------------------------------------------------------------------
    results["stages"] = progress.stages
    with progress.stage("report", "Report: results table, results.json, results.md, pictures"):
        results["elapsed_seconds"] = round(progress.elapsed(), 1)
        paths = write_report(results, out)
        results["files"] = {k: str(v) for k, v in paths.items()}
    results["elapsed_seconds"] = round(progress.elapsed(), 1)
    (out / "results.json").write_text(json.dumps(_jsonable(results), indent=2) + "\n")
    if not quiet:
        from .report import print_summary

        print_summary(results, progress)
    return results


def _pair_judges(prof: Profile, live_dirs: dict[str, Path], ckpt: Path) -> dict[str, Path]:
    """The judge folder that builds each task's pairs."""
    from . import checkpoints as C
    from .preferences import TASKS

    if live_dirs:
        return {t: live_dirs["joint" if prof.pair_judge == "joint" else t] for t in TASKS}
    if prof.pair_judge == "joint":
        joint = C.require("judge", ckpt)
        return {t: joint for t in TASKS}
    return {t: C.require(f"judge_single/{t}", ckpt) for t in TASKS}


# --- turning measurements into figures ----------------------------------------------------------


def _judge_results(per_seed: list[dict[str, Any]], prof: Profile, manifest: dict | None) -> dict[str, Any]:
    from .judges import VERDICT_KINDS

    tasks = per_seed[0]["tasks"]
    live = prof.judges == "live"
    out: dict[str, Any] = {
        "source": "trained live" if live else "shipped (trained by `unireward testbed build`)",
        "ci": ("95% percentile bootstrap over held-out pairs" if len(per_seed) == 1 else
               f"95% two-level bootstrap over {len(per_seed)} seeds and held-out pairs"),
        "steps": prof.judge_steps if live else ((manifest or {}).get("settings", {}).get("judge", {}).get("steps")),
        "batch_size": prof.judge_batch if live else ((manifest or {}).get("settings", {}).get("judge", {})
                                                     .get("batch_size")),
        "chance": "the best constant answer: the share of the truth's most common label on the same pairs",
        "tasks": {}, "claims": [],
        "trainer_reports": [str(p["joint_dir"].parent / "ablation.md") for p in per_seed if p.get("joint_dir")],
    }
    for task in tasks:
        joint = [[float(x) for x in p["judged"]["joint"][task]["correct"]] for p in per_seed]
        single = [[float(x) for x in p["judged"][task][task]["correct"]] for p in per_seed]
        chance = [[float(x) for x in p["judged"]["joint"][task]["constant_correct"]] for p in per_seed]
        row = {"joint": S.mean_ci(joint), "single": S.mean_ci(single), "chance": S.mean_ci(chance),
               "delta": S.delta_ci(joint, single), "joint_vs_chance": S.delta_ci(joint, chance),
               "single_vs_chance": S.delta_ci(single, chance)}
        # summed over seeds: what each judge answered, to tell a judge that learned nothing from a wrong one
        row["verdicts"] = {name: {k: sum(p["judged"][src][task]["verdicts"][k] for p in per_seed)
                                  for k in VERDICT_KINDS}
                           for name, src in (("joint", "joint"), ("single", task))}
        n = sum(row["verdicts"]["joint"].values())
        row["unparsed_share"] = {name: (mix["failed"] / sum(mix.values()) if sum(mix.values()) else None)
                                 for name, mix in row["verdicts"].items()}
        if live:
            trainer = [p["report"].row(task) for p in per_seed]
            row["trainer_accuracy"] = {"joint": [r.joint.accuracy if r.joint else None for r in trainer],
                                       "single": [r.single.accuracy if r.single else None for r in trainer]}
        row["n"] = n
        out["tasks"][task] = row
        out["claims"].append(S.claim(f"the single-task judge beats the best constant answer on {task}",
                                     row["single_vs_chance"], ci_kind=out["ci"]))
        out["claims"].append(S.claim(f"the joint judge beats the best constant answer on {task}",
                                     row["joint_vs_chance"], ci_kind=out["ci"]))
    for task in tasks:
        out["claims"].append(S.claim(f"joint judge > single-task judge on {task}", out["tasks"][task]["delta"],
                                     ci_kind=out["ci"]))
    return out


def _generation_results(gen: dict[str, Any], seeds: list[int], strategies: tuple[str, ...],
                        setting: Any) -> dict[str, Any]:
    from .generation import SFT

    before = [gen["before"]["per_prompt"]]
    label = setting.label
    out: dict[str, Any] = {
        "metric": ("oracle score (mean of the attribute matches, 0-100): "
                   + ("colour, shape, position and count" if setting.task == "image_generation"
                      else "colour, shape and direction of motion")),
        "ci": ("95% percentile bootstrap over held-out captions" if len(seeds) == 1 else
               f"95% two-level bootstrap over {len(seeds)} seeds and held-out captions"),
        "eval": (f"{gen['eval_captions']} held-out captions (no pair was built from them) x {gen['eval_samples']} "
                 f"samples, fixed sampling seeds; pairs from the other {gen['train_captions']} captions"),
        "before": {**S.mean_ci(before), "attributes": gen["before"]["attributes"]},
        "beta": gen.get("beta"), "max_steps": gen.get("max_steps"), "stop_on": gen.get("stop_on"),
        "objective": gen.get("objective"), "update": gen.get("update"),
        "strategies": {}, "claims": [], "candidates": gen.get("candidates", {}),
        "runs": {k: {kk: vv for kk, vv in v.items() if kk != "after"} for k, v in gen["runs"].items()},
    }
    after: dict[str, list[list[float]]] = {}
    names = list(strategies) + ([SFT] if any(k.startswith(f"{SFT}/") for k in gen["runs"]) else [])
    for name in names:
        runs = [gen["runs"][f"{name}/{s}"] for s in seeds]
        answers = _summed_answers(runs)
        if any(r["after"] is None for r in runs):
            out["strategies"][name] = {"status": f"not trained ({runs[0].get('note', 'no pairs kept')})",
                                       "pairs": [r["pairs"] for r in runs], "judge_answers": answers}
            continue
        after[name] = [r["after"]["per_prompt"] for r in runs]
        agreement = [r["agreement"] for r in runs]
        out["strategies"][name] = {
            "objective": runs[0]["objective"],
            "after": S.mean_ci(after[name]),
            "vs_before": S.delta_ci(after[name], before * len(seeds)),
            "attributes": [r["after"]["attributes"] for r in runs],
            "attribute_deltas": {a: S.delta_ci([r["after"]["per_attribute"][a] for r in runs],
                                               [gen["before"]["per_attribute"][a]] * len(seeds))
                                 for a in gen["before"]["per_attribute"]},
            "pairs": [r["pairs"] for r in runs],
            "pair_precision": [a["precision"] for a in agreement],
            "agreement": agreement,
            "stopped": [{"kept_step": r["train"]["kept_step"], "steps_run": r["train"]["steps_run"]} for r in runs],
            "judge_answers": answers,
        }
    if all(f"two_stage/{s}" in gen["runs"] for s in seeds) and "by_value" in gen["before"]:
        out["by_caption_value"] = _by_caption_value(gen, seeds)
    # pair precision: how often the oracle says the chosen side is better, per strategy, over seeds
    precision = {name: [float(x) for r in (gen["runs"][f"{name}/{s}"] for s in seeds)
                        for x in r["agreement"].get("flags", [])] for name in strategies}
    out["pair_precision"] = {name: (S.mean_ci([flags]) if flags else None) for name, flags in precision.items()}
    if "two_stage" in after:
        first = gen["runs"][f"two_stage/{seeds[0]}"]
        out["pair_dir"] = first["pair_dir"]
        out["pictures"] = {"before": [p[0] for p in gen["before"]["paths"]],
                           "after": [p[0] for p in first["after"]["paths"]], "captions": gen["before"]["captions"]}
        main = out["strategies"]["two_stage"]
        out["method"] = {"before": out["before"], "after": main["after"], "delta": main["vs_before"],
                         "attribute_deltas": main["attribute_deltas"]}
        # the objective is named in the claim: DPO with an SFT term is not pure Diffusion-DPO
        method = "Diffusion-DPO" if main["objective"] == "dpo" else "Diffusion-DPO with an SFT term"
        out["claims"].append(S.claim(f"{method} on two-stage pairs improves the {label} policy",
                                     main["vs_before"], ci_kind=out["ci"]))
        if SFT in after:
            out["method"]["sft"] = out["strategies"][SFT]
            out["claims"].append(S.claim(f"{label}: {method} > supervised fine-tuning on the same pairs' chosen side",
                                         S.delta_ci(after["two_stage"], after[SFT]), ci_kind=out["ci"]))
        for other in ("random", "pointwise_only", "pair_ranking_only"):
            if other in after:
                out["claims"].append(S.claim(f"{label}: two-stage > {other.replace('_', ' ')} (policy after DPO)",
                                             S.delta_ci(after["two_stage"], after[other]), ci_kind=out["ci"]))
    if precision.get("two_stage") and precision.get("random"):
        out["claims"].append(_precision_claim(label, precision["two_stage"], precision["random"]))
    return out


def _by_caption_value(gen: dict[str, Any], seeds: list[int]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per attribute and per value a caption names: how often the policy drew it on the held-out captions
    before and after DPO on two-stage pairs (one share per seed, None for a seed whose policy was not
    trained), and what those pairs teach about it (``generation.pairs_by_caption_value``, summed over seeds)."""
    from .pairs import PAIR_KINDS

    runs = [gen["runs"][f"two_stage/{s}"] for s in seeds]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for attribute, values in gen["before"]["by_value"].items():
        for value, before in values.items():
            taught = [(r.get("pairs_by_value") or {}).get(attribute, {}).get(value, {}) for r in runs]
            out.setdefault(attribute, {})[value] = {
                "before": before,
                "after": [r["after"]["by_value"][attribute][value] if r.get("after") else None for r in runs],
                "pairs": {kind: sum(t.get(kind, 0) for t in taught) for kind in PAIR_KINDS}}
    return out


def _summed_answers(runs: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """The judge's answers while building a strategy's pairs, and how many failed to parse, over seeds."""
    total: dict[str, dict[str, int]] = {}
    for run in runs:
        for mode, counts in (run.get("judge_answers") or {}).items():
            for key, value in counts.items():
                total.setdefault(mode, {}).setdefault(key, 0)
                total[mode][key] += value
    return total


def _precision_claim(label: str, two_stage: list[float], random_: list[float]) -> dict:
    """Two-stage pairs are right more often than random pairs. They are different pairs, so the interval is
    a bootstrap that resamples each side on its own."""
    import numpy as np

    a, b = np.asarray(two_stage), np.asarray(random_)
    rng = np.random.default_rng(0)
    draws = [a[rng.integers(0, len(a), len(a))].mean() - b[rng.integers(0, len(b), len(b))].mean()
             for _ in range(S.N_RESAMPLES)]
    delta = {"mean": float(a.mean() - b.mean()), "ci": [float(np.percentile(draws, 2.5)),
                                                        float(np.percentile(draws, 97.5))],
             "n_units": len(a) + len(b), "n_seeds": 1, "per_seed": []}
    return S.claim(f"{label}: two-stage pairs are right more often than random pairs (oracle)", delta,
                   ci_kind="95% bootstrap over pairs (two-stage and random pairs resampled separately)")


def _understanding_results(und: dict[str, Any]) -> dict[str, Any]:
    """The QA figures over policy seeds: accuracies on the shared held-out questions (two-level bootstrap
    over seeds and questions when there are several), pair counts and precision per seed."""
    seeds = list(und["runs"])
    trained = [s for s in seeds if "after" in und["runs"][s]]
    ci = ("95% percentile bootstrap over held-out questions" if len(seeds) == 1 else
          f"95% two-level bootstrap over {len(seeds)} seeds and held-out questions")
    runs = und["runs"]
    out: dict[str, Any] = {"metric": "answer accuracy (0-100): sampled at temperature 1, and greedy", "ci": ci,
                           "tasks": {}, "claims": [], "seeds": seeds, "objective": und.get("objective"),
                           "held_out": und.get("held_out"),
                           "pairs_trained": [runs[s]["pairs_trained"] for s in seeds],
                           "train": [runs[s].get("train") for s in seeds],
                           "sft_train": [runs[s].get("sft_train") for s in seeds],
                           "note": "; ".join(f"seed {s}: {runs[s]['note']}" for s in seeds if runs[s].get("note"))
                           or None}
    with_sft = [s for s in trained if "sft" in runs[s]]
    for task in und["before"]:
        before = und["before"][task]
        per_seed = [runs[s]["tasks"][task] for s in seeds]
        row: dict[str, Any] = {
            "pairs": sum(t["pairs"] for t in per_seed), "pairs_per_seed": [t["pairs"] for t in per_seed],
            "pair_dir": per_seed[0]["pair_dir"], "distinct_pairs": [t["distinct_pairs"] for t in per_seed],
            "dropped": _summed(t["dropped"] for t in per_seed),
            "agreement": _summed({k: t["agreement"][k] for k in ("pairs", "chosen_better", "equal", "chosen_worse")}
                                 for t in per_seed),
            "agreement_per_seed": [t["agreement"] for t in per_seed],
            "candidate_accuracy": [t["candidate_accuracy"] for t in per_seed],
            # per gold answer, summed over seeds: where the judge's pairs point the wrong way
            "by_answer": {answer: _summed(t.get("by_answer", {}).get(answer, {}) for t in per_seed)
                          for answer in sorted({a for t in per_seed for a in t.get("by_answer", {})})},
            # the judge's pair-ranking verdicts against the verdicts its own checks imply, summed over seeds
            "checks": _summed(t.get("checks", {}) for t in per_seed),
            "examples": {"before": before["examples"]},
        }
        agreed = row["agreement"]
        agreed["precision"] = agreed["chosen_better"] / agreed["pairs"] if agreed.get("pairs") else None
        for kind in ("sampled", "greedy"):
            row[f"{kind}_before"] = S.mean_ci([before[kind]])
            if trained:
                after = [runs[s]["after"][task][kind] for s in trained]
                row[f"{kind}_after"] = S.mean_ci(after)
                row[f"{kind}_delta"] = S.delta_ci(after, [before[kind]] * len(trained))
            if with_sft:
                sft = [runs[s]["sft"][task][kind] for s in with_sft]
                row[f"{kind}_sft"] = S.mean_ci(sft)
                row[f"{kind}_sft_delta"] = S.delta_ci(sft, [before[kind]] * len(with_sft))
        if trained:
            row["examples"]["after"] = runs[trained[0]]["after"][task]["examples"]
            out["claims"].append(S.claim(f"DPO improves {task.replace('_', ' ')} (sampled-answer accuracy)",
                                         row["sampled_delta"], ci_kind=ci))
            if with_sft:
                out["claims"].append(S.claim(f"{task.replace('_', ' ')}: DPO > SFT on the chosen answers "
                                             "(sampled-answer accuracy)",
                                             S.delta_ci([runs[s]["after"][task]["sampled"] for s in with_sft],
                                                        [runs[s]["sft"][task]["sampled"] for s in with_sft]),
                                             ci_kind=ci))
        out["tasks"][task] = row
    return out


def _summed(counts: Iterable[dict[str, int]]) -> dict[str, int]:
    """Counts added key by key (dropped prompts by reason, pair agreement) over seeds."""
    total: dict[str, int] = {}
    for count in counts:
        for key, value in count.items():
            total[key] = total.get(key, 0) + value
    return total


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and value != value:
        return None
    return value
