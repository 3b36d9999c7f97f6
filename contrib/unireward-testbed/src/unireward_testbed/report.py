"""The demo's report: a results table on the terminal, ``results.md``, and pictures.

Pictures (PNG, in the report folder):

- ``judge_accuracy.png``: held-out pairwise accuracy per task, single-task vs joint judge, with intervals;
- ``t2i_before_after.png`` / ``t2v_before_after.png``: the policy before and after DPO on two-stage pairs,
  same seeds, on held-out captions (a clip is drawn as the mean of its frames: the moving shape's trail);
- ``t2i_pairs.png`` / ``t2v_pairs.png`` / ``qa_image_pairs.png`` / ``qa_video_pairs.png``: chosen vs
  rejected pairs with the judge's scores (the SDK's contact sheet);
- ``ablation.png`` / ``t2v_ablation.png``: oracle score after training for each data-selection strategy
  and for the supervised baseline.

Every number printed here comes from the results the demo measured; a missing one prints as "—".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import stats as S
from .pairs import PAIR_KINDS

TASK_LABELS = {"image_generation": "image generation", "video_generation": "video generation",
               "image_understanding": "image understanding", "video_understanding": "video understanding"}
STRATEGY_LABELS = {"random": "random pairs", "pointwise_only": "pointwise only",
                   "pair_ranking_only": "pair ranking only", "two_stage": "two-stage (the method)",
                   "sft_on_chosen": "two-stage, SFT on the chosen side (baseline)"}
SHORT_STRATEGY_LABELS = {"random": "random", "pointwise_only": "pointwise only",
                         "pair_ranking_only": "pair ranking only", "two_stage": "two-stage", "sft_on_chosen": "SFT"}


def _m(figure: Mapping[str, Any] | None) -> str:
    return "—" if not figure else S.fmt_mean(dict(figure))


def _d(figure: Mapping[str, Any] | None) -> str:
    return "—" if not figure else S.fmt_delta(dict(figure)).replace("Δ = ", "")


def _share(part: int, whole: int) -> str:
    """``"98.0% (360 of 368)"``, or "—" when there is nothing to count."""
    return f"{100 * part / whole:.1f}% ({part} of {whole})" if whole else "—"


def _after_share(shares: Sequence[float | None]) -> str:
    """``"79.2 (67, 83, 88)"``: the mean percentage over the seeds whose policy was trained, then one per seed
    when there are several; "—" when none was trained."""
    trained = [x for x in shares if x is not None]
    if not trained:
        return "—"
    seeds = " (" + ", ".join("—" if x is None else f"{100 * x:.0f}" for x in shares) + ")" if len(shares) > 1 else ""
    return f"{100 * sum(trained) / len(trained):.1f}{seeds}"


def _verdicts(mix: Mapping[str, int] | None) -> str:
    """A judge's answer counts in the order the demo wrote them (A / B / tie / failed)."""
    return "—" if not mix else " / ".join(str(n) for n in mix.values())


# --- tables ------------------------------------------------------------------------------------------


def _unparsed(answers: Mapping[str, Mapping[str, int]] | None) -> str:
    """'3 of 84; 17 of 146': the pair judge's answers that failed to parse, per mode ('—' without a judge)."""
    if not any(c.get("answers") for c in (answers or {}).values()):
        return "—"
    return "; ".join(f"{c['unparsed']} of {c['answers']}" if c.get("answers") else "—"
                     for c in (answers.get(mode) or {} for mode in ("pairwise", "pointwise")))


