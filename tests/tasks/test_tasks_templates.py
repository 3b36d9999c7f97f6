"""Templates: the shipped catalogue, byte-exact rendering of all 31, LLaVA prefixes, user template files."""

import json
from pathlib import Path

import attrs
import pytest

from unireward_builtins.tasks import _catalogue
from unireward_builtins.tasks._catalogue import builtin_templates, catalogue_data
from unireward_sdk.errors import ConflictError, TemplateError
from unireward_sdk.host import PluginHost
from unireward_sdk.registry import Registry
from unireward_sdk.templates import (
    MediaPrefix,
    Readout,
    Template,
    read_template_file,
    register_template_file,
    template_from_mapping,
)

REPO = Path(__file__).resolve().parents[2]
ORIGINAL = REPO.parent / "shared" / "data" / "unifiedreward_templates.json"
PACKAGED = REPO / "plugins" / "unireward_builtins" / "tasks" / "unifiedreward_templates.json"
ENTRIES = catalogue_data()["templates"]
TASK_MODULES = tuple(f"unireward_builtins.tasks.{t}" for t in
                     ("image_generation", "video_generation", "image_understanding", "video_understanding"))


def values_for(slots):
    # distinct, awkward values: braces, backslashes, newlines and another slot's name must come through verbatim
    return {s: f"«{s}» {{response_2}} \\n {{prompt}}\n end" for s in slots}


def registry(*extra_plugins):
    host = PluginHost.load(builtins=TASK_MODULES, entry_points=())
    for i, plugin in enumerate(extra_plugins):
        host.register(plugin, name=f"extra{i}")
    return Registry(host)


# --- the catalogue --------------------------------------------------------------------------------


@pytest.mark.skipif(not ORIGINAL.exists(), reason="the project's shared/data catalogue is not next to this checkout")
def test_packaged_catalogue_is_a_byte_copy_of_the_original():
    assert PACKAGED.read_bytes() == ORIGINAL.read_bytes()


def test_packaged_catalogue_is_loaded_as_package_data_with_attribution():
    assert _catalogue.catalogue_text().encode("utf-8") == PACKAGED.read_bytes()
    data = catalogue_data()
    assert data["license"] == "MIT" and data["source_repo"] == "CodeGoat24/UnifiedReward"
    assert "Permission is hereby granted" in data["license_notice"]
    t = builtin_templates()["image_generation.pairwise_rank.qwen_v1"]
    assert t.source["license"] == "MIT" and t.source["source_repo"] == "CodeGoat24/UnifiedReward"


def test_all_31_templates_with_the_catalogue_ids():
    assert len(ENTRIES) == 31
    assert list(builtin_templates()) == [e["id"] for e in ENTRIES]


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_render_is_byte_identical_to_the_catalogue(entry):
    t = builtin_templates()[entry["id"]]
    assert t.text == entry["text"]
    assert t.slots == tuple(entry["slots"])
    values = values_for(entry["slots"])
    rendered = t.render(**values)
    # the catalogue: no literal braces, so str.format gives the reference result
    assert rendered == entry["text"].format(**values)
    assert rendered.encode("utf-8") == entry["text"].format(**values).encode("utf-8")
    assert t.render(**values_for(entry["slots"])) == rendered  # deterministic


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["id"] for e in ENTRIES])
def test_full_prompt_is_prefix_plus_text(entry):
    t = builtin_templates()[entry["id"]]
    values = values_for(entry["slots"])
    prefix = entry["media_prefix"]
    if prefix is None:
        assert t.media_prefix is None and t.prefix() == ""
        assert t.prompt(values) == entry["text"].format(**values)
    elif prefix["repeat"] == "fixed":
        assert t.prompt(values, media_units=prefix["count"]) == prefix["literal"] + entry["text"].format(**values)
        assert t.delivery == "llava_placeholders"
    else:
        n = prefix["reference_count"]
        assert t.prompt(values, media_units=n) == "<image>\n" * n + entry["text"].format(**values)


