"""vlm_dpo on a tiny Qwen2-VL policy: the aligner contract (LoRA), full fine-tuning, video rows whose
frames must reach the model, mixed batches, trl's other losses, refusals, and `unireward align`."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("trl")

from vlm_toys import (  # noqa: E402
    QUESTION,
    red_beats_blue,
    trl_row,
    write_align_config,
    write_pair_dataset,
    write_png,
)

from unireward_builtins.aligners import vlm_dpo  # noqa: E402
from unireward_sdk import ConfigError, MediaError  # noqa: E402
from unireward_sdk.alignment import POLICY_FILE  # noqa: E402
from unireward_sdk.testing.aligner import AlignerContract  # noqa: E402
from unireward_sdk.testing.tiny import build_tiny_judge  # noqa: E402

FAST = dict(batch_size=4, gradient_accumulation_steps=1, max_new_tokens=8)


class TestVLMDPOContract(AlignerContract):
    name = "vlm_dpo"
    modality = "text"
    plugin = "unireward_builtins.aligners.vlm_dpo"

    def make_aligner(self, workdir):
        model = build_tiny_judge(workdir / "model")
        return vlm_dpo.create(model=str(model), output_dir=str(workdir / "out"), lora=True, learning_rate=5e-3,
                              max_steps=8, **FAST)

    def make_pairs(self, workdir):
        return red_beats_blue(str(write_png(workdir / "grey.png", (128, 128, 128))))

    def test_lora_policy_is_an_adapter_with_its_processor(self, aligner_run, reloaded):
        saved = aligner_run.workdir / "saved-policy"
        names = {p.name for p in saved.iterdir()}
        assert {"adapter_model.safetensors", "adapter_config.json", "processor_config.json"} <= names
        assert not any(n.endswith((".bin", ".pt")) for n in names) and "model.safetensors" not in names
        info = json.loads((saved / POLICY_FILE).read_text())
        assert info["lora"] is True and info["reference_model"] is None  # reference: the adapter disabled
        assert reloaded.trained_steps == aligner_run.summary.steps


def test_config_defaults_are_the_papers_recipe_and_bad_settings_fail():
    cfg = vlm_dpo.VLMDPOConfig(model="m")
    assert (cfg.beta, cfg.loss_type, cfg.learning_rate, cfg.num_train_epochs) == (0.1, ("sigmoid",), 5e-7, 3)
    assert (cfg.batch_size, cfg.gradient_accumulation_steps, cfg.lora) == (1, 16, False)
    assert vlm_dpo.VLMDPOConfig(model="m", loss_type="ipo").loss_type == ("ipo",)
    with pytest.raises(ConfigError, match="Did you mean 'sigmoid'"):
        vlm_dpo.VLMDPOConfig(model="m", loss_type="sigmod")
    with pytest.raises(ConfigError, match="label_smoothing"):
        vlm_dpo.VLMDPOConfig(model="m", loss_type="exo_pair")
    with pytest.raises(ConfigError, match="loss_weights"):
        vlm_dpo.VLMDPOConfig(model="m", loss_type=["sigmoid", "sft"], loss_weights=[1.0])
    with pytest.raises(ConfigError, match=r"VLMDPOConfig: unknown keys \['betta'\]"):
        vlm_dpo.VLMDPOConfig.from_mapping({"model": "m", "betta": 0.2})


def test_full_fine_tuning_learns_the_toy_preference_and_reloads(tiny_policy, media, tmp_path):
    pairs = red_beats_blue(str(media["red_png"]))
    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path / "out"), lora=False,
                             learning_rate=1e-3, max_steps=8, **FAST)
    summary = aligner.train(pairs)
    first = summary.history[0]
    # step 1 compares the policy with its untouched copy: DPO's loss is exactly log 2, the margin 0
    assert first.loss == pytest.approx(math.log(2), abs=1e-4) and first.margin == pytest.approx(0, abs=1e-4)
    assert summary.steps == 8 and summary.final_loss < summary.first_loss
    assert summary.final_margin > summary.first_margin
    after = aligner.evaluate(pairs)
    assert after.accuracy == 1.0 and after.margin > 0.3

    aligner.save_pretrained(tmp_path / "policy")
    names = {p.name for p in (tmp_path / "policy").iterdir()}
    assert {"model.safetensors", "config.json", "processor_config.json", POLICY_FILE} <= names
    again = vlm_dpo.VLMDPOAligner.from_pretrained(tmp_path / "policy")
    flat = [v for pair in aligner.sequence_logps(pairs) for v in pair]
    assert [v for pair in again.sequence_logps(pairs) for v in pair] == pytest.approx(flat, abs=1e-5)
    # the saved policy remembers its reference, so it is measured against the same one
    assert again.evaluate(pairs).margin == pytest.approx(after.margin, abs=1e-4)

    groups = again.sample([QUESTION, {"question": QUESTION, "images": [str(media["blue_png"])]}], 3, seed=5,
                          contexts=[[str(media["red_png"])], []], max_new_tokens=6)
    assert [len(g) for g in groups] == [3, 3]
    for index, group in enumerate(groups):
        assert len({c.provenance.seed for c in group}) == 1 and [c.provenance.extra["candidate"] for c in group] == [
            0, 1, 2]
        assert all(c.modality == "text" and c.text is not None and c.meta["prompt_index"] == index for c in group)
    assert groups[0][0].meta["images"] == [str(media["red_png"])]
    repeat = again.sample([QUESTION], 3, seed=5, contexts=[[str(media["red_png"])]], max_new_tokens=6)
    assert [c.text for c in repeat[0]] == [c.text for c in groups[0]]
    other_seed = again.sample([QUESTION], 3, seed=6, contexts=[[str(media["red_png"])]], max_new_tokens=6)
    assert [c.text for c in other_seed[0]] != [c.text for c in groups[0]]


def test_video_rows_from_the_trl_export_train_and_the_frames_reach_the_model(tiny_policy, media, tmp_path):
    from unireward_sdk.pairs.export import export

    red, blue = str(media["red_mp4"]), str(media["blue_mp4"])
    # the right answer depends on the video alone: the text prompts are identical
    dataset = write_pair_dataset(tmp_path / "pairs", [(red, "red", "blue"), (blue, "blue", "red")],
                                 task="video_understanding")
    path = export(dataset, "trl", tmp_path / "trl.jsonl")
    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path / "out"), lora=False,
                             learning_rate=2e-3, max_steps=12, batch_size=2, gradient_accumulation_steps=1)

    rows = aligner._dataset(path, "auto")[0]
    batch = aligner.collator([rows[0], rows[1]])
    assert {"pixel_values_videos", "video_grid_thw", "mm_token_type_ids"} <= set(batch)
    assert batch["video_grid_thw"][:, 0].tolist() == [4, 4, 4, 4]  # 8 evenly spaced frames, 2 per temporal patch
    video_token = aligner.processor.tokenizer.convert_tokens_to_ids("<|video_pad|>")
    assert int((batch["input_ids"] == video_token).sum()) == int(batch["video_grid_thw"].prod(-1).sum()) // 4

    same_text = [trl_row("red", "blue", videos=[red]), trl_row("red", "blue", videos=[blue])]
    (red_logp, _), (blue_logp, _) = aligner.sequence_logps(same_text)
    assert abs(red_logp - blue_logp) > 1e-3  # same words, different video: different likelihood

    summary = aligner.train(path)
    assert summary.pairs == 2 and summary.final_loss < summary.first_loss
    # both directions learned at once is impossible unless the model sees which video it is shown
    assert aligner.evaluate([trl_row("red", "blue", videos=[red])]).margin > 0
    assert aligner.evaluate([trl_row("blue", "red", videos=[blue])]).margin > 0


def test_image_video_and_text_rows_mix_in_one_batch(tiny_policy, media, tmp_path):
    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path), lora=True, max_steps=1,
                             learning_rate=1e-3, **FAST)
    rows = [trl_row("red", "blue", images=[str(media["red_png"])]), trl_row("red", "blue", videos=[media["red_mp4"]]),
            trl_row("red", "blue"), trl_row("blue", "red", images=[str(media["blue_png"])], videos=[media["blue_mp4"]])]
    batch = aligner.collator(list(aligner._dataset(rows, "auto")[0]))
    assert batch["input_ids"].shape[0] == 8 and batch["image_grid_thw"].shape[0] == 4
    assert batch["video_grid_thw"].shape[0] == 4
    result = aligner.evaluate(rows)
    assert math.isfinite(result.loss) and result.pairs == 4
    assert aligner.train(rows).steps == 1


def test_llava_onevision_policy_trains_on_image_and_video_rows(media, tmp_path):
    # the paper's policies are LLaVA-OneVision / LLaVA-Video: another processor, another video path
    policy = build_tiny_judge(tmp_path / "llava", arch="llava_onevision")
    aligner = vlm_dpo.create(model=str(policy), output_dir=str(tmp_path / "out"), lora=True, learning_rate=5e-3,
                             max_steps=3, **FAST)
    rows = [trl_row("red", "blue", videos=[media["red_mp4"]]), trl_row("red", "blue", images=[str(media["red_png"])])]
    batch = aligner.collator(list(aligner._dataset(rows, "auto")[0]))
    assert batch["pixel_values_videos"].shape[:2] == (2, 8)  # one video per half, 8 frames each
    (red, _), (blue, _) = aligner.sequence_logps([rows[0], trl_row("red", "blue", videos=[media["blue_mp4"]])])
    assert abs(red - blue) > 1e-4
    losses = [m.loss for m in aligner.train(rows).history]
    assert losses[-1] < losses[0]


def test_seeded_runs_repeat_and_checkpointing_with_bf16_autocast_trains(tiny_policy, media, tmp_path):
    pairs = red_beats_blue(str(media["red_png"]))
    settings = dict(model=str(tiny_policy), output_dir=str(tmp_path), lora=True, learning_rate=5e-3, max_steps=2,
                    seed=3, **FAST)
    runs = [[m.loss for m in vlm_dpo.create(**settings).train(pairs).history] for _ in range(2)]
    assert runs[0] == runs[1]  # the adapter's initial weights and the data order follow the seed
    aligner = vlm_dpo.create(**{**settings, "lora": False, "max_steps": 3, "learning_rate": 1e-3},
                             gradient_checkpointing=True, mixed_precision="bf16")
    losses = [m.loss for m in aligner.train(pairs).history]
    assert losses[0] == pytest.approx(math.log(2), abs=1e-2) and losses[-1] < losses[0]


def test_placeholders_max_length_and_media_errors(tiny_policy, media, tmp_path):
    from unireward_builtins.aligners.vlm_dpo.data import structured_messages, with_media_placeholders

    prompt = with_media_placeholders(structured_messages("Q?", "user", who="t"), 1, 1, who="t")
    assert [p["type"] for p in prompt[0]["content"]] == ["image", "video", "text"]
    placed = [{"role": "user", "content": [{"type": "text", "text": "Q?"}, {"type": "image"}]}]
    assert with_media_placeholders(structured_messages(placed, "user", who="t"), 1, 0, who="t")[0]["content"][1] == {
        "type": "image"}
    with pytest.raises(ConfigError, match="places 1 image"):
        with_media_placeholders(structured_messages(placed, "user", who="t"), 2, 0, who="t")

    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path), lora=True, max_length=40, **FAST)
    with pytest.raises(ConfigError, match="max_length is 40"):
        aligner.evaluate([trl_row("red", "blue", videos=[media["red_mp4"]])])
    with pytest.raises(MediaError, match="row 1: video file not found"):
        aligner.evaluate([trl_row("red", "blue"), trl_row("red", "blue", videos=[tmp_path / "gone.mp4"])])
    with pytest.raises(MediaError, match="not a readable image"):
        aligner.evaluate([trl_row("red", "blue", images=[b"not an image"])])
    with pytest.raises(ConfigError, match="holds 'pickapic' rows"):
        aligner.train([{"caption": "c", "jpg_0": "a.png", "jpg_1": "b.png", "label_0": 1.0}])
    with pytest.raises(ConfigError, match="no pairs left.*2 identical"):
        aligner.train([trl_row("red", "red")] * 2)


def test_identical_answers_are_dropped_and_counted_and_records_train(tiny_policy, media, tmp_path):
    from unireward_sdk.pairs import PairDataset

    dataset = write_pair_dataset(tmp_path / "pairs", [(str(media["red_png"]), "red", "blue")] * 2)
    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path / "out"), lora=True, max_steps=1,
                             learning_rate=1e-3, loss_type="ipo", save_every=1, **FAST)
    assert aligner._dpo_args().loss_type == ["ipo"] and aligner._dpo_args().beta == 0.1
    summary = aligner.train(PairDataset(dataset).pairs())  # PreferencePair records of response texts
    assert summary.pairs == 2 and math.isfinite(summary.history[0].loss)
    checkpoint = json.loads((tmp_path / "out" / "checkpoint-1" / POLICY_FILE).read_text())
    assert checkpoint["trained_steps"] == 1 and checkpoint["config"]["loss_type"] == ["ipo"]
    summary = aligner.train([trl_row("red", "blue", images=[str(media["red_png"])]), trl_row("same", "same")])
    assert summary.pairs == 1 and dict(summary.dropped) == {"identical": 1}


def test_align_cli_trains_vlm_dpo_from_a_trl_export(tiny_policy, media, tmp_path, capsys):
    from unireward_sdk.cli import main
    from unireward_sdk.pairs.export import export

    dataset = write_pair_dataset(tmp_path / "pairs", [(str(media["red_png"]), "red", "blue"),
                                                      (str(media["blue_png"]), "red", "blue")] * 2)
    export(dataset, "trl", tmp_path / "export" / "trl.parquet")
    config = write_align_config(tmp_path / "align.toml", aligner="vlm_dpo", data="export/trl.parquet",
                                model=str(tiny_policy), output_dir="policy", lora=True, learning_rate=5e-3,
                                max_steps=6, batch_size=4, gradient_accumulation_steps=1)
    assert main(["align", "--config", str(config), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["aligner"] == "vlm_dpo" and summary["steps"] == 6 and summary["pairs"] == 4
    assert summary["final_loss"] < summary["first_loss"] and summary["final_margin"] > summary["first_margin"]
    saved = tmp_path / "policy"
    assert summary["output_dir"] == str(saved) and (saved / "adapter_model.safetensors").is_file()
    history = json.loads((saved / "train_summary.json").read_text())["history"]
    assert len(history) == 6
    # the loop closes: pair construction samples its next candidates from the aligned policy
    from unireward_sdk.pairs.sources import PromptRecord, SamplerSource

    policy = vlm_dpo.VLMDPOAligner.from_pretrained(saved, max_new_tokens=4)
    records = [PromptRecord(index=0, prompt_id="img", task="image_understanding", question=QUESTION,
                            context=(str(media["red_png"]),)),
               PromptRecord(index=1, prompt_id="vid", task="video_understanding", question=QUESTION,
                            context=(str(media["blue_mp4"]),))]
    groups = SamplerSource(policy, records, n=2, seed=0).groups(range(2), 0)
    assert [g.prompt_id for g in groups] == ["img", "vid"] and [len(g.candidates) for g in groups] == [2, 2]
    assert all(c.modality == "text" and c.provenance.plugin == "vlm_dpo" for g in groups for c in g.candidates)
    assert groups[1].candidates[0].meta["videos"] == [str(media["blue_mp4"])]


@pytest.mark.parametrize("ends_at_eos", [True, False])
def test_answers_are_trained_up_to_the_end_of_turn_token(tiny_policy, media, tmp_path, ends_at_eos):
    """The chat template writes a newline after the end-of-turn token; generation never samples it, so by
    default no answer token follows the end-of-turn token (completion_ends_at_eos off: trl's rendering)."""
    aligner = vlm_dpo.create(model=str(tiny_policy), output_dir=str(tmp_path), lora=True, max_steps=1,
                             completion_ends_at_eos=ends_at_eos, **FAST)
    batch = aligner.collator(list(aligner._dataset([trl_row("red", "blue", images=[str(media["red_png"])])],
                                                   "auto")[0]))
    tokenizer = aligner.processor.tokenizer
    end_of_turn = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for ids, mask in zip(batch["input_ids"], batch["completion_mask"]):
        answer = ids[mask.bool()].tolist()
        if ends_at_eos:
            assert answer[-1] == end_of_turn, tokenizer.decode(answer)
        else:
            assert answer[-1] != end_of_turn and end_of_turn in answer
