"""The built-in ``image`` modality on real PNG, JPEG and WebP files written here."""

from __future__ import annotations

import pytest
from PIL import Image

from unireward_builtins.modalities.image import ImageModality
from unireward_sdk import MediaError
from unireward_sdk.testing.modality import ModalityContract


class TestImageContract(ModalityContract):
    name = "image"
    plugin = "unireward_builtins.modalities.image"

    @pytest.fixture
    def modality(self):
        return ImageModality()

    @pytest.fixture
    def sample_files(self, tmp_path, write_image):
        return [
            write_image(tmp_path / "a.png", seed=1),
            write_image(tmp_path / "b.jpg", seed=2, quality=90),
            write_image(tmp_path / "c.webp", seed=3),
        ]

    @pytest.fixture
    def corrupt_file(self, tmp_path):
        path = tmp_path / "random_bytes.png"
        path.write_bytes(bytes(range(256)) * 8)
        return path

    def check_data(self, media, path):
        assert isinstance(media.data, Image.Image)
        assert media.data.mode == "RGB"
        assert media.data.size == (80, 60) == media.meta["size"]
        assert media.meta["format"] in ("PNG", "JPEG", "WEBP")


def test_png_pixels_survive_exactly(tmp_path, write_image):
    path = write_image(tmp_path / "x.png", seed=5)
    media = ImageModality().load(path)
    with Image.open(path) as original:
        assert list(media.data.getdata()) == list(original.convert("RGB").getdata())


@pytest.mark.parametrize("mode", ["L", "P", "RGBA", "LA"])
def test_other_modes_become_rgb(tmp_path, write_image, mode):
    source_mode = "RGB" if mode == "P" else mode
    path = write_image(tmp_path / f"{mode}.png", seed=7, mode=source_mode)
    if mode == "P":
        with Image.open(path) as img:
            img.convert("P").save(path)
    media = ImageModality().load(path)
    assert media.data.mode == "RGB"
    assert media.meta["source_mode"] == mode


def test_transparent_pixels_go_onto_white(tmp_path):
    path = tmp_path / "clear.png"
    Image.new("RGBA", (4, 4), (10, 20, 30, 0)).save(path)
    media = ImageModality().load(path)
    assert media.data.getpixel((0, 0)) == (255, 255, 255)
    assert media.meta["alpha"] == "composited_on_white"


def test_max_pixels_resizes_keeping_aspect_and_records_it(tmp_path, write_image):
    path = write_image(tmp_path / "big.png", size=(400, 200))
    media = ImageModality(max_pixels=5000).load(path)
    width, height = media.data.size
    assert width * height <= 5000
    assert (width, height) == (100, 50) == media.meta["size"]
    assert media.meta["source_size"] == (400, 200)
    assert media.meta["resized"] is True and media.meta["max_pixels"] == 5000
    # a per-call bound wins over the instance's; small images are never upscaled
    assert ImageModality(max_pixels=5000).load(path, max_pixels=800).data.size == (40, 20)
    small = ImageModality(max_pixels=10**6).load(path)
    assert small.data.size == (400, 200) and small.meta["resized"] is False


def test_hash_is_of_the_file_not_the_resized_pixels(tmp_path, write_image):
    path = write_image(tmp_path / "big.png", size=(400, 200))
    assert ImageModality(max_pixels=5000).load(path).sha256 == ImageModality().load(path).sha256


def test_unsupported_format_is_named(tmp_path, write_image):
    path = write_image(tmp_path / "anim.gif")
    with pytest.raises(MediaError, match="unsupported image format GIF") as info:
        ImageModality().load(path)
    assert str(path) in str(info.value)


def test_truncated_jpeg_reason(tmp_path, write_image):
    data = write_image(tmp_path / "x.jpg", quality=95).read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) * 3 // 4])
    with pytest.raises(MediaError, match="truncated") as info:
        ImageModality().load(cut)
    assert str(cut) in str(info.value)


def test_directory_is_refused(tmp_path):
    with pytest.raises(MediaError, match="directory"):
        ImageModality().load(tmp_path)


def test_registry_routes_image_extensions(modality_registry, tmp_path, write_image):
    for name in ("a.png", "b.JPG", "c.jpeg", "d.webp"):
        assert modality_registry.modality_for_path(str(tmp_path / name)).name == "image"
    path = write_image(tmp_path / "upper.JPG", format="JPEG")
    assert modality_registry.modality_for_path(str(path)).load(path).meta["format"] == "JPEG"


def test_sixteen_bit_png_is_scaled_not_clipped(tmp_path):
    import numpy as np

    wide = (np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)  # 0 .. 65520
    path = tmp_path / "deep.png"
    Image.fromarray(wide).save(path)
    media = ImageModality().load(path)
    assert media.meta["source_mode"].startswith("I")
    red = np.asarray(media.data)[..., 0].astype(int)
    assert np.abs(red - np.round(wide / 257)).max() <= 1
