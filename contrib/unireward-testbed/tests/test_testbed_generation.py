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


def test_the_video_lora_targets_the_spatial_cross_attention_only():
    """In UNet3DConditionModel ``attn2`` also names the temporal blocks' second self-attention (and
    ``transformer_in``'s): the full profile's suffixes must match the caption-reading layers and nothing else."""
    from diffusers import UNet3DConditionModel

    from unireward_testbed import checkpoints as C
    from unireward_testbed.demo import PROFILES, T2V_SPATIAL_CROSS_ATTENTION

    unet = UNet3DConditionModel.from_pretrained(C.require("t2v_policy") / "unet")
    names = [n for n, _ in unet.named_modules()]
    # peft's rule for a list of targets: the whole name, or a suffix after a dot
    matched = [n for n in names if any(n == t or n.endswith("." + t) for t in T2V_SPATIAL_CROSS_ATTENTION)]
    cross = [n for n in names if n.endswith(("attn2.to_k", "attn2.to_v"))
             and ".attentions." in f".{n}" and "temp_attentions" not in n and "transformer_in" not in n]
    assert sorted(matched) == sorted(cross) and matched
    assert PROFILES["full"].t2v_options["lora_target_modules"] == T2V_SPATIAL_CROSS_ATTENTION
    assert update_label(PROFILES["full"].t2v_options).startswith("LoRA r8 on attentions.0.")
