"""Parsers on realistic judge answers, malformed ones included: every failure is a value with the raw text."""

import pytest

from unireward_builtins.tasks._catalogue import builtin_templates
from unireward_sdk.parsing import parse
from unireward_sdk.records import ParseStatus, Score, Verdict

T = builtin_templates()


def run(template_id: str, raw: str):
    return parse(T[template_id], raw, "it-1")


def verdict(template_id: str, raw: str) -> Verdict:
    record = run(template_id, raw)
    assert isinstance(record, Verdict)
    assert record.raw == raw and record.item_id == "it-1"
    assert record.provenance.template_id == template_id
    return record


def score(template_id: str, raw: str) -> Score:
    record = run(template_id, raw)
    assert isinstance(record, Score)
    assert record.raw == raw and record.item_id == "it-1"
    return record


# --- pairwise verdict phrases --------------------------------------------------------------------

QWEN_IMG = "image_generation.pairwise_rank.qwen_v1"
LLAVA_IMG = "image_generation.pairwise_rank.llava_v1"
QWEN_VID = "video_generation.pairwise_rank.qwen_v1"
LLAVA_VID = "video_generation.pairwise_rank.llava_v1"
QWEN_IU = "image_understanding.pairwise_rank.qwen_v1"
LLAVA_IU = "image_understanding.pairwise_rank.llava_v1"


@pytest.mark.parametrize(
    ("template_id", "raw", "winner"),
    [
        (QWEN_IMG, "Image 1 is better.", "A"),
        (QWEN_IMG, "Image 2 is better.", "B"),
        (QWEN_IMG, "Both images are equally good.", "tie"),
        (QWEN_IMG, "Image 2 shows the red cube more clearly and its colors are accurate. Image 2 is better.", "B"),
        (QWEN_IMG, "**Image 1 is better.**", "A"),
        (QWEN_IMG, "image 1 is better", "A"),  # case and missing period
        (QWEN_IMG, "Image  2\nis better.", "B"),  # odd whitespace
        (QWEN_IMG, "Image 1 is better than Image 2.", "A"),  # long form on a short-form template
        (LLAVA_IMG, "Image 1 is better than Image 2.", "A"),
        (LLAVA_IMG, "Image 2 is better than Image 1.", "B"),
        (LLAVA_IMG, "Both images are equally good.", "tie"),
        (LLAVA_IMG, "Image 2 is better.", "B"),  # short form on a long-form template
        (QWEN_VID, "Video 1 is better", "A"),
        (QWEN_VID, "After watching both, Video 2 is better, since its motion is smoother.", "B"),
        (QWEN_VID, "Both videos are equally good.", "tie"),
        (LLAVA_VID, "Video 2 is better than Video 1.", "B"),
        (QWEN_IU, "Answer 1 mentions the dog correctly. Answer 1 is better.", "A"),
        (QWEN_IU, "Answer 2 is better.", "B"),
        (LLAVA_IU, "The second response is better because it names both objects.", "B"),
        (LLAVA_IU, "Response 1 is better: it is accurate.", "A"),
    ],
)
def test_verdict_phrases(template_id, raw, winner):
    v = verdict(template_id, raw)
    assert v.ok, v.error
    assert v.winner == winner


@pytest.mark.parametrize(
    ("template_id", "raw", "status", "message"),
    [
        (QWEN_IMG, "Image 1 is better in color, but Image 2 is better overall.", ParseStatus.AMBIGUOUS, "contradictory"),
        (QWEN_IMG, "Image 1 is better. Both images are equally good.", ParseStatus.AMBIGUOUS, "contradictory"),
        (QWEN_IMG, "Image 1 is better than Image 1.", ParseStatus.AMBIGUOUS, "itself"),
        (QWEN_IMG, "Neither image matches the caption.", ParseStatus.UNPARSED, "no verdict phrase"),
        (QWEN_IMG, "Image 3 is better.", ParseStatus.UNPARSED, "no verdict phrase"),
        (QWEN_IMG, "Image 1 is not better.", ParseStatus.UNPARSED, "no verdict phrase"),
        (QWEN_IMG, "", ParseStatus.UNPARSED, "empty"),
        (QWEN_IMG, "  \n ", ParseStatus.UNPARSED, "empty"),
        (QWEN_IU, "Both answers are equally good.", ParseStatus.UNPARSED, "does not allow"),  # no tie offered
        (LLAVA_VID, "Video 2 is better than Video 1. Video 1 is better than Video 2.", ParseStatus.AMBIGUOUS, "contradictory"),
    ],
)
def test_verdict_failures_are_values(template_id, raw, status, message):
    v = verdict(template_id, raw)
    assert not v.ok and v.winner is None
    assert v.status == status
    assert message in v.error


