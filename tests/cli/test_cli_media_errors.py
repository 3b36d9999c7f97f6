"""Media errors with the real reason (issue 15, point 5): a video given to an image task is refused by its
type through the modality registry, before any decoder calls it a corrupt image; a cut MP4 is called
truncated, not an audio-only file."""

from __future__ import annotations

from cli_errors_fixtures import media, records, run, tiny_judge  # noqa: F401


def test_an_mp4_for_an_image_task_is_refused_by_type(capsys, media):
    code, out, err = run(capsys, "score", "--task", "image_generation", "--mode", "pairwise", "--prompt", "x",
                         "--model", media["red"].parent / "no_such_model", "--media", media["clip"], media["red"])
    assert code == 2 and out == ""
    assert "'clip.mp4' is a video file and task 'image_generation' takes images" in err
    assert "not a PNG" not in err


def test_an_mp4_item_built_in_python_is_refused_by_type(tiny_judge, media):
    from unireward_sdk import Candidate, JudgeItem, get_registry

    registry = get_registry()
    backend = registry.backend("transformers", checkpoint=str(tiny_judge), device="cpu")
    head = registry.reward_head("fast", backend=backend, task="image_generation", registry=registry)
    item = JudgeItem(id="1", task="image_generation", prompt="a red square",
                     candidates=[Candidate("a", modality="image", path=str(media["clip"])),
                                 Candidate("b", modality="image", path=str(media["red"]))])
    (verdict,) = head.judge_pairwise([item])
    assert verdict.status == "media_error"
    assert "'clip.mp4' is a video file and task 'image_generation' takes images" in verdict.error
    assert "not a PNG" not in verdict.error


def test_an_mp4_under_an_image_name_is_called_a_video(capsys, tiny_judge, media):
    code, out, _ = run(capsys, "score", "--task", "image_generation", "--mode", "pairwise", "--prompt", "x",
                       "--model", tiny_judge, "--head", "fast", "--media", media["disguised"], media["red"])
    (line,) = records(out)
    assert code == 1 and line["status"] == "media_error"
    assert "holds an MP4 / MOV video, not an image" in line["error"]


def test_a_truncated_mp4_is_called_truncated(capsys, tiny_judge, media):
    code, out, _ = run(capsys, "score", "--task", "video_generation", "--mode", "pairwise", "--prompt", "x",
                       "--model", tiny_judge, "--head", "fast", "--media", media["cut"], media["clip"])
    (line,) = records(out)
    assert code == 1 and line["status"] == "media_error"
    assert "cut.mp4: truncated or corrupt video" in line["error"]
    assert "audio" not in line["error"] and "no video stream" not in line["error"]
