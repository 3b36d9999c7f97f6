"""How the generation stage names what each run trained: the objective, and which weights."""

from __future__ import annotations

from unireward_testbed.demo import _T2I, _T2V
from unireward_testbed.generation import aligner_settings, objective_label, update_label


def test_the_objective_names_the_sft_term_only_with_dpo():
    assert objective_label({}) == "dpo"
    assert objective_label({"sft_weight": 125.0}) == "dpo + sft (weight 125)"
    assert objective_label({"objective": "sft", "sft_weight": 0.0}) == "sft"


def test_the_update_names_the_lora_targets_or_full_fine_tuning():
    assert update_label({}) == "full fine-tuning"
    assert update_label({"lora": False, "lora_target_modules": ("attn2.to_k",)}) == "full fine-tuning"
    assert update_label({"lora": True, "lora_r": 4, "lora_target_modules": ("attn2.to_k", "attn2.to_v")}) == \
        "LoRA r4 on attn2.to_k, attn2.to_v"
    assert update_label({"lora": True}) == "LoRA r8 on the attention projections"


def test_the_profiles_settings_reach_the_aligner_without_the_testbeds_own_keys():
    assert "stop_on" not in aligner_settings(_T2I) and aligner_settings(_T2I)["lora"] is True
    assert update_label(_T2I) == "LoRA r8 on attn2.to_k, attn2.to_v"
    assert update_label(_T2V) == "full fine-tuning"
