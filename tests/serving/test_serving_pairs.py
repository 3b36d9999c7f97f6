"""A pair job whose judge is served over HTTP builds the pairs the in-process job builds."""

from __future__ import annotations

import json
import shutil

from unireward_sdk.pairs import PairDataset, PairJob, PairJobConfig


def _manifest(root, colour_images):
    root.mkdir(parents=True)
    for colour, path in colour_images.items():
        shutil.copy(path, root / f"{colour}.png")
    line = {"id": "p0", "prompt": "a red square", "candidates": [f"{c}.png" for c in ("blue", "red", "green")]}
    (root / "prompts.jsonl").write_text(json.dumps(line) + "\n")
    return root / "prompts.jsonl"


def _pairs(tmp_path, name, registry, manifest, **config):
    cfg = PairJobConfig(manifest=str(manifest), output=str(tmp_path / name), task="image_generation",
                        head="generative", progress=False, **config)
    summary = PairJob(cfg, registry=registry).run()
    pairs = PairDataset(tmp_path / name).pairs()
    return summary, [(p.chosen.id, p.rejected.id, [v.winner for v in p.verdicts]) for p in pairs]


def test_pair_job_through_the_server_equals_in_process(tmp_path, registry, trained_qwen2_vl, judge_server,
                                                        colour_images):
    manifest = _manifest(tmp_path / "data", colour_images)
    local_summary, local = _pairs(tmp_path, "local", registry, manifest, model=str(trained_qwen2_vl),
                                  backend_options={"device": "cpu"})
    served_summary, served = _pairs(tmp_path, "served", registry, manifest, backend="openai", model="tiny-judge",
                                    backend_options={"base_url": judge_server.base_url, "logprobs": False})
    assert served == local and local  # the same pairs, chosen the same way
    assert served_summary["pairs_kept"] == local_summary["pairs_kept"] >= 1


# --- the judge's server goes away mid-job, then comes back ----------------------------------------------------

_WORDS = ("alpha", "beta", "gamma", "delta")


def _outage_job(tmp_path, colour_images, base_url, output):
    """A config file for a job of four prompts, one per batch, judged through ``base_url``."""
    root = tmp_path / "data"
    if not root.exists():
        root.mkdir(parents=True)
        for colour, path in colour_images.items():
            shutil.copy(path, root / f"{colour}.png")
        lines = [{"id": word, "prompt": f"a red square, take {word}",
                  "candidates": [f"{c}.png" for c in ("blue", "red", "green")]} for word in _WORDS]
        (root / "prompts.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    config = tmp_path / f"{output}.toml"
    config.write_text("\n".join([
        "[pairs]", f'manifest = "{root / "prompts.jsonl"}"', f'output = "{tmp_path / output}"',
        'task = "image_generation"', 'head = "generative"', 'backend = "openai"', 'model = "tiny-judge"',
        "batch_size = 1",
        f'backend_options = {{base_url = "{base_url}", logprobs = false, max_retries = 1, backoff = 0.0}}', ""]))
    return config


def _rows(folder):
    """Every prompt's stored outcome, without the dataset's own paths."""
    out = []
    for row in PairDataset(folder).rows():
        record = row["record"]
        if row["kind"] == "pair":
            verdicts = [(v["winner"], v["raw"], v["status"]) for v in record["verdicts"]]
            out.append((row["prompt_id"], "pair", record["chosen"]["id"], record["rejected"]["id"], verdicts,
                        [(s["value"], s["status"]) for s in row["scores"]]))
        else:
            out.append((row["prompt_id"], "dropped", record["reason"], record["detail"]))
    return sorted(out)


def test_a_pair_job_stops_when_the_server_goes_away_and_resumes_when_it_is_back(
        tmp_path, registry, start_judge_server, colour_images, capsys):
    from unireward_sdk.cli import main

    server = start_judge_server(logprobs=False, unanswered="take gamma")  # down at the third prompt
    config = _outage_job(tmp_path, colour_images, server.base_url, "out")
    assert main(["pairs", "--config", str(config), "--no-progress"]) == 1
    error = capsys.readouterr().err
    assert "stopped at batch 2" in error and server.base_url in error and "connection failed" in error
    assert "--resume" in error
    # the prompts judged before the outage are kept; the ones it hit are not recorded as dropped (nor at all)
    assert sorted(row["prompt_id"] for row in PairDataset(tmp_path / "out").rows()) == ["alpha", "beta"]
    assert not (tmp_path / "out" / "summary.json").exists()

    back = start_judge_server(logprobs=False, port=server.port)  # the server comes back where it was
    assert main(["pairs", "--config", str(config), "--no-progress", "--resume"]) == 0
    capsys.readouterr()
    whole = _outage_job(tmp_path, colour_images, back.base_url, "uninterrupted")
    assert main(["pairs", "--config", str(whole), "--no-progress"]) == 0
    resumed, uninterrupted = _rows(tmp_path / "out"), _rows(tmp_path / "uninterrupted")
    assert [row[0] for row in resumed] == sorted(_WORDS)
    assert resumed == uninterrupted
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["complete"] and summary["parse_failures"]["pairwise"].get("backend_unavailable") is None


def test_one_unreachable_item_among_answered_ones_stays_a_value(tmp_path, registry, start_judge_server,
                                                                colour_images, capsys):
    # one prompt's requests never get an answer while the others' do: that prompt is dropped with its
    # reason, and the job finishes (an outage is a batch where nothing got through)
    from unireward_sdk.cli import main

    server = start_judge_server(logprobs=False, unanswered="take gamma", goes_down=False)
    config = _outage_job(tmp_path, colour_images, server.base_url, "out")
    config.write_text(config.read_text().replace("batch_size = 1", "batch_size = 4"))  # all four in one batch
    assert main(["pairs", "--config", str(config), "--no-progress"]) == 0
    rows = {row["prompt_id"]: row for row in PairDataset(tmp_path / "out").rows()}
    assert sorted(rows) == sorted(_WORDS)
    assert rows["gamma"]["kind"] == "dropped" and "backend_unavailable" in rows["gamma"]["record"]["detail"]