def test_whitespace_oddities_survive():
    t = builtin_templates()
    iu = t["image_understanding.pointwise_score.qwen_v1"].text
    assert iu.startswith("\n            You are provided") and iu.endswith("]\n            ")
    assert "Description:  \n" in iu
    vs = t["video_generation.pointwise_multi.qwen_v1"].text
    assert "output a number from [1,2,3,4], \n" in vs and "'Good', \n" in vs
    assert "Do not dominant the rating" in t["image_understanding.pointwise_score.llava_v1"].text
    assert t["video_generation.pairwise_rank.qwen_v1"].text.endswith("]\n")


def test_llava_image_pair_prefix_keeps_the_space_oddity():
    t = builtin_templates()["image_generation.pairwise_rank.llava_v1"]
    assert t.prefix(2) == "<image>\n <image>\n"
    assert t.prompt({"prompt": "a cat"}, media_units=2).startswith("<image>\n <image>\nYou are given")


def test_video_data_construction_prefix_has_the_space_before_the_ninth_placeholder():
    t = builtin_templates()["video_generation.pairwise_rank.data_construction"]
    assert t.prefix(16) == "<image>\n" * 8 + " <image>\n" + "<image>\n" * 7


def test_fixed_prefix_refuses_another_frame_count():
    t = builtin_templates()["video_generation.pairwise_rank.data_construction"]
    with pytest.raises(TemplateError, match="16 placeholders but 10"):
        t.prefix(10)


def test_per_frame_prefix_follows_the_frames_actually_sampled():
    t = builtin_templates()["video_generation.pairwise_rank.llava_v1"]
    assert t.prefix(10) == "<image>\n" * 10
    assert t.prefix(16) == "<image>\n" * 16
    with pytest.raises(TemplateError, match="number of frames"):
        t.prefix()


def test_render_is_single_pass_and_verbatim():
    t = builtin_templates()["image_understanding.pairwise_cot.think"]
    out = t.render(question="Q {response_1}", response_1="{response_2}", response_2="$1 \\g<0> {question}")
    assert "Question: [Q {response_1}]\nAnswer 1: [{response_2}]\nAnswer 2: [$1 \\g<0> {question}]" in out


def test_render_refuses_missing_unknown_and_non_string_values():
    t = builtin_templates()["image_generation.pairwise_rank.qwen_v1"]
    with pytest.raises(TemplateError, match="missing slot values"):
        t.render()
    with pytest.raises(TemplateError, match="Did you mean 'prompt'"):
        t.render(prompt="x", promt="y")
    with pytest.raises(TemplateError, match="must be a string"):
        t.render(prompt=3)


# --- derived fields -------------------------------------------------------------------------------


def test_derived_fields_of_the_catalogue():
    t = builtin_templates()
    assert t["image_generation.pairwise_rank.qwen_v1"].allows_tie
    assert not t["image_understanding.pairwise_rank.qwen_v1"].allows_tie
    assert not t["video_understanding.pairwise_rank.qwen_v1"].allows_tie
    assert t["video_generation.pairwise_rank.qwen_v1"].subject == "Video"
    assert t["video_generation.pointwise_multi.v2"].axis_keys == ("alignment", "physics", "style")
    assert t["image_generation.pairwise_score.v2"].score_range == (0.0, 1.0)
    assert t["video_generation.pointwise_multi.qwen_v1"].dimension_range == (1.0, 4.0)
    assert t["image_generation.pointwise_score.llava_v1.sglang"].variant == "sglang"
    assert t["image_generation.pointwise_score.llava_v1.sglang"].delivery == "llava_placeholders"
    assert t["video_generation.pairwise_score.v2"].media_kind == "video_frames_as_images"
    assert t["video_generation.pairwise_score.v2"].media_count == 2
    assert t["video_understanding.pairwise_rank.data_construction"].media_count == 1


def test_token_budgets_short_verdicts_small_reasoning_large():
    t = builtin_templates()
    assert set(_catalogue.MAX_NEW_TOKENS) == set(t)
    assert t["image_generation.pairwise_rank.qwen_v1"].max_new_tokens <= 64
    assert t["image_generation.pointwise_multi.v2"].max_new_tokens <= 64
    assert all(x.max_new_tokens >= 2048 for x in t.values() if x.mode == "pairwise_cot")
    assert all(x.max_new_tokens >= 1024 for x in t.values() if x.output_format == "overall_judgment")


