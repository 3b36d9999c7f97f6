"""Training data: loading the agreed record format, A/B balancing, task mixing, exact prompt rendering, config."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import attrs
import pytest

from training_fixtures import toy_records, write_jsonl
from unireward_sdk.errors import ConfigError
from unireward_sdk.media import MediaCache
from unireward_sdk.training import (
    JudgeTrainingConfig,
    TrainJudgeConfig,
    balanced_swaps,
    build_examples,
    chat_messages,
    chat_rows,
    load_records,
    mixture_schedule,
    position_balance,
)

TASKS = ("image_generation", "video_generation", "image_understanding", "video_understanding")


# --- loading ---------------------------------------------------------------------------------------------


def test_jsonl_records_resolve_media_against_the_files_folder(toy_data):
    records = load_records(toy_data / "train.jsonl")
    assert len(records) == 48
    pair = records[0]
    assert pair.mode == "pairwise" and pair.label == "A" and pair.truth == "A"
    assert all(Path(c["path"]).is_file() for c in pair.candidates)
    point = records[1]
    assert point.mode == "pointwise" and point.scale == (1.0, 5.0) and point.score in (1.0, 3.0, 5.0)
    assert point.extra == {}  # known keys are fields, not extras
    from unireward_sdk.training import record_from_dict, record_to_dict

    assert [record_from_dict(record_to_dict(r), index=i) for i, r in enumerate(records)] == \
        [attrs.evolve(r, source="record") for r in records]


def test_parquet_and_datasets_give_the_same_records(toy_data, tmp_path):
    import datasets
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [json.loads(line) for line in (toy_data / "train.jsonl").read_text().splitlines()]
    # columnar formats give every row every column: absent values are nulls
    columns = sorted({k for r in rows for k in r})
    rows = [{k: r.get(k) for k in columns} for r in rows]
    from_jsonl = load_records(toy_data / "train.jsonl")
    pq.write_table(pa.Table.from_pylist(rows), toy_data / "train.parquet")
    from_parquet = load_records(toy_data / "train.parquet")
    from_dataset = load_records(datasets.Dataset.from_list(rows), base_dir=toy_data)
    for other in (from_parquet, from_dataset):
        assert [(r.id, r.mode, r.label, r.score, r.candidates) for r in other] == \
            [(r.id, r.mode, r.label, r.score, r.candidates) for r in from_jsonl]


@pytest.mark.parametrize("row, message", [
    ({"mode": "pairwise", "candidates": [{"text": "a"}, {"text": "b"}], "label": "A"}, "'task' is missing"),
    ({"task": "image_generation", "candidates": [{"path": "a.png"}, {"path": "b.png"}], "label": "C"}, "label"),
    ({"task": "image_generation", "mode": "pointwise", "candidates": [{"path": "a.png"}]}, "needs 'score'"),
    ({"task": "image_generation", "mode": "pointwise", "candidates": [{"path": "a.png"}], "score": 7,
      "scale": [1, 5]}, "outside its scale"),
    ({"task": "image_generation", "mode": "pairwise", "candidates": [{"path": "a.png"}], "label": "A"},
     "needs 2 candidate"),
])
def test_bad_records_name_their_file_and_line(tmp_path, row, message):
    good = {"task": "image_understanding", "question": "q", "candidates": [{"text": "a"}, {"text": "b"}],
            "label": "B"}
    path = write_jsonl(tmp_path / "bad.jsonl", [good, row])
    with pytest.raises(ConfigError, match=message) as info:
        load_records(path)
    assert f"{path}:2" in str(info.value)


# --- A/B balance -----------------------------------------------------------------------------------------


def test_ab_order_is_balanced_and_seeded(toy_data, registry):
    records = [r for r in load_records(toy_data / "train.jsonl") if r.mode == "pairwise"]
    assert {r.label for r in records} == {"A"}  # the data always lists the winner first
    examples = build_examples(records, registry=registry, family="qwen_v1", seed=3)
    assert position_balance(examples) == {"image_generation": {"A": 12, "B": 12, "tie": 0}}
    by_id = {r.id: r for r in records}
    for ex in examples:
        original = by_id[ex.id]
        # the swapped item shows the winner second, and the target says so
        assert ex.swapped == (ex.label == "B")
        first = ex.item.candidates[0].path
        assert first == original.candidates[1 if ex.swapped else 0]["path"]
        assert ex.target == ("Image 2 is better." if ex.swapped else "Image 1 is better.")
    again = build_examples(records, registry=registry, family="qwen_v1", seed=3)
    assert [e.swapped for e in again] == [e.swapped for e in examples]
    other = build_examples(records, registry=registry, family="qwen_v1", seed=4)
    assert [e.swapped for e in other] != [e.swapped for e in examples]
    unbalanced = build_examples(records, registry=registry, family="qwen_v1", randomize_order=False)
    assert position_balance(unbalanced)["image_generation"]["A"] == 24


def test_balancing_is_per_task_and_keeps_ties(tmp_path):
    from unireward_sdk.training.records import record_from_dict

    rows = [{"task": t, "candidates": [{"text": "x"}, {"text": "y"}], "label": label}
            for t in ("image_understanding", "video_understanding") for label in ("A",) * 7 + ("B",) * 2]
    rows += [{"task": "image_generation", "candidates": [{"path": "a.png"}, {"path": "b.png"}], "label": "tie"}] * 4
    records = [record_from_dict(r, index=i) for i, r in enumerate(rows)]
    swaps = balanced_swaps(records, seed=0)
    for task in ("image_understanding", "video_understanding"):
        shown = Counter(("B" if s else "A") if r.label == "A" else ("A" if s else "B")
                        for r, s in zip(records, swaps) if r.task == task)
        assert abs(shown["A"] - shown["B"]) == 1  # 9 decisive pairs: 5/4 either way
    # swapping a record mirrors everything that refers to a position
    r = record_from_dict({"task": "image_generation", "candidates": [{"path": "a.png"}, {"path": "b.png"}],
                          "label": "A", "truth": "A", "dimensions": {"alignment": [0.7, 0.3]}})
    s = r.swapped()
    assert (s.label, s.truth, s.dimensions["alignment"], s.candidates[0]["path"]) == ("B", "B", [0.3, 0.7], "b.png")


def test_candidate_notes_follow_their_candidates_and_positional_reasoning_keeps_its_order(registry):
    from unireward_sdk.training.records import record_from_dict

    rows = [{"task": "image_understanding", "question": "What colour?", "label": "A",
             "candidates": [{"text": "Red.", "note": "red matches the image"},
                            {"text": "Blue.", "note": "blue does not"}]} for _ in range(6)]
    rows.append({"task": "image_understanding", "question": "What colour?", "label": "A",
                 "candidates": [{"text": "Red."}, {"text": "Blue."}],
                 "reasoning": "Answer 1 names the colour shown; Answer 2 does not."})
    records = [record_from_dict(r, index=i) for i, r in enumerate(rows)]
    assert records[0].candidates[0]["note"] == "red matches the image"
    examples = build_examples(records, registry=registry, family="qwen_v1", seed=0)
    assert any(e.swapped for e in examples[:6]) and not examples[6].swapped
    for e in examples[:6]:
        first, second = ("blue does not", "red matches the image") if e.swapped else \
            ("red matches the image", "blue does not")
        assert e.target.startswith(f"Answer 1: {first}\nAnswer 2: {second}\n")
        assert e.target.endswith("Answer 2 is better." if e.swapped else "Answer 1 is better.")
    assert examples[6].target.startswith("Answer 1 names the colour shown")
    with pytest.raises(ConfigError, match="note must be a string"):
        record_from_dict({"task": "image_understanding", "candidates": [{"text": "x", "note": 3}, {"text": "y"}],
                          "label": "A"})


# --- mixing ----------------------------------------------------------------------------------------------


def test_mixing_ratios_set_how_often_each_task_is_drawn(testbed_data, registry):
    records = [r for r in load_records(testbed_data / "train.jsonl") if r.task.startswith("image")]
    examples = build_examples(records, registry=registry, family="qwen_v1")
    natural = Counter(examples[i].task for i in mixture_schedule(examples, 2000, seed=0))
    assert 0.4 < natural["image_generation"] / 2000 < 0.6  # 4 + 4 examples: even by count
    mixed = Counter(examples[i].task for i in mixture_schedule(examples, 2000, seed=0,
                                                              ratios={"image_generation": 3, "image_understanding": 1}))
    assert 0.7 < mixed["image_generation"] / 2000 < 0.8
    with pytest.raises(ConfigError, match="without training examples"):
        mixture_schedule(examples, 10, ratios={"video_generation": 1})


# --- prompts ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("family", ["qwen_v1", "llava_v1"])
def test_training_prompts_render_exactly_as_the_templates_say(testbed_data, registry, family):
    records = load_records(testbed_data / "train.jsonl")
    examples = build_examples(records, registry=registry, family=family, seed=0)
    media = MediaCache(registry=registry)
    assert {e.task for e in examples} == set(TASKS)
    for ex, record in zip(examples, records):
        task = registry.task(ex.task)
        template = task.template(ex.template_id)
        assert ex.template_id == task.default_template(record.mode, family)
        request = task.build_request(ex.item, ex.template_id, media)
        slots = {}
        for slot in template.slots:
            slots[slot] = {"prompt": ex.item.prompt, "question": ex.item.question,
                           "response": ex.item.candidates[0].text, "response_1": ex.item.candidates[0].text,
                           "response_2": ex.item.candidates[-1].text}[slot]
        text = template.render(**slots)
        if template.delivery == "content_parts_before_text":
            assert request.text == text
        else:  # LLaVA: image placeholders in front of the rendered text
            assert request.text.endswith(text) and request.text[: -len(text)].count("<image>") >= 1
        kinds = [k for k, _ in request.parts]
        assert kinds[-1] == "text" and "text" not in kinds[:-1]  # media parts first, then the text
        messages = chat_messages(request, ex.target)
        assert messages[1] == {"role": "assistant", "content": [{"type": "text", "text": ex.target}]}
    rows = chat_rows(examples[:2], registry=registry, media=media)
    assert rows[0]["messages"][0]["content"][-1]["text"] == task_text(registry, examples[0], media)
    assert len(rows[0]["images"]) + len(rows[0]["videos"]) == sum(
        k != "text" for k, _ in registry.task(examples[0].task).build_request(
            examples[0].item, examples[0].template_id, media).parts)


def task_text(registry, example, media):
    return registry.task(example.task).build_request(example.item, example.template_id, media).text


def test_record_template_key_picks_the_template(tmp_path, short_registry):
    from training_fixtures import SHORT_TEMPLATE_ID

    rows = toy_records(tmp_path, 2, seed=0, template=SHORT_TEMPLATE_ID)
    examples = build_examples(load_records(rows, base_dir=tmp_path), registry=short_registry, family="qwen_v1")
    assert {e.template_id for e in examples} == {SHORT_TEMPLATE_ID}


# --- config ----------------------------------------------------------------------------------------------


def test_toml_config_resolves_paths_and_refuses_unknown_keys(tmp_path):
    (tmp_path / "base").mkdir()
    (tmp_path / "job.toml").write_text(
        'mode = "ablation"\nbase_model = "base"\noutput_dir = "out"\ntrain = "train.jsonl"\neval = ["eval.jsonl"]\n'
        '[training]\nlearning_rate = 5e-4\nmax_steps = 12\nbatch_size = 2\n[training.mix]\nimage_generation = 2.0\n'
        '[ablation]\njudge = "scalar"\n')
    job = TrainJudgeConfig.from_toml(tmp_path / "job.toml")
    assert job.base_model == str(tmp_path / "base") and job.output_dir == tmp_path / "out"
    assert job.train == [str(tmp_path / "train.jsonl")] and job.ablation_judge == "scalar"
    assert job.training.max_steps == 12 and job.training.mix == {"image_generation": 2.0}
    with pytest.raises(ConfigError, match="Did you mean 'batch_size'"):
        JudgeTrainingConfig.from_dict({"batchsize": 4})
    assert JudgeTrainingConfig(num_train_epochs=2, batch_size=4, gradient_accumulation_steps=2).optimizer_steps(20) == 5