def test_the_prompts_own_option_list_echoed_back_is_ambiguous_not_first_wins():
    raw = 'Provide a clear conclusion such as "Image 1 is better.", "Image 2 is better." and "Both images are equally good."'
    v = verdict(QWEN_IMG, raw)
    assert v.status == ParseStatus.AMBIGUOUS and v.winner is None


# --- Overall Judgment ----------------------------------------------------------------------------

VU = "video_understanding.pairwise_rank.qwen_v1"
IU_DC = "image_understanding.pairwise_rank.data_construction"
VU_DC = "video_understanding.pairwise_rank.data_construction"

REASONING = ("1. Accuracy: Answer 1 is better at naming objects; Answer 2 is better at counting.\n"
             "2. Completeness: both address the question.\n")


@pytest.mark.parametrize(
    ("template_id", "raw", "winner"),
    [
        (VU, "Overall Judgment: Answer 1 is better than Answer 2.", "A"),
        (VU, REASONING + "Overall Judgment: Answer 2 is better than Answer 1.", "B"),  # reasoning mentions both
        (VU, REASONING + "**Overall Judgment:** Answer 2 is better than Answer 1.", "B"),
        (VU, REASONING + "Overall Judgment:\nAnswer 1 is better than Answer 2.", "A"),
        (VU, "Overall judgement: Answer 2 is better than Answer 1.", "B"),  # spelling variant, case
        (IU_DC, REASONING + "Overall Judgment: Answer 2 is better.", "B"),
        (IU_DC, "Overall Judgment: Answer 1.", "A"),  # the bare answer name
        (IU_DC, "Overall Judgment: The first answer is better.", "A"),
        (VU_DC, "Overall Judgment: Answer 1 is better than Answer 2. Answer 2 is better in style.", "A"),  # first sentence
        (VU, "Answer 2 is better than Answer 1.", "B"),  # no marker: the whole answer is read
        (VU, "Overall Judgment: Answer 1 is better. Later: Overall Judgment: Answer 2 is better.", "B"),  # last marker
    ],
)
def test_overall_judgment(template_id, raw, winner):
    v = verdict(template_id, raw)
    assert v.ok, v.error
    assert v.winner == winner


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ("Overall Judgment: Both answers are equally good.", ParseStatus.UNPARSED, "does not allow"),
        ("Overall Judgment: it depends on the viewer.", ParseStatus.UNPARSED, "names no winner"),
        ("Overall Judgment: Answer 1 is better than Answer 2 and Answer 2 is better than Answer 1.",
         ParseStatus.AMBIGUOUS, "contradictory"),
        (REASONING, ParseStatus.AMBIGUOUS, "contradictory"),  # no marker, both sides praised
        ("The answers differ.", ParseStatus.UNPARSED, "no verdict phrase"),
    ],
)
def test_overall_judgment_failures(raw, status, message):
    v = verdict(VU, raw)
    assert not v.ok and v.status == status and message in v.error


# --- Think ---------------------------------------------------------------------------------------

THINK_IMG = "image_generation.pairwise_cot.think"
THINK_IU = "image_understanding.pairwise_cot.think"
COT = ("<think>\n1. Semantic consistency: Image 1 (9/10); Image 2 (7/10)\nImage 1 is better in color.\n"
       "Total score:\nImage 1: 9+8=17\nImage 2: 7+8=15\n</think>\n")


