"""Generated-case cross-checks: every benchmark-protocol figure against a separate implementation of the
benchmark's own scorer, written here from that scorer's logic (VL-RewardBench cal.py, VideoAlign
calc_accuracy.py, GenAI-Bench inference.py) and fed what that scorer reads (raw answers, published
order), not the SDK's parsed verdicts."""

from __future__ import annotations

import random
import re

import pytest

from unireward_sdk.evaluation import benchmark_info, evaluate_pairwise, summarize
from unireward_sdk.evaluation import metrics as M
from unireward_sdk.evaluation.benchmarks import BenchmarkExample
from unireward_sdk.evaluation.labels import vlrb_category, vlrb_label
from unireward_sdk.records import Candidate, JudgeItem, ParseStatus, Provenance, Verdict


def _item(item_id: str, task: str) -> JudgeItem:
    return JudgeItem(id=item_id, task=task, question="q", prompt="p",
                     candidates=(Candidate(id=f"{item_id}:0", text="r0"), Candidate(id=f"{item_id}:1", text="r1")))


# --- VL-RewardBench: cal.py ------------------------------------------------------------------------------

_CAL_PATTERN = r"(?:Overall Judgment|Therefore)\s*.*\s*-*\s*Answer\s*(\d+)\s*is\s*(?:the\s*)?(?:slightly\s*)?better"
_GROUP = {"vlfeedback": "general", "povid": "hallucination", "reasoning_tasks": "reasoning",
          "rlhf-v": "hallucination", "rlaif-v": "hallucination", "wildvision-battle": "general"}


def _cal_dataset(item_id: str) -> str:
    cut = [i for i in (item_id.find("_"), item_id.find("-")) if i != -1]
    prefix = item_id[: min(cut)] if cut else item_id
    return {"RLAIF": "rlaif-v", "RLHF": "rlhf-v", "mathverse": "reasoning_tasks", "mmmu": "reasoning_tasks",
            "wildvision": "wildvision-battle", "hallucination": "povid"}.get(prefix, "vlfeedback")


def cal_py_main(records: list[dict], ks=(1, 3, 5, 7, 9)) -> dict[int, dict]:
    """cal.py's main: random.seed(1234) once, then per k a fresh copy of the records (in file order) put
    through shuffle_data (each position swapped with a uniformly drawn one) and scored."""
    random.seed(1234)
    out = {}
    for k in ks:
        data = list(records)
        for i in range(len(data)):
            j = random.randint(0, len(data) - 1)
            data[i], data[j] = data[j], data[i]
        out[k] = cal_py(data, k)
    return out


def cal_py(records: list[dict], k: int) -> dict:
    """cal.py's distribution -> classify -> distribution_dataset, on records in the order given."""
    dist: dict[str, dict] = {}
    for rec in records:
        rejected = rec["ranking"].index(1 if rec["random_number"] == 0 else 0) + 1
        match = re.search(_CAL_PATTERN, rec["response"].replace("\n", "").replace("*", ""), re.IGNORECASE)
        status = "doesntMatch" if not match else ("reject" if int(match.group(1)) == rejected else "agree")
        entry = dist.setdefault(rec["id"], {"agree": 0, "reject": 0, "doesntMatch": 0,
                                            "dataset": _cal_dataset(rec["id"])})
        if sum(entry[s] for s in ("agree", "reject", "doesntMatch")) >= k:
            continue
        entry[status] += 1
    correct: dict[str, int] = {}
    total: dict[str, int] = {}
    for entry in dist.values():
        n = entry["agree"] + entry["reject"] + entry["doesntMatch"]
        cls = next((s for s in ("agree", "reject", "doesntMatch") if entry[s] > n / 2), "other")
        group = _GROUP[entry["dataset"]]
        correct[group] = correct.get(group, 0) + (cls == "agree")
        total[group] = total.get(group, 0) + (cls in ("agree", "reject"))
    groups = ("reasoning", "hallucination", "general")
    per = {g: correct.get(g, 0) / total[g] if total.get(g) else None for g in groups}  # cal.py: ZeroDivisionError
    decided = sum(total.get(g, 0) for g in groups)
    return {"overall": sum(correct.get(g, 0) for g in groups) / decided if decided else None,
            "macro": sum(per.values()) / 3 if all(v is not None for v in per.values()) else None, "groups": per}


_VLRB_PREFIXES = ("RLAIF-V-", "RLHF-V-", "hallucination_pair-", "mathverse_", "mmmu_pro_test_Art_",
                  "wildvision-battle-", "LRVInstruction-", "SVIT-")