def test_readouts():
    t = builtin_templates()
    exact = [x.id for x in t.values() if x.readout and x.readout.exact]
    assert exact == ["image_generation.pairwise_rank.qwen_v1"]
    r = t["image_generation.pairwise_rank.qwen_v1"].readout
    assert r.prefix == "" and dict(r.choices) == {"A": "Image 1 is better.", "B": "Image 2 is better.",
                                                  "tie": "Both images are equally good."}
    assert set(t["image_understanding.pairwise_rank.qwen_v1"].readout.choices) == {"A", "B"}
    assert t["video_understanding.pairwise_rank.qwen_v1"].readout.prefix == "Overall Judgment: "
    assert t["image_generation.pairwise_cot.think"].readout is None
    assert "chain of thought" in t["image_generation.pairwise_cot.think"].readout_unavailable
    assert t["image_generation.pairwise_score.v2"].readout is None
    assert list(t["image_generation.pointwise_score.qwen_v1"].readout.choices) == ["1", "2", "3", "4", "5"]
    ten = t["image_generation.pointwise_score.data_construction"].readout
    assert "10" not in ten.choices and "'10' is left out" in ten.note
    hundred = t["image_understanding.pointwise_score.qwen_v1"].readout
    assert hundred.choices["74.5"] == "7"
    v2 = t["image_generation.pointwise_multi.v2"].readout
    assert v2.prefix == "Alignment Score (1-5): " and v2.choices["2.5"] == "2" and v2.choices["5"] == "5"


def test_readout_refuses_overlapping_choices():
    with pytest.raises(ValueError, match="prefix of"):
        Readout("Final Score: ", {"1": "1", "10": "10"})


def test_template_validation_names_the_problem():
    base = builtin_templates()["image_generation.pairwise_rank.qwen_v1"]
    with pytest.raises(TemplateError, match="does not appear in the text"):
        attrs.evolve(base, slots=("prompt", "question"))
    with pytest.raises(TemplateError, match="id says task"):
        attrs.evolve(base, task="video_generation")
    with pytest.raises(TemplateError, match="needs a media_prefix"):
        attrs.evolve(base, delivery="llava_placeholders")
    with pytest.raises(TemplateError, match="does not fit"):
        attrs.evolve(base, output_format="final_score", score_range=(1, 5), readout=None)
    with pytest.raises(TemplateError, match="tie"):
        t = builtin_templates()["image_understanding.pairwise_rank.qwen_v1"]
        attrs.evolve(t, readout=Readout("", {"A": "Answer 1", "B": "Answer 2", "tie": "Both"}))


def test_media_prefix_needs_its_literal():
    with pytest.raises(ValueError):
        MediaPrefix("fixed")


# --- user templates -------------------------------------------------------------------------------


NEW_TOML = '''
[[templates]]
id = "image_generation.pointwise_score.mine"
extends = "image_generation.pointwise_score.qwen_v1"
text = "Rate this image for the caption [{prompt}] from 1 to 10 after 'Final Score:'."
score_range = [1, 10]

[[templates]]
id = "image_generation.pairwise_rank.plain"
text = "Caption: {prompt}\\nWhich is better? Say \\"Image 1 is better\\" or \\"Image 2 is better\\"."
media_count = 2
verdict_phrases = ["Image 1 is better", "Image 2 is better"]
max_new_tokens = 16
'''