@pytest.mark.parametrize(
    ("template_id", "raw", "winner"),
    [
        (THINK_IMG, COT + "<answer>Image 1 is better</answer>", "A"),
        (THINK_IMG, COT + "<answer>Image 2 is better</answer>", "B"),  # reasoning praised Image 1; the answer decides
        (THINK_IMG, "<answer>Image 2 is better</answer>", "B"),  # think tags missing
        (THINK_IMG, COT + "<answer> Image 2 is better. </answer>", "B"),
        (THINK_IMG, COT + "<answer>Image 1 is better", "A"),  # cut at the token budget, answer unterminated
        (THINK_IU, "<think>Answer 2 is better in clarity.</think><answer>Answer 1 is better</answer>", "A"),
    ],
)
def test_think_answer(template_id, raw, winner):
    v = verdict(template_id, raw)
    assert v.ok, v.error
    assert v.winner == winner


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (COT + "Image 1 is better", ParseStatus.UNPARSED, "no <answer>"),  # verdict outside the answer tags
        (COT, ParseStatus.UNPARSED, "think tags present"),
        ("Image 1 is better", ParseStatus.UNPARSED, "think tags absent"),
        (COT + "<answer></answer>", ParseStatus.UNPARSED, "empty"),
        (COT + "<answer>Both images are equally good</answer>", ParseStatus.UNPARSED, "does not allow"),
        (COT + "<answer>Image 1 is better or Image 2 is better</answer>", ParseStatus.AMBIGUOUS, "contradictory"),
        (COT + "<answer>Image 1 is better</answer><answer>Image 2 is better</answer>", ParseStatus.AMBIGUOUS,
         "contradictory"),
        (COT + "<answer>the first one</answer>", ParseStatus.UNPARSED, "no verdict phrase"),
    ],
)
def test_think_failures(raw, status, message):
    v = verdict(THINK_IMG, raw)
    assert not v.ok and v.status == status and message in v.error


# --- UnifiedReward 2.0 pairwise scores -----------------------------------------------------------

V2_IMG = "image_generation.pairwise_score.v2"
V2_VID = "video_generation.pairwise_score.v2"


def v2_answer(subject, shares):
    return "\n\n".join(f"{axis} Score:\n {subject} 1: {a}\n {subject} 2: {b}"
                       for axis, (a, b) in zip(("Alignment", "Coherence", "Style"), shares))


def test_v2_pairwise_scores_give_per_axis_shares_and_winner_by_total():
    raw = v2_answer("Image", [(0.7, 0.3), (0.4, 0.6), (0.55, 0.45)])
    v = verdict(V2_IMG, raw)
    assert v.ok and v.winner == "A"  # 1.65 vs 1.35
    assert dict(v.dimension_scores) == {"alignment": (0.7, 0.3), "coherence": (0.4, 0.6), "style": (0.55, 0.45)}


def test_v2_pairwise_scores_tie_when_totals_equal():
    v = verdict(V2_VID, v2_answer("Video", [(0.6, 0.4), (0.4, 0.6), (0.5, 0.5)]))
    assert v.ok and v.winner == "tie"


def test_v2_pairwise_scores_b_wins_and_markdown_is_tolerated():
    raw = "**Alignment Score:**\n - Video 1: 0.2\n - Video 2: 0.8\n\n**Coherence Score:**\n - Video 1: 0.5\n - Video 2: 0.5\n\n" \
          "**Style Score:**\n - Video 1: 0.45\n - Video 2: 0.55"
    v = verdict(V2_VID, raw)
    assert v.ok and v.winner == "B"
    assert v.dimension_scores["alignment"] == (0.2, 0.8)


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        (v2_answer("Image", [(0.7, 0.3), (0.4, 0.6)]), ParseStatus.UNPARSED, "style"),  # an axis missing
        (v2_answer("Image", [(0.7, 0.5), (0.4, 0.6), (0.5, 0.5)]), ParseStatus.OUT_OF_RANGE, "sum to 1.2"),
        (v2_answer("Image", [(1.5, -0.5), (0.4, 0.6), (0.5, 0.5)]), ParseStatus.OUT_OF_RANGE, "outside"),
        ("Alignment Score:\n Image 1: X\n Image 2: Y", ParseStatus.UNPARSED, "alignment"),  # the format echoed
    ],
)
def test_v2_pairwise_score_failures(raw, status, message):
    v = verdict(V2_IMG, raw)
    assert not v.ok and v.status == status and message in v.error