def tables(results: Mapping[str, Any]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(title, header, rows, note) for every results table."""
    out = []
    judges = results.get("judges")
    if judges:
        rows = [[TASK_LABELS.get(t, t), _m(r["single"]), _m(r["joint"]), _m(r.get("chance")), _d(r["delta"]),
                 _verdicts(r.get("verdicts", {}).get("single")), _verdicts(r.get("verdicts", {}).get("joint"))]
                for t, r in judges["tasks"].items()]
        out.append(("Judge accuracy per task (held-out pairs vs truth, %)",
                    ["task", "single-task judge", "joint judge", "best constant answer", "joint − single",
                     "single answered A / B / tie / failed", "joint answered A / B / tie / failed"], rows,
                    f"judges {judges.get('source', 'trained live')}, {judges['steps']} training steps each (matched "
                    f"budget); CI: {judges['ci']}; {judges.get('chance', '')}"))
    rows = []
    for key in ("image_generation", "video_generation"):
        gen = results.get(key)
        if gen and gen.get("method"):
            m = gen["method"]
            label = "text-to-image" if key == "image_generation" else "text-to-video"
            objective = "DPO" if (gen.get("objective") or "dpo") == "dpo" else "DPO + SFT term"
            rows.append([f"{label} (oracle score), {objective}", _m(m["before"]), _m(m["after"]), _d(m["delta"])])
            if m.get("sft"):
                rows.append([f"{label} (oracle score), SFT baseline", _m(m["before"]), _m(m["sft"]["after"]),
                             _d(m["sft"]["vs_before"])])
        elif gen:
            label = "text-to-image" if key == "image_generation" else "text-to-video"
            status = (gen.get("strategies", {}).get("two_stage") or {}).get("status", "not trained")
            rows.append([f"{label} (oracle score), DPO", _m(gen.get("before")), status, "—"])
    und = results.get("understanding")
    if und:
        for task, t in und["tasks"].items():
            for kind in ("sampled", "greedy"):
                rows.append([f"{TASK_LABELS[task]} QA ({kind} accuracy), DPO", _m(t.get(f"{kind}_before")),
                             _m(t.get(f"{kind}_after")), _d(t.get(f"{kind}_delta"))])
                if t.get(f"{kind}_sft"):
                    rows.append([f"{TASK_LABELS[task]} QA ({kind} accuracy), SFT baseline",
                                 _m(t.get(f"{kind}_before")), _m(t.get(f"{kind}_sft")),
                                 _d(t.get(f"{kind}_sft_delta"))])
    if rows:
        note = []
        for key in ("image_generation", "video_generation"):
            gen = results.get(key)
            if gen:
                note.append(f"{key.replace('_', ' ')}: {gen['eval']}; objective {gen.get('objective') or 'dpo'}, "
                            f"{gen.get('update') or 'full fine-tuning'}, β {gen.get('beta')}, {_stopping(gen)}")
        if und:
            note.append(f"QA: objective {und.get('objective')}; pair judge readout {und.get('readout', 'verdict')}; "
                        f"held-out questions; CI: {und['ci']}")
        out.append(("Aligned policies: before / after (0–100), DPO and the supervised baseline",
                    ["policy (metric), objective", "before", "after", "after − before"], rows, "; ".join(note)))
    if und and any(t.get("by_answer") for t in und["tasks"].values()):
        rows = [[TASK_LABELS[task], answer, str(sum(c.values()))] + [str(c.get(k, 0)) for k in PAIR_KINDS]
                for task, t in und["tasks"].items() for answer, c in (t.get("by_answer") or {}).items()]
        out.append(("QA pairs per gold answer (summed over seeds)",
                    ["task", "gold answer", "pairs", "chosen right", "rejected right", "both right", "both wrong"],
                    rows, "a gold answer whose pairs more often have the rejected answer right is one the judge "
                          "gets wrong: DPO on those pairs teaches the policy the judge's mistake"))
    checked = {task: t["checks"] for task, t in (und or {}).get("tasks", {}).items()
               if (t.get("checks") or {}).get("ranked")}
    if checked:
        rows = [[TASK_LABELS[task], str(c["ranked"]), _share(c["verdict_right"], c["ranked"]),
                 _share(c["checks_right"], c["checks_decisive"]), _share(c["contradicting"], c["comparisons"])]
                for task, c in checked.items()]
        out.append(("QA judge: its pair-ranking verdicts vs the verdicts its own checks imply (summed over seeds)",
                    ["task", "ranked pairs with one right answer", "verdict right",
                     "verdict its checks imply right (of those they decide)", "yes / no contradicting its values"],
                    rows, "a judge that writes the right values but compares them wrongly has a low verdict share "
                          "next to a high implied one"))
    for key in ("image_generation", "video_generation"):
        gen = results.get(key)
        if not gen or not gen.get("method"):
            continue
        rows = []
        for attribute, before in gen["before"]["attributes"].items():
            row = [attribute, f"{100 * before:.1f}"]
            for name in ("two_stage", "sft_on_chosen"):
                s = gen["strategies"].get(name) or {}
                delta = (s.get("attribute_deltas") or {}).get(attribute)
                row.append(_d(delta))
            rows.append(row)
        label = "text-to-image" if key == "image_generation" else "text-to-video"
        out.append((f"What changed, per attribute ({label}, held-out captions, % correct)",
                    ["attribute", "before", "DPO − before", "SFT − before"], rows, f"CI: {gen['ci']}"))
    for key in ("image_generation", "video_generation"):
        gen = results.get(key)
        if not gen or not gen.get("by_caption_value"):
            continue
        rows = [[attribute, value, f"{100 * v['before']:.1f}",
                 _after_share(v["after"]),
                 str(sum(v["pairs"].values()))] + [str(v["pairs"][k]) for k in PAIR_KINDS]
                for attribute, values in gen["by_caption_value"].items() for value, v in values.items()]
        label = "text-to-image" if key == "image_generation" else "text-to-video"
        out.append((f"Per value a caption names ({label}): how often the policy drew it, and what the two-stage "
                    "pairs teach about it",
                    ["attribute", "value", "before (%)", "after DPO (%)", "pairs", "chosen right", "rejected right",
                     "both right", "both wrong"], rows,
                    "held-out captions, before and after DPO on two-stage pairs; pairs (training captions, summed "
                    "over seeds) read by the oracle on that attribute: only a pair right on the chosen side alone "
                    "teaches the value, so a value the policy never draws gets none"))
    for key in ("image_generation", "video_generation"):
        gen = results.get(key)
        if not gen or not gen.get("strategies"):
            continue
        rows = [["pretrained policy (no training)", _m(gen["before"]), "—", "—", "—"]]
        for strategy, s in gen["strategies"].items():
            answers = _unparsed(s.get("judge_answers"))
            precision = (gen.get("pair_precision") or {}).get(strategy)
            agreed = f"{_m(precision)} of {sum(s['pairs'])}" if precision else "—"
            if "after" not in s:  # not trained: its pairs are still scored by the oracle
                rows.append([STRATEGY_LABELS.get(strategy, strategy), s.get("status", "—"), "—", agreed, answers])
                continue
            rows.append([STRATEGY_LABELS.get(strategy, strategy), _m(s["after"]), _d(s["vs_before"]), agreed,
                         answers])
        label = "text-to-image" if key == "image_generation" else "text-to-video"
        out.append((f"Data-selection ablation ({label}, oracle score after training)",
                    ["pairs from", "oracle score", "vs pretrained", "pairs the oracle agrees with (%)",
                     "judge answers unparsed: pairwise; pointwise"], rows,
                    f"same candidates for every strategy; CI: {gen['ci']}"))
    return out


def claims_lines(results: Mapping[str, Any]) -> list[str]:
    return [c["text"] for c in results.get("claims", [])]


def markdown(results: Mapping[str, Any]) -> str:
    prof = results["profile"]
    lines = ["# UniReward demo results", "",
             f"Profile **{prof['name']}** ({prof['summary']}), seed {results['seed']}, "
             f"{results['machine']['threads']} torch thread(s), {results.get('elapsed_seconds', 0):.0f} s in all.", "",
             "Every figure below was measured in this run against the synthetic world's ground truth "
             "(pixel oracle, answer grader, the simulator's kept truth).", ""]
    lines += ["## Trained live / loaded", ""]
    lines += [f"- trained live: {x}" for x in results.get("trained_live", [])]
    lines += [f"- loaded from the shipped checkpoints: {x}" for x in results.get("loaded", [])]
    pj = results.get("pair_judge") or {}
    lines += [f"- judge that builds the pairs: {pj.get('source') or pj.get('error')}", ""]
    for title, header, rows, note in tables(results):
        lines += [f"## {title}", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        lines += ["", f"_{note}_", ""]
    lines += ["## The paper's claims, as measured here", ""]
    lines += [f"- {t}" for t in claims_lines(results)] or ["- (no claim could be measured)"]
    lines += ["", "`reproduced`: the 95% interval of the difference lies above zero; `inconclusive`: the "
              "difference is positive but its interval reaches zero; `not reproduced`: it is not positive.", ""]
    lines += ["## Stages", "", "| stage | status | seconds | detail |", "|---|---|---|---|"]
    for s in results.get("stages", []):
        detail = s.get("error") or s.get("reason") or s.get("detail") or ""
        # the report stage is still running while it writes this file
        status = "writing this file" if s["status"] == "running" else s["status"]
        lines.append(f"| {s['title']} | {status} | {s.get('seconds', '—')} | {detail} |")
    pictures = [p for p in (results.get("files") or {}).values() if str(p).endswith(".png")]
    if pictures:
        lines += ["", "## Pictures", ""] + [f"![{Path(p).stem}]({Path(p).name})" for p in pictures]
    return "\n".join(lines) + "\n"


def print_summary(results: Mapping[str, Any], progress: Any) -> None:
    """The results tables and the claims on the terminal (rich tables when available)."""
    try:
        from rich.table import Table
    except ImportError:  # pragma: no cover
        Table = None  # noqa: N806
    for title, header, rows, note in tables(results):
        if Table is not None and progress.console is not None:
            table = Table(title=title, caption=note, title_justify="left")
            for h in header:
                table.add_column(h)
            for r in rows:
                table.add_row(*r)
            progress.console.print(table)
        else:
            progress.print(title)
            for r in rows:
                progress.print("  " + " | ".join(r))
    progress.print("[bold]The paper's claims, as measured here[/bold]" if progress.console else "Claims")
    for c in results.get("claims", []):
        style = {"reproduced": "green", "inconclusive": "yellow"}.get(c["status"], "red")
        progress.print(f"  • {c['text']}", style=style)
    failed = [s for s in results.get("stages", []) if s["status"] == "failed"]
    for s in failed:
        progress.print(f"stage '{s['name']}' failed: {s.get('error')}", style="red")
    progress.print(f"report: {results['report_dir']}/results.md (total {results.get('elapsed_seconds', 0):.0f}s)")


# --- pictures ----------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def judge_plot(judges: Mapping[str, Any], path: Path) -> Path:
    plt = _plt()
    tasks = list(judges["tasks"])
    fig, ax = plt.subplots(figsize=(7, 3.6))
    width = 0.38
    for offset, name, colour in ((-width / 2, "single", "#9aa5b1"), (width / 2, "joint", "#2f6db5")):
        means, low, high = [], [], []
        for t in tasks:
            fig_ = judges["tasks"][t][name]
            means.append(100 * fig_["mean"])
            ci = fig_.get("ci") or [fig_["mean"], fig_["mean"]]
            low.append(100 * (fig_["mean"] - ci[0]))
            high.append(100 * (ci[1] - fig_["mean"]))
        ax.bar([i + offset for i in range(len(tasks))], means, width, yerr=[low, high], capsize=3, color=colour,
               label="single-task judges" if name == "single" else "joint judge")
    chance = [100 * judges["tasks"][t]["chance"]["mean"] for t in tasks if judges["tasks"][t].get("chance")]
    if len(chance) == len(tasks):
        ax.scatter(range(len(tasks)), chance, marker="_", s=900, color="#cc4444", zorder=3,
                   label="best constant answer")
    ax.set_xticks(range(len(tasks)))
    ax.set_xticklabels([TASK_LABELS.get(t, t).replace(" ", "\n") for t in tasks], fontsize=8)
    ax.set_ylabel("held-out pairwise accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(f"Joint vs single-task judges ({judges['steps']} steps each, {judges.get('source', 'live')})",
                 fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def ablation_plot(gen: Mapping[str, Any], path: Path, label: str = "text-to-image") -> Path:
    plt = _plt()
    names = [s for s, v in gen["strategies"].items() if "after" in v]
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    means = [100 * gen["strategies"][s]["after"]["mean"] for s in names]
    cis = [gen["strategies"][s]["after"].get("ci") or [gen["strategies"][s]["after"]["mean"]] * 2 for s in names]
    err = [[m - 100 * c[0] for m, c in zip(means, cis)], [100 * c[1] - m for m, c in zip(means, cis)]]
    colours = ["#2f6db5" if s == "two_stage" else "#9aa5b1" for s in names]
    ax.bar(range(len(names)), means, yerr=err, capsize=3, color=colours)
    base = 100 * gen["before"]["mean"]
    ax.axhline(base, color="#444444", linewidth=0.9, linestyle="--", label=f"pretrained policy ({base:.1f})")
    ax.set_xticks(range(len(names)))
    ax.set_xticklabels([STRATEGY_LABELS.get(s, s).replace(" (", "\n(") for s in names], fontsize=8)
    ax.set_ylabel("oracle score after training (0-100)")
    lo = min([base, *means]) - 10
    ax.set_ylim(max(0, lo), min(100, max([base, *means]) + 10))
    ax.set_title(f"Which pairs make DPO work ({label})", fontsize=10)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _still(path: str) -> Any:
    """An image as is; a clip as the mean of its frames, so the path of the moving shape shows as a trail."""
    from PIL import Image

    if str(path).lower().endswith(".mp4"):
        import numpy as np

        from .media import load_video

        frames = np.stack([np.asarray(f, dtype=np.float32) for f in load_video(path)])
        return Image.fromarray(frames.mean(0).round().astype("uint8"))
    with Image.open(path) as img:
        return img.convert("RGB")


def before_after_grid(pictures: Mapping[str, Any], path: Path, columns: int = 12) -> Path:
    """Two rows per block: the pretrained policy's sample and the aligned policy's sample (same seed)."""
    from PIL import Image, ImageDraw, ImageFont

    before, after, captions = pictures["before"][:columns], pictures["after"][:columns], pictures["captions"][:columns]
    cell, pad, label_h, left = 96, 6, 46, 70
    sheet = Image.new("RGB", (left + columns * (cell + pad), 2 * (cell + pad) + label_h + 20), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()
    draw.text((4, 10 + cell // 2), "before", fill="black", font=font)
    draw.text((4, 10 + cell + pad + cell // 2), "after DPO", fill="black", font=font)
    for i, (b, a, caption) in enumerate(zip(before, after, captions)):
        x = left + i * (cell + pad)
        for row, p in enumerate((b, a)):
            sheet.paste(_still(p).resize((cell, cell), Image.Resampling.NEAREST), (x, 10 + row * (cell + pad)))
        words = caption.split()
        text = "\n".join([" ".join(words[:2]), " ".join(words[2:])])
        draw.multiline_text((x, 14 + 2 * (cell + pad)), text, fill="black", font=font)
    sheet.save(path)
    return path


def write_report(results: dict[str, Any], out: Path) -> dict[str, Path]:
    """Write pictures and ``results.md`` (``results.json`` is written by the caller); returns the paths."""
    from unireward_sdk.pairs.sheet import write_sheet

    paths: dict[str, Path] = {}
    judges = results.get("judges")
    if judges:
        paths["judge_accuracy"] = judge_plot(judges, out / "judge_accuracy.png")
    for key, prefix in (("image_generation", "t2i"), ("video_generation", "t2v")):
        gen = results.get(key)
        if not gen:
            continue
        if gen.get("pictures"):
            paths[f"{prefix}_before_after"] = before_after_grid(gen["pictures"], out / f"{prefix}_before_after.png")
        if gen.get("pair_dir"):
            paths[f"{prefix}_pairs"] = write_sheet(gen["pair_dir"], out / f"{prefix}_pairs.png", sample=8)
        if any("after" in s for s in gen.get("strategies", {}).values()):
            name = "ablation" if prefix == "t2i" else "t2v_ablation"
            paths[name] = ablation_plot(gen, out / f"{name}.png", "text-to-image" if prefix == "t2i"
                                        else "text-to-video")
    und = results.get("understanding")
    if und:
        for task, t in und["tasks"].items():
            if t.get("pairs"):
                name = "qa_image_pairs" if task == "image_understanding" else "qa_video_pairs"
                paths[name] = write_sheet(t["pair_dir"], out / f"{name}.png", sample=8)
    results["files"] = {k: str(v) for k, v in paths.items()}
    paths["markdown"] = out / "results.md"
    paths["markdown"].write_text(markdown(results))
    return paths


def _stopping(gen: dict) -> str:
    """How a generation run's length was decided (generation.train_with_early_stopping)."""
    steps = gen.get("max_steps")
    steps_text = f"{steps} step{'' if steps == 1 else 's'}"
    if gen.get("stop_on") == "budget":
        return f"{steps_text} on every pair (no early stopping)"
    text = f"at most {steps_text}, stopped on the held-out pairs' {gen.get('stop_on') or 'loss'}"
    # which check each run kept, per seed: step 0 is the pretrained policy, a run that did not train
    kept = [f"{SHORT_STRATEGY_LABELS.get(name, name)} {'/'.join(str(x['kept_step']) for x in s['stopped'])}"
            for name, s in (gen.get("strategies") or {}).items() if s.get("stopped")]
    if kept:
        text += (f" (weights kept from step: {', '.join(kept)}; at step 0 the policy is the pretrained one and "
                 "its evaluation is the one before training)")
    return text
