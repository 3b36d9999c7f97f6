"""The ``audio`` modality on real WAV and FLAC files written here, under the SDK's modality contract."""

from __future__ import annotations

import numpy as np
import pytest

from unireward_audio.modality import AudioModality
from unireward_sdk import MediaError
from unireward_sdk.testing.modality import ModalityContract


class TestAudioContract(ModalityContract):
    name = "audio"
    plugin = "unireward_audio.plugin"

    @pytest.fixture
    def modality(self):
        return AudioModality()

    @pytest.fixture
    def sample_files(self, tmp_path, write_wav, write_flac):
        return [
            write_wav(tmp_path / "a440.wav", frequency=440),
            write_wav(tmp_path / "b_stereo24.wav", frequency=330, channels=2, width=3),
            write_flac(tmp_path / "c880.flac", frequency=880),
        ]

    @pytest.fixture
    def corrupt_file(self, tmp_path):
        path = tmp_path / "noise.wav"
        path.write_bytes(bytes((i * 91 + 7) % 256 for i in range(2048)))
        return path

    def check_data(self, media, path):
        assert media.data.dtype == np.float32 and media.data.ndim == 2
        assert media.data.shape == (media.meta["channels"], media.meta["samples"])
        assert media.meta["sample_rate"] == 16000 and media.meta["duration"] == pytest.approx(0.5)
        assert 0.4 < float(np.abs(media.data).max()) <= 1.0


@pytest.mark.parametrize("width", [1, 2, 3, 4])
def test_wav_sample_widths_decode_to_the_written_signal(tmp_path, write_wav, make_tone, width):
    path = write_wav(tmp_path / f"w{width}.wav", channels=2, width=width)
    media = AudioModality().load(path)
    expected = make_tone(440.0, 16000, 0.5, 2)
    tolerance = 1 / 100 if width == 1 else 1e-4
    assert media.data.shape == expected.shape
    assert np.abs(media.data - expected).max() < tolerance
    assert media.meta["bits"] == 8 * width and media.meta["decoder"] == "wave"


def test_flac_decodes_to_the_written_signal(tmp_path, write_flac, make_tone):
    media = AudioModality().load(write_flac(tmp_path / "s.flac", channels=2))
    assert media.meta["format"] == "flac" and media.meta["decoder"] == "pyav"
    assert np.abs(media.data - make_tone(440.0, 16000, 0.5, 2)).max() < 1e-4


def test_float_wav_falls_back_to_pyav(tmp_path, write_float_wav, make_tone):
    media = AudioModality().load(write_float_wav(tmp_path / "f.wav"))
    assert media.meta["decoder"] == "pyav" and media.meta["sample_rate"] == 8000
    assert np.abs(media.data - make_tone(440.0, 8000, 0.25, 1)).max() < 1e-6


def test_mono_mixdown_is_recorded(tmp_path, write_wav):
    media = AudioModality(mono=True).load(write_wav(tmp_path / "st.wav", channels=2))
    assert media.data.shape[0] == 1 and media.meta["mono_mixdown"] is True and media.meta["channels"] == 2


def test_required_sample_rate_is_checked_not_resampled(tmp_path, write_wav):
    path = write_wav(tmp_path / "r.wav", rate=8000)
    assert AudioModality(sample_rate=8000).load(path).meta["sample_rate"] == 8000
    with pytest.raises(MediaError, match="8000 Hz, 16000 Hz required") as info:
        AudioModality(sample_rate=16000).load(path)
    assert str(path) in str(info.value)


def test_duration_bounds(tmp_path, write_wav):
    path = write_wav(tmp_path / "d.wav", seconds=0.5)
    with pytest.raises(MediaError, match="too short"):
        AudioModality(min_duration=1.0).load(path)
    with pytest.raises(MediaError, match="too long"):
        AudioModality(max_duration=0.25).load(path)


def test_wav_without_samples_is_refused(tmp_path, write_wav):
    path = write_wav(tmp_path / "silent.wav", seconds=0.0)
    with pytest.raises(MediaError, match="no audio samples") as info:
        AudioModality().load(path)
    assert str(path) in str(info.value)


def test_truncated_wav_reports_declared_and_present_frames(tmp_path, write_wav):
    data = write_wav(tmp_path / "t.wav").read_bytes()
    cut = tmp_path / "cut.wav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(MediaError, match=r"truncated: the header declares 8000 sample frames") as info:
        AudioModality().load(cut)
    assert str(cut) in str(info.value)


def test_other_formats_are_refused_by_content(tmp_path):
    path = tmp_path / "song.wav"
    path.write_bytes(b"ID3\x04" + bytes(500))  # an MP3 named .wav
    with pytest.raises(MediaError, match="not a WAV or FLAC file"):
        AudioModality().load(path)