# --- Final Score ---------------------------------------------------------------------------------

IG = "image_generation.pointwise_score.qwen_v1"  # 1-5
IG_DC = "image_generation.pointwise_score.data_construction"  # 1-10
IU = "image_understanding.pointwise_score.qwen_v1"  # 0-100
VU_P = "video_understanding.pointwise_score.qwen_v1"  # 1-5
SGLANG = "image_generation.pointwise_score.llava_v1.sglang"

CHECKLIST = "red cube (object): 1\ntable (object): 1\nblue (attribute): 0\n"


@pytest.mark.parametrize(
    ("template_id", "raw", "value"),
    [
        (IG, CHECKLIST + "Final Score: 4", 4.0),
        (IG, CHECKLIST + "Final Score: 3.5", 3.5),  # decimals kept, not truncated to 3
        (IG, CHECKLIST + "**Final Score:** 2", 2.0),
        (IG, CHECKLIST + "Final Score: [5]", 5.0),
        (IG, CHECKLIST + "Final Score: 4/5", 4.0),
        (IG, "final score: 1.", 1.0),
        (IG_DC, CHECKLIST + "Final Score: 10", 10.0),  # two digits: 10, not 1
        (IG_DC, CHECKLIST + "Final Score: 9", 9.0),
        (IU, "The answer names the dog and the ball.\nFinal Score: 85", 85.0),
        (IU, "Final Score: 0", 0.0),
        (IU, "Final Score: 100", 100.0),
        (VU_P, "The response is accurate.\nFinal Score: 5", 5.0),
        (SGLANG, "Final Score: 4.25", 4.25),
        (IG, "assign a score after 'Final Score:'. Final Score: 3", 3.0),  # the last marker with a number
    ],
)
def test_final_score(template_id, raw, value):
    s = score(template_id, raw)
    assert s.ok, s.error
    assert s.value == value
    assert s.scale == T[template_id].score_range
    lo, hi = s.scale
    assert s.normalized == pytest.approx((value - lo) / (hi - lo))


def test_scores_compare_as_numbers_not_strings():
    nine, ten = score(IG_DC, "Final Score: 9"), score(IG_DC, "Final Score: 10")
    assert ten.value > nine.value and ten.normalized == 1.0


@pytest.mark.parametrize(
    ("template_id", "raw", "status", "message"),
    [
        (IG, CHECKLIST + "Final Score: 6", ParseStatus.OUT_OF_RANGE, "outside the scale 1-5"),
        (IG, "Final Score: 0", ParseStatus.OUT_OF_RANGE, "outside"),
        (IG, "Final Score: -2", ParseStatus.OUT_OF_RANGE, "outside"),
        (IG_DC, "Final Score: 11", ParseStatus.OUT_OF_RANGE, "outside"),
        (IU, "Final Score: 101", ParseStatus.OUT_OF_RANGE, "outside"),
        (IG, CHECKLIST, ParseStatus.UNPARSED, "no 'Final Score:'"),
        (IG, "Final Score: excellent", ParseStatus.UNPARSED, "not followed by a number"),
        (IG, "Score: 4", ParseStatus.UNPARSED, "no 'Final Score:'"),
        (IG, "", ParseStatus.UNPARSED, "empty"),
    ],
)
def test_final_score_failures(template_id, raw, status, message):
    s = score(template_id, raw)
    assert not s.ok and s.value is None and s.normalized is None
    assert s.status == status and message in s.error
    assert s.scale == T[template_id].score_range


# --- multi-axis scores ---------------------------------------------------------------------------

MULTI_V1 = "image_generation.pointwise_multi.qwen_v1"
MULTI_V2 = "image_generation.pointwise_multi.v2"
VMULTI_V2 = "video_generation.pointwise_multi.v2"


