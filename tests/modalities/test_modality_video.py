"""The built-in ``video`` modality on real MP4 / WebM files encoded here with PyAV, and its sampling policy."""

from __future__ import annotations

import attrs
import pytest
from PIL import Image

import unireward_builtins.modalities.video as video_module
from unireward_builtins.modalities.video import VideoModality
from unireward_sdk import MediaError
from unireward_sdk.media import VideoSampling, evenly_spaced_indices, fit_within
from unireward_sdk.testing.modality import ModalityContract


def level(image: Image.Image) -> float:
    """Mean gray level of a frame; the test videos encode the frame index in it (8 * index)."""
    gray = image.convert("L")
    return sum(gray.getdata()) / (gray.width * gray.height)


class TestVideoContract(ModalityContract):
    name = "video"
    plugin = "unireward_builtins.modalities.video"

    @pytest.fixture
    def modality(self):
        return VideoModality()

    @pytest.fixture
    def sample_files(self, tmp_path, write_video):
        return [
            write_video(tmp_path / "h264.mp4", codec="libx264"),
            write_video(tmp_path / "mpeg4.mp4", codec="mpeg4", offset=1),
        ]

    @pytest.fixture
    def corrupt_file(self, tmp_path):
        path = tmp_path / "random_bytes.mp4"
        path.write_bytes(bytes((i * 37 + 11) % 256 for i in range(4096)))
        return path

    def check_data(self, media, path):
        assert isinstance(media.data, list) and len(media.data) == 8
        assert all(isinstance(f, Image.Image) and f.mode == "RGB" and f.size == (64, 48) for f in media.data)
        assert media.meta["frame_indices"] == (0, 4, 8, 12, 16, 20, 24, 29)


# --- the sampling policy ---------------------------------------------------------------------------------


def test_default_policy_is_eight_evenly_spaced_frames():
    assert VideoSampling() == VideoSampling(frames=8, fps=None, max_pixels=None)
    assert VideoSampling(fps=2).frames is None
    assert VideoSampling.rate(2.0) == VideoSampling(fps=2.0)
    assert VideoSampling.even(4, max_pixels=100) == VideoSampling(frames=4, max_pixels=100)


@pytest.mark.parametrize("kwargs", [
    {"frames": None}, {"frames": 8, "fps": 2.0}, {"frames": 0}, {"fps": -1.0}, {"frames": 2.5}, {"max_pixels": 0},
])
def test_invalid_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        VideoSampling(**kwargs)


def test_policy_is_frozen():
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        VideoSampling().frames = 4


@pytest.mark.parametrize(("total", "count", "expected"), [
    (30, 8, (0, 4, 8, 12, 16, 20, 24, 29)),
    (100, 8, (0, 14, 28, 42, 56, 70, 84, 99)),
    (8, 8, tuple(range(8))),
    (5, 8, (0, 1, 2, 3, 4)),  # fewer frames than asked: all of them, none repeated
    (10, 1, (0,)),
    (0, 8, ()),
])
def test_evenly_spaced_indices(total, count, expected):
    assert evenly_spaced_indices(total, count) == expected


def test_fit_within_keeps_aspect_and_never_upscales():
    assert fit_within(640, 480, None) == (640, 480)
    assert fit_within(640, 480, 10**7) == (640, 480)
    width, height = fit_within(640, 480, 100_000)
    assert width * height <= 100_000 and abs(width / height - 4 / 3) < 0.01


# --- decoding --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("codec", ["libx264", "mpeg4"])
def test_eight_evenly_spaced_frames_are_the_right_frames(tmp_path, write_video, codec):
    path = write_video(tmp_path / "v.mp4", frames=30, codec=codec)
    media = VideoModality().load(path)
    assert media.meta["frame_indices"] == (0, 4, 8, 12, 16, 20, 24, 29)
    for index, frame in zip(media.meta["frame_indices"], media.data):
        assert abs(level(frame) - 8 * index) < 4, f"frame {index} has level {level(frame)}"
    assert media.meta["frame_times"] == pytest.approx((0.0, 0.4, 0.8, 1.2, 1.6, 2.0, 2.4, 2.9))
    assert media.meta["sampling"] == {"frames": 8, "fps": None, "max_pixels": None}
    assert media.meta["source_fps"] == 10.0
    assert media.meta["source_frame_count"] == 30 == media.meta["declared_frame_count"]
    assert media.meta["source_size"] == (64, 48) == media.meta["size"]
    assert media.meta["frames_returned"] == 8 and media.meta["short"] is False


