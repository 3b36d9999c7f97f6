"""The four built-in tasks: registration, defaults and capability matrix, requests built from items."""

from pathlib import Path

import pytest

from unireward_builtins.tasks.image_generation import ImageGenerationTask
from unireward_builtins.tasks.image_understanding import ImageUnderstandingTask
from unireward_builtins.tasks.video_generation import VideoGenerationTask
from unireward_builtins.tasks.video_understanding import VideoUnderstandingTask
from unireward_sdk.errors import CapabilityError, MediaError, TemplateError
from unireward_sdk.host import BUILTIN_PLUGINS, PluginHost
from unireward_sdk.interfaces import Task
from unireward_sdk.records import Candidate, JudgeItem, Verdict
from unireward_sdk.registry import Registry
from unireward_sdk.testing.task import FakeMediaLoader, TaskContract

TASKS = {"image_generation": ImageGenerationTask, "video_generation": VideoGenerationTask,
         "image_understanding": ImageUnderstandingTask, "video_understanding": VideoUnderstandingTask}
MODULES = tuple(f"unireward_builtins.tasks.{name}" for name in TASKS)
MODALITIES = ("unireward_builtins.modalities.text", "unireward_builtins.modalities.image",
              "unireward_builtins.modalities.video")


@pytest.fixture(scope="module")
def reg() -> Registry:
    return Registry(PluginHost.load(builtins=MODALITIES + MODULES, entry_points=()))


def gen_pair(task="image_generation", ext=".png"):
    return JudgeItem(id="p1", task=task, prompt="a red cube",
                     candidates=[Candidate(id="a", path=f"a{ext}"), Candidate(id="b", path=f"b{ext}")])


def und_pair(task="image_understanding", ext=".png"):
    return JudgeItem(id="u1", task=task, question="What color is the cube?", context=[f"ctx{ext}"],
                     candidates=[Candidate(id="a", text="Red."), Candidate(id="b", text="Blue.")])


# --- registration -----------------------------------------------------------------------------------


def test_tasks_are_builtin_plugins_with_their_modalities(reg):
    for module in MODULES:
        assert module in BUILTIN_PLUGINS
    assert reg.names("task") == sorted(TASKS)
    assert reg.task_spec("image_generation").modalities == ("image",)
    assert reg.task_spec("video_generation").modalities == ("video",)
    assert reg.task_spec("image_understanding").modalities[0] == "image"
    assert reg.task_spec("video_understanding").modalities[0] == "video"
    for name in TASKS:
        assert reg.task_spec(name).modes == ("pairwise", "pointwise")
        assert isinstance(reg.task(name), Task)


def test_every_template_is_registered_as_a_template_spec(reg):
    names = reg.names("template")
    assert len(names) == 31
    spec = reg.template_spec("video_generation.pairwise_score.v2")
    assert (spec.task, spec.mode, spec.family) == ("video_generation", "pairwise_score", "v2")
    assert spec.create().id == "video_generation.pairwise_score.v2"
    total = sum(len(reg.task(name).templates()) for name in TASKS)
    assert total == 31


def test_pipeline_validates_templates_against_task_and_mode():
    from unireward_sdk.pipeline import Pipeline
    from unireward_sdk.specs import BackendSpec, RewardHeadSpec
    from unireward_sdk.testing.plugins import spec_plugin

    host = PluginHost.load(builtins=MODALITIES + MODULES, entry_points=())
    host.register(spec_plugin(RewardHeadSpec(name="fake_head", factory=object),
                              BackendSpec(name="fake_backend", factory=object)), name="fakes")
    reg = Registry(host)
    kw = dict(head="fake_head", backend="fake_backend", registry=reg)
    Pipeline(task="image_generation", mode="pairwise", template="image_generation.pairwise_rank.qwen_v1", **kw)
    Pipeline(task="video_generation", mode="pairwise", template="video_generation.pairwise_score.v2",
             pointwise_template="video_generation.pointwise_multi.v2", **kw)
    with pytest.raises(CapabilityError, match="is for task 'video_generation'"):
        Pipeline(task="image_generation", mode="pairwise", template="video_generation.pairwise_rank.qwen_v1", **kw)
    with pytest.raises(CapabilityError, match="pointwise template"):
        Pipeline(task="image_generation", mode="pairwise", template="image_generation.pointwise_score.qwen_v1", **kw)