def test_template_file_adds_templates_that_the_task_and_parser_use(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(NEW_TOML, encoding="utf-8")
    reg = registry()
    register_template_file(reg, path)
    task = reg.task("image_generation")
    mine = task.template("image_generation.pointwise_score.mine")
    assert mine.render(prompt="a cat") == "Rate this image for the caption [a cat] from 1 to 10 after 'Final Score:'."
    assert mine.score_range == (1.0, 10.0) and mine.output_format == "final_score"
    assert mine.max_new_tokens == 512  # inherited
    assert "10" not in mine.readout.choices  # readout recomputed for the new scale
    assert task.parse(mine.id, "Final Score: 8.5", "i").value == 8.5
    plain = task.template("image_generation.pairwise_rank.plain")
    assert plain.slots == ("prompt",) and plain.max_new_tokens == 16 and not plain.allows_tie
    assert task.parse(plain.id, "Image 2 is better", "i").winner == "B"
    assert "image_generation.pairwise_rank.plain" in task.templates()
    assert reg.template_spec("image_generation.pairwise_rank.plain").task == "image_generation"


def test_replacing_a_builtin_needs_override(tmp_path):
    same = tmp_path / "same.toml"
    same.write_text('[[templates]]\nid = "image_generation.pairwise_rank.qwen_v1"\n'
                    'text = "Caption: [{prompt}] Image 1 is better or Image 2 is better?"\n'
                    'verdict_phrases = ["Image 1 is better", "Image 2 is better"]\n', encoding="utf-8")
    reg = registry()
    register_template_file(reg, same)
    with pytest.raises(ConflictError, match="2 plugins"):
        reg.task("image_generation").template("image_generation.pairwise_rank.qwen_v1")
    # other templates of the task still work, and the conflicted id is not listed
    assert "image_generation.pairwise_rank.qwen_v1" not in reg.task("image_generation").templates()

    forced = tmp_path / "forced.toml"
    forced.write_text('[[templates]]\nid = "image_generation.pairwise_rank.qwen_v1"\noverride = true\n'
                      'text = "NEW [{prompt}]"\n', encoding="utf-8")
    reg = registry()
    register_template_file(reg, forced)
    t = reg.task("image_generation").template("image_generation.pairwise_rank.qwen_v1")
    assert t.render(prompt="x") == "NEW [x]"
    assert t.verdict_phrases == builtin_templates()[t.id].verdict_phrases  # an override extends the built-in
    assert t.source["extends"] == t.id


def test_task_add_templates_refuses_silent_replacement():
    from unireward_builtins.tasks.image_generation import ImageGenerationTask

    task = ImageGenerationTask()
    base = task.template("image_generation.pairwise_rank.qwen_v1")
    changed = attrs.evolve(base, text=base.text + " ")
    with pytest.raises(TemplateError, match="already exists"):
        task.add_templates([changed])
    task.add_templates([changed], override=True)
    assert task.template(base.id).text.endswith(" ")
    with pytest.raises(TemplateError, match="is for task"):
        task.add_templates([builtin_templates()["video_generation.pairwise_rank.qwen_v1"]])


def test_json_file_in_the_catalogue_format(tmp_path):
    entry = dict(ENTRIES[0], id="image_generation.pairwise_rank.llava_v1.copy")
    path = tmp_path / "cat.json"
    path.write_text(json.dumps({"templates": [entry], "license": "MIT"}), encoding="utf-8")
    [(t, override)] = read_template_file(path)
    assert not override and t.variant == "copy"
    assert t.text == ENTRIES[0]["text"] and t.prefix(2) == "<image>\n <image>\n"
    assert t.source["license"] == "MIT"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[[templates]]\nid = "image_generation.pointwise_score.x"\ntext = "{prompt}"\nscore_rnage = [1, 5]\n',
         "Did you mean 'score_range'"),
        ('[[templates]]\nid = "image_generation.pointwise_score.x"\ntext = "{prompt}"\n', "needs a score_range"),
        ('[[templates]]\nid = "Bad Id"\ntext = "x"\n', "id must look like"),
        ('[[templates]]\nid = "image_generation.pointwise_score.x"\nextends = "nope"\n', "extends unknown"),
        ('[[templates]]\nid = "image_generation.pointwise_score.x"\n', "needs its 'text'"),
        ("not toml at all [[[", "cannot read"),
        ("", "no templates"),
    ],
)
def test_bad_template_files_say_what_is_wrong(tmp_path, body, message):
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(TemplateError, match=message) as info:
        read_template_file(path, bases=builtin_templates())
    assert "bad.toml" in str(info.value)


def test_template_from_mapping_keeps_an_explicit_readout_or_none():
    data = {"id": "image_generation.pointwise_score.r", "text": "[{prompt}]", "score_range": [1, 5],
            "readout": {"prefix": "Score: ", "choices": {"1": "1", "5": "5"}, "note": "two ends"}}
    t, _ = template_from_mapping(data)
    assert t.readout.prefix == "Score: " and set(t.readout.choices) == {"1", "5"}
    t2, _ = template_from_mapping({**data, "readout": False})
    assert t2.readout is None and "disabled" in t2.readout_unavailable


def test_template_record_is_frozen():
    t = builtin_templates()["image_generation.pairwise_rank.qwen_v1"]
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        t.text = "x"  # type: ignore[misc]
    assert isinstance(t, Template)