class SampledHead:
    """Answers each call from a seeded RNG: A, B, tie or an unparsed failure, with the answer text."""

    name = "sampled"

    def __init__(self, seed: int):
        self.rng = random.Random(seed)

    def judge_pairwise(self, items):
        out = []
        for it in items:
            pick = self.rng.choice(["A", "A", "B", "tie", None])
            if pick is None:
                out.append(Verdict.failure(it.id, ParseStatus.UNPARSED, "no verdict", raw="I cannot decide."))
            else:
                text = {"A": "Overall Judgment: Answer 1 is better.", "B": "Therefore, Answer 2 is slightly better.",
                        "tie": "Overall Judgment: both answers are equally good."}[pick]
                out.append(Verdict(item_id=it.id, winner=pick, raw=text))
        return out


@pytest.mark.parametrize("seed", range(12))
def test_vlrb_matches_cal_py_on_generated_cases(seed):
    rng = random.Random(seed)
    n = rng.randint(4, 40)
    rankings = [rng.choice([[0, 1], [1, 0]]) for _ in range(n)]
    ids = [f"{rng.choice(_VLRB_PREFIXES)}{i}" for i in range(n)]
    exs = [BenchmarkExample(item=_item(i, "image_understanding"), label=vlrb_label(r), raw_label=str(r),
                            category=vlrb_category(i)) for i, r in zip(ids, rankings)]
    samples = rng.choice([1, 3, 5, 7, 9])
    judged = evaluate_pairwise(SampledHead(seed), exs, seed=seed, samples=samples)
    s = summarize(judged, benchmark_info("vl-rewardbench"), n_bootstrap=0)
    # what cal.py reads: every judgment's raw text, the published ranking, and whether the pair was shown swapped,
    # item by item with its k judgments in a row (inference_hf.py's file)
    records = [{"id": j.example.id, "ranking": r, "random_number": int(j.swapped), "response": v.raw}
               for j, r in zip(judged, rankings) for v in [j.verdict, *j.extra_samples]]
    # the headline figures are the first judgment's: cal.py on the first judgments alone
    peer = cal_py([rec for n, rec in enumerate(records) if n % samples == 0], 1)
    assert s["metrics"]["accuracy"]["value"] == pytest.approx(peer["overall"])
    assert s["metrics"]["macro_accuracy"]["value"] == pytest.approx(peer["macro"])
    for group, value in peer["groups"].items():
        assert s["categories"][group]["value"] == pytest.approx(value)
    if samples > 1:
        peer_main = cal_py_main(records)  # cal.py's own k list, whatever the number of samples
        majority = s["protocols"]["benchmark"]["majority"]
        assert list(majority) == [str(k) for k in (1, 3, 5, 7, 9) if k <= samples]
        for k, row in majority.items():
            assert (row["accuracy"], row["macro_accuracy"]) == (pytest.approx(peer_main[int(k)]["overall"]),
                                                                 pytest.approx(peer_main[int(k)]["macro"]))
        # "first": the first k of each item in file order, i.e. cal.py without its shuffle
        first = summarize(judged, benchmark_info("vl-rewardbench"), n_bootstrap=0, majority_selection="first")
        for k, row in first["protocols"]["benchmark"]["majority"].items():
            peer_k = cal_py(records, int(k))
            assert (row["accuracy"], row["macro_accuracy"]) == (pytest.approx(peer_k["overall"]),
                                                                 pytest.approx(peer_k["macro"]))


# --- VideoGen-RewardBench: VideoAlign calc_accuracy.py -----------------------------------------------------


def videoalign_with_ties(h: list[int], m: list[float]) -> float:
    """calc_accuracy_with_ties: start with no judge ties, then move pairs (sorted by |m|) one by one."""
    stat = {"C": 0, "D": 0, "Th": 0, "Tm": 0, "Thm": 0}

    def cell(hi, mi, eps):
        if hi == 0:
            return "Thm" if abs(mi) <= eps else "Th"
        if abs(mi) <= eps:
            return "Tm"
        return "C" if hi * mi > 0 else "D"

    for hi, mi in zip(h, m):
        stat[cell(hi, mi, -1)] += 1
    best, eps = float("-inf"), -1.0
    for hi, mi in sorted(zip(h, m), key=lambda x: abs(x[1])):
        stat["Thm" if hi == 0 and abs(mi) < eps else "Th" if hi == 0 else "Tm" if abs(mi) < eps
             else "C" if hi * mi > 0 else "D"] -= 1
        eps = abs(mi)
        stat[cell(hi, mi, eps)] += 1
        best = max(best, (stat["C"] + stat["Thm"]) / sum(stat.values()))
    return best