# --- defaults and capability matrix -----------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(TASKS))
def test_defaults_cover_every_family_and_mode(name):
    task = TASKS[name]()
    for family in ("qwen_v1", "llava_v1", "v2", "think"):
        pairwise = task.template(task.default_template("pairwise", family))
        assert pairwise.judging_mode == "pairwise"
        if family == "think":
            assert pairwise.mode == "pairwise_cot"
            with pytest.raises(TemplateError, match="pairs only"):
                task.default_template("pointwise", family)
        else:
            assert task.template(task.default_template("pointwise", family)).judging_mode == "pointwise"


def test_default_template_errors_help():
    task = ImageGenerationTask()
    with pytest.raises(TemplateError, match="Did you mean 'qwen_v1'"):
        task.default_template("pairwise", "qwen_v2")
    with pytest.raises(TemplateError, match="pairwise or pointwise"):
        task.default_template("listwise", "qwen_v1")


def test_capability_matrix_rows():
    rows = {(c.family, c.mode): c for c in VideoUnderstandingTask().capabilities()}
    assert len(rows) == 8
    assert rows[("llava_v1", "pairwise")].template == "video_understanding.pairwise_rank.data_construction"
    assert "data-construction" in rows[("llava_v1", "pairwise")].note
    assert not rows[("think", "pointwise")].supported and rows[("think", "pointwise")].also == ()
    assert "video_understanding.pairwise_rank.qwen_v1" in rows[("think", "pairwise")].also
    assert "unverified" in rows[("v2", "pairwise")].note


def test_first_party_template_families_match_the_defaults():
    for name, cls in TASKS.items():
        task = cls()
        for (mode, family), template_id in cls.defaults.items():
            t = task.template(template_id)
            # a default from another family is a borrowed prompt, and the matrix must say so
            assert t.family in cls.compatible[family] or cls.notes.get((mode, family)), (name, family, template_id)


# --- requests -------------------------------------------------------------------------------------


def paths_of(parts):
    return [value.info["path"] if kind == "image" else [f.info["path"] for f in value] for kind, value in parts[:-1]]


def test_qwen_image_pair_request_is_image1_image2_text():
    loader = FakeMediaLoader()
    req = ImageGenerationTask().build_request(gen_pair(), "image_generation.pairwise_rank.qwen_v1", loader)
    assert [k for k, _ in req.parts] == ["image", "image", "text"]
    assert paths_of(req.parts) == ["a.png", "b.png"]
    assert req.text.endswith("Text Caption: [a red cube]") and "<image>" not in req.text
    assert req.max_new_tokens == 64 and req.item_id == "p1"
    assert loader.calls == [("a.png", "image"), ("b.png", "image")]


def test_llava_image_pair_request_has_the_literal_prefix():
    req = ImageGenerationTask().build_request(gen_pair(), "image_generation.pairwise_rank.llava_v1", FakeMediaLoader())
    assert req.text.startswith("<image>\n <image>\nYou are given a text caption")
    assert [k for k, _ in req.parts] == ["image", "image", "text"]


@pytest.mark.parametrize("frames", [8, 5])
def test_llava_video_pair_prefix_counts_the_frames_actually_sampled(frames):
    req = VideoGenerationTask().build_request(gen_pair("video_generation", ".mp4"),
                                              "video_generation.pairwise_rank.llava_v1", FakeMediaLoader(frames))
    assert req.text.startswith("<image>\n" * (2 * frames) + "Suppose you are an expert")
    assert [k for k, _ in req.parts] == ["image"] * (2 * frames) + ["text"]
    assert paths_of(req.parts) == ["a.mp4"] * frames + ["b.mp4"] * frames  # Video 1's frames, then Video 2's