def test_multi_axis_v1_with_word_wise_line():
    raw = ('Word-wise Scores: [["red", 1], ["cube", 2], ["[No_mistakes]", 4]]\n\n'
           "Alignment Score (1-5): 4\nCoherence Score (1-5): 5\nStyle Score (1-5): 3")
    s = score(MULTI_V1, raw)
    assert s.ok and dict(s.dimensions) == {"alignment": 4.0, "coherence": 5.0, "style": 3.0}
    assert s.value == pytest.approx(4.0) and s.scale == (1.0, 5.0)


def test_multi_axis_v2_floats():
    raw = "Alignment Score (1-5): 2.6947\nCoherence Score (1-5): 3.1\nStyle Score (1-5): 4.05"
    s = score(MULTI_V2, raw)
    assert s.ok and s.dimensions["alignment"] == pytest.approx(2.6947)
    assert s.value == pytest.approx((2.6947 + 3.1 + 4.05) / 3)


def test_multi_axis_v2_video_has_physics():
    raw = "Alignment Score (1-5): 3.0987\nPhysics Score (1-5): 2.5\nStyle Score (1-5): 3.75"
    s = score(VMULTI_V2, raw)
    assert s.ok and set(s.dimensions) == {"alignment", "physics", "style"}
    assert s.dimensions["physics"] == 2.5


@pytest.mark.parametrize(
    ("raw", "status", "message"),
    [
        ("Alignment Score (1-5): 4\nCoherence Score (1-5): 5", ParseStatus.UNPARSED, "style"),
        ("Alignment Score (1-5): 4\nCoherence Score (1-5): 6\nStyle Score (1-5): 3", ParseStatus.OUT_OF_RANGE,
         "coherence=6"),
        ("Alignment Score (1-5): X\nCoherence Score (1-5): Y\nStyle Score (1-5): Z", ParseStatus.UNPARSED, "alignment"),
    ],
)
def test_multi_axis_failures_keep_the_axes_found(raw, status, message):
    s = score(MULTI_V2, raw)
    assert not s.ok and s.status == status and message in s.error
    assert s.value is None


def test_multi_axis_partial_failure_keeps_parsed_dimensions():
    s = score(MULTI_V2, "Alignment Score (1-5): 4\nCoherence Score (1-5): 5")
    assert dict(s.dimensions) == {"alignment": 4.0, "coherence": 5.0}


# --- VideoScore-style lines ----------------------------------------------------------------------

VS = "video_generation.pointwise_multi.qwen_v1"
VS_LINES = ("visual quality: 3\ntemporal consistency: 4\ndynamic degree: 2\ntext-to-video alignment: 3\n"
            "factual consistency: 4\n")


def test_videoscore_final_score_and_dimensions():
    s = score(VS, VS_LINES + "Final Score: 7")
    assert s.ok and s.value == 7.0 and s.scale == (1.0, 10.0)
    assert dict(s.dimensions) == {"visual_quality": 3.0, "temporal_consistency": 4.0, "dynamic_degree": 2.0,
                                  "text_to_video_alignment": 3.0, "factual_consistency": 4.0}


def test_videoscore_without_final_score_is_a_failure_that_keeps_dimensions():
    s = score(VS, VS_LINES)
    assert not s.ok and s.status == ParseStatus.UNPARSED and "Final Score" in s.error
    assert s.dimensions["dynamic_degree"] == 2.0 and s.value is None


def test_videoscore_dimension_outside_1_to_4_is_out_of_range():
    s = score(VS, VS_LINES.replace("dynamic degree: 2", "dynamic degree: 5") + "Final Score: 7")
    assert s.status == ParseStatus.OUT_OF_RANGE and "dynamic_degree=5" in s.error


def test_videoscore_final_score_ten_is_ten():
    assert score(VS, VS_LINES + "Final Score: 10").value == 10.0


# --- general -------------------------------------------------------------------------------------


@pytest.mark.parametrize("template_id", sorted(T))
def test_none_and_garbage_never_yield_a_default(template_id):
    for raw in (None, "", "lorem ipsum", "<answer>", "1"):
        record = parse(T[template_id], raw, "x")
        assert not record.ok
        assert record.error
        assert getattr(record, "winner", None) is None and getattr(record, "value", None) is None