def test_fps_policy_keeps_one_frame_per_interval(tmp_path, write_video):
    path = write_video(tmp_path / "v.mp4", frames=30, fps=10)
    media = VideoModality(VideoSampling(fps=2)).load(path)
    assert media.meta["frame_indices"] == (0, 5, 10, 15, 20, 25)
    assert [round(level(f) / 8) for f in media.data] == [0, 5, 10, 15, 20, 25]
    assert media.meta["sampling"] == {"frames": None, "fps": 2.0, "max_pixels": None}


def test_fps_above_the_source_rate_never_repeats_frames(tmp_path, write_video):
    path = write_video(tmp_path / "v.mp4", frames=12, fps=10)
    media = VideoModality().load(path, sampling=VideoSampling(fps=25))
    assert media.meta["frame_indices"] == tuple(range(12))


def test_max_pixels_resizes_every_frame_and_records_it(tmp_path, write_video):
    path = write_video(tmp_path / "v.mp4", frames=10, size=(128, 96))
    media = VideoModality().load(path, sampling=VideoSampling(frames=4, max_pixels=3072))
    assert media.meta["size"] == (64, 48) and media.meta["source_size"] == (128, 96)
    assert all(f.size == (64, 48) for f in media.data)
    assert media.meta["sampling"]["max_pixels"] == 3072


def test_short_video_returns_the_frames_it_has(tmp_path, write_video):
    path = write_video(tmp_path / "short.mp4", frames=5)
    media = VideoModality().load(path)
    assert len(media.data) == 5
    assert media.meta["frame_indices"] == (0, 1, 2, 3, 4)
    assert media.meta["short"] is True and media.meta["frames_requested"] == 8
    assert [round(level(f) / 8) for f in media.data] == [0, 1, 2, 3, 4]


def test_container_without_frame_count_is_sampled_over_its_packets(tmp_path, write_video):
    path = write_video(tmp_path / "v.webm", frames=30, codec="libvpx-vp9")
    media = VideoModality().load(path)
    assert media.meta["declared_frame_count"] is None
    assert media.meta["frame_indices"] == (0, 4, 8, 12, 16, 20, 24, 29)
    assert media.meta["decode_passes"] == 1


def test_wrong_frame_estimate_triggers_a_second_exact_pass(tmp_path, write_video, monkeypatch):
    path = write_video(tmp_path / "v.mkv", frames=30, codec="mpeg4")
    monkeypatch.setattr(video_module, "_count_packets", lambda _path: 50)  # a container that miscounts
    media = VideoModality().load(path)
    assert media.meta["frame_indices"] == (0, 4, 8, 12, 16, 20, 24, 29)
    assert media.meta["decode_passes"] == 2
    assert [round(level(f) / 8) for f in media.data] == [0, 4, 8, 12, 16, 20, 24, 29]


def test_truncated_faststart_mp4_is_refused_not_shortened(tmp_path, write_video):
    # with the index at the front, half a file still opens and decodes some frames
    data = write_video(tmp_path / "fs.mp4", frames=30, faststart=True).read_bytes()
    for fraction in (0.5, 0.95):
        cut = tmp_path / f"cut_{fraction}.mp4"
        cut.write_bytes(data[: int(len(data) * fraction)])
        with pytest.raises(MediaError) as info:
            VideoModality().load(cut)
        assert str(cut) in str(info.value)
        assert "truncated" in str(info.value)


def test_audio_only_file_has_no_video_stream(tmp_path):
    import av
    import numpy as np

    path = tmp_path / "sound.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=8000)
        samples = np.zeros((1, 1024), np.float32)
        for _ in range(8):
            frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
            frame.sample_rate = 8000
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    with pytest.raises(MediaError, match="no video stream") as info:
        VideoModality().load(path)
    assert str(path) in str(info.value)


def test_text_file_with_video_extension_is_refused(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(MediaError, match="corrupt, truncated or unsupported video") as info:
        VideoModality().load(path)
    assert str(path) in str(info.value)


def test_registry_routes_video_extensions(modality_registry, tmp_path):
    for name in ("a.mp4", "b.MOV", "c.webm", "d.mkv"):
        assert modality_registry.modality_for_path(str(tmp_path / name)).name == "video"