def test_fixed_video_prefix_needs_eight_frames_per_video():
    task = VideoGenerationTask()
    item = gen_pair("video_generation", ".mp4")
    ok = task.build_request(item, "video_generation.pairwise_rank.data_construction", FakeMediaLoader(8))
    assert ok.text.startswith("<image>\n" * 8 + " <image>\n")
    # a per-item media problem (a short video), so heads record it as that item's MEDIA_ERROR
    with pytest.raises(MediaError, match="16 image placeholders but the media gave 12"):
        task.build_request(item, "video_generation.pairwise_rank.data_construction", FakeMediaLoader(6))


def test_qwen_video_pair_sends_two_video_parts():
    req = VideoGenerationTask().build_request(gen_pair("video_generation", ".mp4"),
                                              "video_generation.pairwise_rank.qwen_v1", FakeMediaLoader(8))
    assert [k for k, _ in req.parts] == ["video", "video", "text"]
    assert len(req.parts[0][1]) == 8 and req.parts[0][1][0].info["path"] == "a.mp4"


def test_v2_video_frames_go_as_images():
    req = VideoGenerationTask().build_request(gen_pair("video_generation", ".mp4"),
                                              "video_generation.pairwise_score.v2", FakeMediaLoader(4))
    assert [k for k, _ in req.parts] == ["image"] * 8 + ["text"] and "<image>" not in req.text


def test_understanding_request_uses_the_context_and_candidate_texts():
    req = ImageUnderstandingTask().build_request(und_pair(), "image_understanding.pairwise_rank.qwen_v1",
                                                 FakeMediaLoader())
    assert [k for k, _ in req.parts] == ["image", "text"] and paths_of(req.parts) == ["ctx.png"]
    assert req.text.endswith("Question: What color is the cube?\nAnswer 1: Red.\nAnswer 2: Blue.\n")
    vu = VideoUnderstandingTask()
    point = JudgeItem(id="u2", task="video_understanding", question="Q?", context=["v.mp4"],
                      candidates=[Candidate(id="a", text="It rolls.")])
    req = vu.build_request(point, "video_understanding.pointwise_score.llava_v1", FakeMediaLoader(8))
    assert req.text.startswith("<image>\n" * 8 + "You are provided with a video")
    assert req.text.endswith("Question: [Q?]\nResponse: [It rolls.]")


@pytest.mark.parametrize(
    ("task", "item", "template_id", "message"),
    [
        (ImageGenerationTask(), gen_pair(), "image_generation.pointwise_score.qwen_v1", "judges pointwise items"),
        (ImageGenerationTask(), gen_pair(), "video_generation.pairwise_rank.qwen_v1", "belongs to task"),
        (ImageGenerationTask(), gen_pair(), "image_generation.pairwise_rank.qwen_v2", "Did you mean"),
        (ImageGenerationTask(), JudgeItem(id="x", task="image_generation", candidates=[Candidate(id="a", path="a.png"),
                                                                                       Candidate(id="b", path="b.png")]),
         "image_generation.pairwise_rank.qwen_v1", "needs slot 'prompt'"),
        (ImageGenerationTask(), JudgeItem(id="x", task="image_generation", prompt="p",
                                          candidates=[Candidate(id="a", text="t"), Candidate(id="b", path="b.png")]),
         "image_generation.pairwise_rank.qwen_v1", "have no media file"),
        (ImageUnderstandingTask(), JudgeItem(id="x", task="image_understanding", question="q",
                                             candidates=[Candidate(id="a", text="1"), Candidate(id="b", text="2")]),
         "image_understanding.pairwise_rank.qwen_v1", "hold 0"),
        (ImageUnderstandingTask(), gen_pair(), "image_understanding.pairwise_rank.qwen_v1", "item is for task"),
    ],
)
def test_build_request_refuses_items_that_do_not_fit(task, item, template_id, message):
    with pytest.raises(TemplateError, match=message):
        task.build_request(item, template_id, FakeMediaLoader())


