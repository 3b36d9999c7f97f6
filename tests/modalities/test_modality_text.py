"""The built-in ``text`` modality under the shared modality contract."""

from __future__ import annotations

import pytest

from unireward_builtins.modalities.text import TextModality
from unireward_sdk.testing.modality import ModalityContract


class TestTextContract(ModalityContract):
    name = "text"
    plugin = "unireward_builtins.modalities.text"
    detects_truncation = False  # half of a text file is a shorter text file

    @pytest.fixture
    def modality(self):
        return TextModality()

    @pytest.fixture
    def sample_files(self, tmp_path):
        a, b = tmp_path / "a.txt", tmp_path / "b.txt"
        a.write_text("a red cube on a blue floor\n", encoding="utf-8")
        b.write_text("zwei grüne Kugeln\n", encoding="utf-8")
        return [a, b]

    @pytest.fixture
    def corrupt_file(self, tmp_path):
        path = tmp_path / "latin1.txt"
        path.write_bytes("caf\xe9".encode("latin-1"))  # not UTF-8
        return path

    def check_data(self, media, path):
        assert media.data == path.read_text(encoding="utf-8")
