"""Contract tests for modality plugins: subclass :class:`ModalityContract`, state fixtures, inherit checks.

    from unireward_sdk.testing.modality import ModalityContract

    class TestAudioModality(ModalityContract):
        name = "audio"
        plugin = "unireward_audio.plugin"          # optional: the module with the @hookimpl

        @pytest.fixture
        def modality(self):
            return AudioModality()

        @pytest.fixture
        def sample_files(self, tmp_path):          # two or more valid files with different content
            return [write_wav(tmp_path / "a.wav", 440), write_wav(tmp_path / "b.wav", 880)]

        @pytest.fixture
        def corrupt_file(self, tmp_path):          # right extension, wrong content
            path = tmp_path / "bad.wav"
            path.write_bytes(b"not audio at all" * 10)
            return path

The inherited tests check what every caller of a modality relies on: ``load`` returns a :class:`Media`
named after the modality with a sha256 of the content; the hash is deterministic, content-based and
equal to ``content_hash``; a missing, empty, corrupt or truncated file raises :class:`MediaError` whose
message names the file; nothing is silently replaced by a default. Set ``detects_truncation = False``
for formats where a cut file is still valid (plain text).
"""

from __future__ import annotations

import importlib
import re
import shutil
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ..errors import MediaError
from ..interfaces import Modality
from ..records import Media
from ..specs import ModalitySpec

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ModalityContract:
    """Checks every modality plugin must pass. Not collected itself (no ``Test`` prefix)."""

    #: the modality's registered name
    name: ClassVar[str] = ""
    #: dotted name of the plugin module that yields the ModalitySpec (None: skip the spec checks)
    plugin: ClassVar[str | None] = None
    #: False for formats where half a file is still a valid file
    detects_truncation: ClassVar[bool] = True

    # --- fixtures a subclass provides ---------------------------------------------------------------

    @pytest.fixture
    def modality(self) -> Any:
        raise NotImplementedError("a ModalityContract subclass must define the `modality` fixture")

    @pytest.fixture
    def sample_files(self, tmp_path: Path) -> list[Path]:
        raise NotImplementedError("a ModalityContract subclass must define the `sample_files` fixture")

    @pytest.fixture
    def corrupt_file(self, tmp_path: Path) -> Path:
        raise NotImplementedError("a ModalityContract subclass must define the `corrupt_file` fixture")

    # --- helpers a subclass may override ------------------------------------------------------------

    def check_data(self, media: Media, path: Path) -> None:
        """Extra checks on decoded data (override to assert on frames, sample rates...)."""
        assert media.data is not None, f"{path}: load returned no data"

    # --- the contract -------------------------------------------------------------------------------

    def test_fixtures_are_usable(self, modality, sample_files):
        assert self.name, "set the class attribute `name` to the modality's registered name"
        assert len(sample_files) >= 2, "give at least two valid sample files so hashes can be told apart"
        assert len({Path(p).read_bytes() for p in sample_files}) == len(sample_files), \
            "sample files must have different content"

    def test_satisfies_protocol(self, modality):
        assert isinstance(modality, Modality)
        assert modality.name == self.name

    def test_load_returns_media(self, modality, sample_files):
        for path in sample_files:
            media = modality.load(path)
            assert isinstance(media, Media)
            assert media.modality == self.name
            assert _SHA256.match(media.sha256), f"sha256 {media.sha256!r} is not 64 lower-case hex digits"
            assert media.path is not None and Path(media.path) == Path(path)
            self.check_data(media, Path(path))

    def test_load_accepts_str_paths(self, modality, sample_files):
        assert modality.load(str(sample_files[0])).sha256 == modality.load(Path(sample_files[0])).sha256

    def test_hash_is_deterministic_and_matches_content_hash(self, modality, sample_files):
        for path in sample_files:
            first, second = modality.load(path), modality.load(path)
            assert first.sha256 == second.sha256
            assert first.meta == second.meta
            assert modality.content_hash(path) == first.sha256

    def test_hash_depends_on_content_not_name(self, modality, sample_files, tmp_path):
        copy_dir = tmp_path / "copy_of_sample"
        copy_dir.mkdir()
        original = Path(sample_files[0])
        copy = copy_dir / f"renamed{original.suffix}"
        shutil.copyfile(original, copy)
        assert modality.load(copy).sha256 == modality.load(original).sha256
        hashes = {modality.load(p).sha256 for p in sample_files}
        assert len(hashes) == len(sample_files), "different files must hash differently"

    def test_missing_file_raises_naming_it(self, modality, sample_files, tmp_path):
        missing = tmp_path / f"does_not_exist{Path(sample_files[0]).suffix}"
        self._assert_refused(modality, missing)

    def test_empty_file_raises_naming_it(self, modality, sample_files, tmp_path):
        if not self.detects_truncation:
            pytest.skip(f"an empty file is a valid {self.name} file")
        empty = tmp_path / f"empty{Path(sample_files[0]).suffix}"
        empty.write_bytes(b"")
        self._assert_refused(modality, empty)

    def test_corrupt_file_raises_naming_it(self, modality, corrupt_file):
        self._assert_refused(modality, corrupt_file)

    def test_truncated_file_raises_naming_it(self, modality, sample_files, tmp_path):
        if not self.detects_truncation:
            pytest.skip(f"a truncated {self.name} file is indistinguishable from a shorter one")
        for path in sample_files:
            data = Path(path).read_bytes()
            cut = tmp_path / f"truncated_{Path(path).name}"
            cut.write_bytes(data[: len(data) // 2])
            self._assert_refused(modality, cut)

    def test_plugin_yields_spec(self, sample_files):
        if self.plugin is None:
            pytest.skip("no plugin module named (set `plugin` to check the registered spec)")
        module = importlib.import_module(self.plugin)
        specs = [s for s in module.unireward_register_modalities() if s.name == self.name]
        assert len(specs) == 1, f"{self.plugin} must yield exactly one ModalitySpec named {self.name!r}"
        spec = specs[0]
        assert isinstance(spec, ModalitySpec)
        for ext in spec.extensions:
            assert ext.startswith(".") and ext == ext.lower(), f"extension {ext!r}: lower case with a leading dot"
        for path in sample_files:
            assert Path(path).suffix.lower() in spec.extensions, f"{path} has an extension the spec does not declare"
        built = spec.create()
        assert built.name == self.name

    # --- internals -----------------------------------------------------------------------------------

    @staticmethod
    def _assert_refused(modality: Any, path: Path) -> None:
        with pytest.raises(MediaError) as info:
            modality.load(path)
        assert str(path) in str(info.value) or Path(path).name in str(info.value), \
            f"the error must name the file {path}: {info.value}"