def test_build_request_refuses_a_video_loader_result_for_an_image_template():
    class VideoOnly(FakeMediaLoader):
        def __call__(self, path, modality=None):
            return super().__call__(path, "video")

    with pytest.raises(TemplateError, match="shows images"):
        ImageGenerationTask().build_request(gen_pair(), "image_generation.pairwise_rank.qwen_v1", VideoOnly())


def test_parse_goes_through_the_task():
    v = VideoUnderstandingTask().parse("video_understanding.pairwise_rank.qwen_v1",
                                       "Overall Judgment: Answer 2 is better than Answer 1.", "u1")
    assert isinstance(v, Verdict) and v.winner == "B" and v.item_id == "u1"


def test_requests_from_real_files_through_the_media_cache(tmp_path, reg):
    import av
    import numpy as np
    from PIL import Image

    from unireward_sdk.media import MediaCache, VideoSampling

    for name, color in (("a.png", (255, 0, 0)), ("b.png", (0, 0, 255))):
        Image.new("RGB", (16, 16), color).save(tmp_path / name)
    for name in ("a.mp4", "b.mp4"):
        with av.open(str(tmp_path / name), "w") as container:
            stream = container.add_stream("libx264", rate=10)
            stream.width, stream.height, stream.pix_fmt = 32, 32, "yuv420p"
            for i in range(12):
                frame = av.VideoFrame.from_ndarray(np.full((32, 32, 3), 10 * i, np.uint8), format="rgb24")
                for packet in stream.encode(frame):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
    cache = MediaCache(registry=reg, video_policy=VideoSampling(frames=6))
    item = JudgeItem(id="r", task="image_generation", prompt="red then blue",
                     candidates=[Candidate(id="a", path=str(tmp_path / "a.png")),
                                 Candidate(id="b", path=str(tmp_path / "b.png"))])
    req = reg.task("image_generation").build_request(item, "image_generation.pairwise_rank.qwen_v1", cache)
    assert req.parts[0][1].getpixel((0, 0))[0] > 200 and req.parts[1][1].getpixel((0, 0))[2] > 200  # A then B
    vitem = JudgeItem(id="v", task="video_generation", prompt="fade",
                      candidates=[Candidate(id="a", path=str(tmp_path / "a.mp4")),
                                  Candidate(id="b", path=str(tmp_path / "b.mp4"))])
    vreq = reg.task("video_generation").build_request(vitem, "video_generation.pairwise_rank.llava_v1", cache)
    assert vreq.text.startswith("<image>\n" * 12 + "Suppose")  # 6 sampled frames per video
    qreq = reg.task("video_generation").build_request(vitem, "video_generation.pairwise_rank.qwen_v1", cache)
    assert [k for k, _ in qreq.parts] == ["video", "video", "text"] and len(qreq.parts[0][1]) == 6


# --- the contract can fail ---------------------------------------------------------------------------


class _SwappedOrderTask(ImageGenerationTask):
    def build_request(self, item, template_id, media):
        req = super().build_request(item, template_id, media)
        parts = list(req.parts)
        return type(req)(parts=[parts[-1]] + parts[:-1], template_id=req.template_id,
                         max_new_tokens=req.max_new_tokens, item_id=req.item_id)


class _FirstWinsTask(ImageGenerationTask):
    def parse(self, template_id, raw, item_id):
        record = super().parse(template_id, raw, item_id)
        if isinstance(record, Verdict) and not record.ok:
            return Verdict(item_id=item_id, winner="A", raw=raw)  # the defect the contract must catch
        return record


def test_contract_catches_text_before_media():
    with pytest.raises(AssertionError):
        TaskContract().test_build_request_puts_media_first_then_text(_SwappedOrderTask())


def test_contract_catches_a_default_winner():
    with pytest.raises(AssertionError):
        TaskContract().test_garbage_is_a_failure_value(_FirstWinsTask())


def test_docs_page_exists():
    assert (Path(__file__).resolve().parents[2] / "docs" / "judging-templates.md").exists()
