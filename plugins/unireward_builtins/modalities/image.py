"""The ``image`` modality: PNG, JPEG and WebP files decoded fully with PIL into RGB images.

A file that is missing, corrupt, truncated, or in another format raises :class:`MediaError` naming it;
nothing is ever replaced by a placeholder image.
"""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

from unireward_sdk import Media, MediaError, ModalitySpec, hookimpl
from unireward_sdk.media import fit_within, sha256_file

FORMATS = ("PNG", "JPEG", "WEBP")
_HIGH_BIT_MODES = ("I;16", "I;16B", "I;16L", "I")  # 16-bit grayscale PNG
EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")


class ImageModality:
    """Loads an image as a PIL RGB image; ``max_pixels`` bounds its area, keeping the aspect ratio."""

    name = "image"

    def __init__(self, max_pixels: int | None = None):
        self.max_pixels = max_pixels

    def load(self, source: str | Path, *, max_pixels: int | None = None) -> Media:
        from PIL import Image

        path = Path(source)
        data = _read(path)
        if not data:
            raise MediaError("empty file (0 bytes)", who=str(path),
                             fix="Re-export or re-download the image, or drop it from the data")
        bound = max_pixels if max_pixels is not None else self.max_pixels
        try:
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:
                img.load()  # decode every byte now, so a truncated file fails here and not inside a model
                fmt, source_mode, source_size = img.format, img.mode, img.size
                rgb, alpha = _to_rgb(img)
        except Image.DecompressionBombError as exc:
            raise MediaError(f"image too large to decode safely: {exc}", who=str(path),
                             fix="Downscale the file (e.g. to at most 8192x8192 pixels) or drop it from the data") \
                from exc
        except Image.UnidentifiedImageError:
            raise MediaError(_unidentified(data), who=str(path), fix="Use a PNG, JPEG or WebP file") from None
        except (OSError, SyntaxError, ValueError) as exc:  # PIL reports damaged data with these
            raise MediaError(f"corrupt or truncated {_label(path)} image: {exc}", who=str(path),
                             fix="Re-export or re-download the image, or drop it from the data") from exc

        size = fit_within(*rgb.size, bound)
        if size != rgb.size:
            rgb = rgb.resize(size, Image.Resampling.BICUBIC)
        meta = {
            "format": fmt,
            "source_mode": source_mode,
            "source_size": source_size,
            "size": rgb.size,
            "max_pixels": bound,
            "resized": size != source_size,
        }
        if alpha:
            meta["alpha"] = "composited_on_white"
        return Media(modality=self.name, sha256=hashlib.sha256(data).hexdigest(), data=rgb, path=str(path), meta=meta)

    def content_hash(self, source: str | Path) -> str:
        return sha256_file(source)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise MediaError("file not found", who=str(path), fix="Check the path") from None
    except IsADirectoryError:
        raise MediaError("is a directory, not an image file", who=str(path),
                         fix="Point to an image file (.png, .jpg, .jpeg or .webp) instead") from None
    except OSError as exc:
        raise MediaError(f"cannot read file: {exc.strerror or exc}", who=str(path),
                         fix="Make the file readable by this user (check its permissions)") from exc


def _to_rgb(img):
    """RGB conversion; transparent pixels go onto white, as the Qwen-VL image loader does."""
    from PIL import Image

    if img.mode in _HIGH_BIT_MODES:
        # PIL's own convert("RGB") clips 16-bit values at 255 (a white image); scale 0..65535 onto 0..255
        import numpy as np

        wide = np.asarray(img.convert("I"), dtype=np.int64)
        return Image.fromarray(np.clip((wide + 128) // 257, 0, 255).astype(np.uint8), mode="L").convert("RGB"), False
    has_alpha = img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info)
    if not has_alpha:
        return img.convert("RGB"), False
    rgba = img.convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB"), True


def _unidentified(data: bytes) -> str:
    """Why PIL refused the bytes: another image format (named), or no image at all."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as other:
            return f"unsupported image format {other.format} (supported: PNG, JPEG, WebP)"
    except Exception:  # noqa: BLE001 - any failure here means the bytes are no image PIL knows
        video = _video_container(data)
        if video:
            return f"the file holds {video} video, not an image (its name says image; rename it or use a video task)"
        return "corrupt file: not a PNG, JPEG or WebP image"


def _video_container(data: bytes) -> str | None:
    """The video container the bytes start with (ISO media, Matroska / WebM, AVI), if any."""
    if data[4:8] == b"ftyp":
        return "an MP4 / MOV"
    if data.startswith(b"\x1aE\xdf\xa3"):
        return "a WebM / Matroska"
    if data.startswith(b"RIFF") and data[8:12] == b"AVI ":
        return "an AVI"
    return None


def _label(path: Path) -> str:
    return path.suffix.lstrip(".").upper() or "image"


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="image", factory=ImageModality, extensions=EXTENSIONS,
                       summary="PNG / JPEG / WebP images as PIL RGB, optional max-pixels bound")