def videoalign_without_ties(h: list[int], m: list[float]) -> float:
    c = sum(1 for hi, mi in zip(h, m) if hi != 0 and hi * mi > 0)
    d = sum(1 for hi, mi in zip(h, m) if hi != 0 and hi * mi <= 0)
    return c / (c + d)


class MarginHead:
    name = "margins"

    def __init__(self, margins, as_rewards: bool):
        self.margins, self.as_rewards = margins, as_rewards

    def judge_pairwise(self, items):
        out = []
        for it in items:
            d = self.margins[it.id] * (-1 if it.candidates[0].id.endswith(":1") else 1)  # shown swapped
            winner = "A" if d > 0 else ("B" if d < 0 else "tie")
            extra = {"rewards": (d, 0.0)} if self.as_rewards else {}
            out.append(Verdict(item_id=it.id, winner=winner, raw="", provenance=Provenance(extra=extra)))
        return out


@pytest.mark.parametrize("seed", range(15))
@pytest.mark.parametrize("kind", ["rewards", "verdicts"])
def test_videogen_matches_videoalign_on_generated_cases(seed, kind):
    rng = random.Random(seed)
    n = rng.randint(1, 30)
    h = [rng.choice([1, -1, 0]) for _ in range(n)]
    if kind == "rewards":  # small integers (repeated margins) or floats
        m = [float(rng.randint(-3, 3)) if rng.random() < 0.5 else rng.uniform(-2, 2) for _ in range(n)]
    else:
        m = [float(rng.choice([1, -1, 0])) for _ in range(n)]
    gold = [{1: "A", -1: "B", 0: "tie"}[x] for x in h]
    assert M.tie_calibrated_accuracy(gold, m)["value"] == pytest.approx(videoalign_with_ties(h, m))
    ids = [f"v{i}" for i in range(n)]
    exs = [BenchmarkExample(item=_item(i, "video_generation"), label=g, raw_label=g) for i, g in zip(ids, gold)]
    head = MarginHead(dict(zip(ids, m)), as_rewards=kind == "rewards")
    s = summarize(evaluate_pairwise(head, exs, seed=seed), benchmark_info("videogen-rewardbench"), n_bootstrap=0)
    assert s["metrics"]["tau"]["value"] == pytest.approx(videoalign_with_ties(h, m))
    if any(x != 0 for x in h):
        assert s["metrics"]["diff"]["value"] == pytest.approx(videoalign_without_ties(h, m))
        assert M.accuracy_without_ties_from_margins(gold, m) == pytest.approx(videoalign_without_ties(h, m))


# --- GenAI-Bench: inference.py parse_response -----------------------------------------------------------


def genai_parse_response(response: str, human_vote: str) -> bool:
    found = re.search(r"\[\[.*\]\]", response)
    if found is None:
        return False
    vote = found.group()
    right = {"leftvote": ("[[A>>B]]", "[[A>B]]"), "rightvote": ("[[B>>A]]", "[[B>A]]"),
             "tievote": ("[[A=B]]", "[[A=B=Good]]"), "bothbad_vote": ("[[A=B]]", "[[A=B=Bad]]")}
    return vote in right[human_vote]


_MIRROR_VOTE = {"[[A>B]]": "[[B>A]]", "[[B>A]]": "[[A>B]]", "[[A>>B]]": "[[B>>A]]", "[[B>>A]]": "[[A>>B]]"}


class FourWayHead:
    """Decides on the published pair (``published[id]``) and writes it for the order it is shown."""

    name = "four-way"

    def __init__(self, published):
        self.published = published

    def judge_pairwise(self, items):
        out = []
        for it in items:
            vote = self.published[it.id]
            if it.candidates[0].id.endswith(":1"):
                vote = _MIRROR_VOTE.get(vote, vote)
            if vote == "no verdict":
                out.append(Verdict.failure(it.id, ParseStatus.UNPARSED, "no [[...]] verdict", raw=vote))
                continue
            winner = "A" if vote in ("[[A>B]]", "[[A>>B]]") else "B" if vote in ("[[B>A]]", "[[B>>A]]") else "tie"
            out.append(Verdict(item_id=it.id, winner=winner, raw=f"Explanation first. Final verdict: {vote}"))
        return out


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize(("bench", "task"), [("genai-bench-image", "image_generation"),
                                             ("genai-bench-edit", "image_editing")])
