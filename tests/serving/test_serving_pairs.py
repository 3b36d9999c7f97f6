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
