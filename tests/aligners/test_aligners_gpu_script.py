"""The GPU benchmark script's code path, on the CPU with --tiny (and its clean exit without CUDA)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "gpu" / "diffusion_dpo_sd_unet.py"


def _script():
    spec = importlib.util.spec_from_file_location("diffusion_dpo_sd_unet_script", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_run_times_both_implementations(tmp_path, capsys):
    out = tmp_path / "r.json"
    assert _script().main(["--tiny", "--rounds", "1", "--pairs", "2", "--modes", "lora", "--json", str(out)]) == 0
    [result] = json.loads(out.read_text())
    assert result["mode"] == "lora" and result["ours_ms"] > 0 and result["plain_ms"] > 0
    assert "ratio" in capsys.readouterr().out


def test_without_cuda_it_exits_cleanly(monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert _script().main([]) == 0
    assert "CUDA is not available" in capsys.readouterr().out