def test_genai_matches_parse_response_on_generated_cases(seed, bench, task):
    rng = random.Random(seed)
    n = rng.randint(1, 30)
    votes = [rng.choice(["leftvote", "rightvote", "tievote", "bothbad_vote"]) for _ in range(n)]
    answers = [rng.choice(["[[A>B]]", "[[A>>B]]", "[[B>A]]", "[[B>>A]]", "[[A=B]]", "[[A=B=Good]]",
                           "[[A=B=Bad]]", "no verdict"]) for _ in range(n)]
    gold = {"leftvote": "A", "rightvote": "B", "tievote": "tie", "bothbad_vote": "tie"}
    ids = [f"g{i}" for i in range(n)]
    exs = [BenchmarkExample(item=_item(i, task), label=gold[v], raw_label=v) for i, v in zip(ids, votes)]
    s = summarize(evaluate_pairwise(FourWayHead(dict(zip(ids, answers))), exs, seed=seed),
                  benchmark_info(bench), n_bootstrap=0)
    peer = sum(genai_parse_response(f"Final verdict: {a}", v) for a, v in zip(answers, votes)) / n
    assert s["metrics"]["accuracy"]["value"] == pytest.approx(peer)


@pytest.mark.parametrize("seed", range(4))
def test_vlrb_majority_from_saved_runs_matches_cal_py(tmp_path, seed):
    from unireward_sdk.evaluation import build_report, write_report
    from unireward_sdk.evaluation.protocols import vlrb_majority_from_predictions

    rng = random.Random(seed)
    n = rng.randint(6, 30)
    rankings = [rng.choice([[0, 1], [1, 0]]) for _ in range(n)]
    ids = [f"{_VLRB_PREFIXES[i % len(_VLRB_PREFIXES)]}{i}" for i in range(n)]
    exs = [BenchmarkExample(item=_item(i, "image_understanding"), label=vlrb_label(r), raw_label=str(r),
                            category=vlrb_category(i)) for i, r in zip(ids, rankings)]
    info = benchmark_info("vl-rewardbench")
    paths, records = [], []
    for run in range(5):  # five sampled runs, each with its own presentation order
        judged = evaluate_pairwise(SampledHead(100 * seed + run), exs, seed=run)
        out = write_report(tmp_path / f"run{run}", build_report(summarize(judged, info, n_bootstrap=0), info, {}),
                           judged, plots=False)
        paths.append(out["predictions.jsonl"])
        records += [{"id": j.example.id, "ranking": r, "random_number": int(j.swapped), "response": j.verdict.raw}
                    for j, r in zip(judged, rankings)]
    # the files read in turn are cal.py's record order (the five files concatenated into one)
    table = vlrb_majority_from_predictions(paths)
    assert list(table) == ["1", "3", "5"]
    peer_main = cal_py_main(records)
    for k, row in table.items():
        assert row["accuracy"] == pytest.approx(peer_main[int(k)]["overall"])
        assert row["macro_accuracy"] == pytest.approx(peer_main[int(k)]["macro"])
    for k, row in vlrb_majority_from_predictions(paths, selection="first").items():
        peer = cal_py(records, int(k))
        assert row["accuracy"] == pytest.approx(peer["overall"])
        assert row["macro_accuracy"] == pytest.approx(peer["macro"])


def test_vlrb_majority_from_a_samples_run_equals_the_in_run_table(tmp_path):
    from unireward_sdk.evaluation import build_report, write_report
    from unireward_sdk.evaluation.protocols import vlrb_majority_from_predictions

    ids = [f"{p}{i}" for i, p in enumerate(_VLRB_PREFIXES * 3)]
    exs = [BenchmarkExample(item=_item(i, "image_understanding"), label="A", raw_label="[0, 1]",
                            category=vlrb_category(i)) for i in ids]
    info = benchmark_info("vl-rewardbench")
    judged = evaluate_pairwise(SampledHead(7), exs, seed=1, samples=5)
    summary = summarize(judged, info, n_bootstrap=0)
    out = write_report(tmp_path, build_report(summary, info, {}), judged, plots=False)
    assert vlrb_majority_from_predictions([out["predictions.jsonl"]]) == summary["protocols"]["benchmark"]["majority"]
    with pytest.raises(Exception, match="judgment"):
        vlrb_majority_from_predictions([out["predictions.jsonl"]], k_max=6)
