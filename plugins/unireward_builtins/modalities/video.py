"""The ``video`` modality: PyAV decoding with an explicit, recorded frame-sampling policy.

``load`` decodes the file once, sequentially (cheaper than seeking unless keyframes are dense), keeps only
the frames the :class:`~unireward_sdk.media.VideoSampling` policy selects, and records the policy, the
frame indices and timestamps, and the source's frame rate, frame count and size in ``Media.meta``.

A missing, corrupt, truncated or unsupported file, or one without a decodable frame, raises
:class:`MediaError` naming the file. Frames are never invented: a video shorter than the requested count
gives all of its frames (``meta["short"] = True``), never black or repeated ones.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from unireward_sdk import Media, MediaError, ModalitySpec, hookimpl
from unireward_sdk.media import VideoSampling, evenly_spaced_indices, fit_within, sha256_file

EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi")
_REENCODE = "Re-encode the video (e.g. ffmpeg -i in.mp4 out.mp4) or drop it from the data"


def _missing_tolerance(declared: int) -> int:
    """Frames a file may decode short of its container's count before it counts as truncated.

    Containers occasionally count a frame or two the decoder never emits (edit lists, a dropped
    leading frame); a truncated file loses more.
    """
    return max(1, declared // 50)


class VideoModality:
    """Loads a video as a list of PIL RGB frames chosen by a :class:`VideoSampling` policy."""

    name = "video"

    def __init__(self, sampling: VideoSampling | None = None):
        self.sampling = sampling if sampling is not None else VideoSampling()

    def load(self, source: str | Path, *, sampling: VideoSampling | None = None) -> Media:
        path = Path(source)
        policy = sampling if sampling is not None else self.sampling
        digest = sha256_file(path)  # also reports a missing or unreadable file
        if path.stat().st_size == 0:
            raise MediaError("empty file (0 bytes)", who=str(path),
                             fix="Re-encode or re-download the file, or drop it from the data")
        cut = _iso_truncation(path)
        if cut:  # an MP4 / MOV cut short: say so, before the decoder reports a symptom of it
            raise MediaError(f"truncated or corrupt video: {cut}", who=str(path), fix=_REENCODE)
        import av

        try:
            probe = _probe(path)
            if policy.frames is not None:
                kept, total, passes = _sample_evenly(path, policy.frames, probe["declared_frames"])
            else:
                kept, total = _decode(path, _rate_selector(policy.fps, probe["fps"]))
                passes = 1
        except MediaError as exc:
            raise MediaError(exc.what, who=str(path), fix=exc.fix) from exc
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise MediaError(f"corrupt, truncated or unsupported video: {_reason(exc)}", who=str(path),
                             fix=_REENCODE) from exc

        declared = probe["declared_frames"]
        if total == 0:
            raise MediaError("no decodable video frames (corrupt or truncated file)", who=str(path), fix=_REENCODE)
        if declared and declared - total > _missing_tolerance(declared):
            raise MediaError(
                f"truncated or damaged: the container declares {declared} frames but only {total} decode",
                who=str(path), fix="Re-encode or re-download the file",
            )

        indices = sorted(kept)
        source_size = kept[indices[0]][1].size
        size = fit_within(*source_size, policy.max_pixels)
        frames = [_resized(kept[i][1], size) for i in indices]
        requested = policy.frames
        meta: dict[str, Any] = {
            "sampling": policy.as_dict(),
            "frame_indices": tuple(indices),
            "frame_times": tuple(kept[i][0] for i in indices),
            "frames_requested": requested,
            "frames_returned": len(frames),
            "short": requested is not None and len(frames) < requested,
            "source_fps": probe["fps"],
            "source_frame_count": total,
            "declared_frame_count": declared or None,
            "duration": probe["duration"],
            "codec": probe["codec"],
            "source_size": source_size,
            "size": size,
            "decode_passes": passes,
        }
        return Media(modality=self.name, sha256=digest, data=frames, path=str(path), meta=meta)

    def content_hash(self, source: str | Path) -> str:
        return sha256_file(source)


# --- decoding ----------------------------------------------------------------------------------------

Selector = Callable[[int, float | None], bool]


def _probe(path: Path) -> dict[str, Any]:
    import av

    with av.open(str(path)) as container:
        if not container.streams.video:
            if container.streams.audio:
                raise MediaError("no video stream in the file, only audio (an audio-only file)",
                                 fix="Use a file with a video stream")
            raise MediaError("truncated or corrupt video: the container lists no streams", fix=_REENCODE)
        stream = container.streams.video[0]
        if stream.codec_context is None:
            raise MediaError("truncated or corrupt video: the video stream has no codec parameters", fix=_REENCODE)
        rate = stream.average_rate or stream.guessed_rate
        duration = None
        if stream.duration is not None and stream.time_base is not None:
            duration = float(stream.duration * stream.time_base)
        elif container.duration is not None:
            duration = container.duration / 1_000_000
        return {
            "declared_frames": int(stream.frames or 0),
            "fps": float(rate) if rate else None,
            "duration": duration,
            "codec": stream.codec_context.name,
        }


_ISO_SUFFIXES = (".mp4", ".m4v", ".mov")
_ISO_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


def _iso_truncation(path: Path) -> str | None:
    """Why an MP4 / MOV file is cut short, from its top-level boxes (size + type headers), or ``None``.

    A complete file's boxes tile it exactly and include the ``moov`` index; a file cut short ends inside a box
    (or, when the index comes last, lacks it). Other containers, and files that do not start like ISO media,
    are left to the decoder.
    """
    if path.suffix.lower() not in _ISO_SUFFIXES:
        return None
    size = path.stat().st_size
    boxes: list[bytes] = []
    with path.open("rb") as fh:
        pos = 0
        while pos < size:
            fh.seek(pos)
            header = fh.read(16)
            kind = header[4:8]
            if not boxes and kind not in _ISO_FIRST_BOXES:
                return None  # not laid out as ISO media: not ours to judge
            if len(header) < 8:
                return f"the file ends inside a box header at byte {pos} of {size}"
            length = int.from_bytes(header[:4], "big")
            if length == 1:  # a 64-bit size follows the type
                if len(header) < 16:
                    return f"the file ends inside the '{kind.decode('latin-1')}' box header"
                length = int.from_bytes(header[8:16], "big")
            elif length == 0:  # the box runs to the end of the file
                length = size - pos
            if length < 8:
                return f"box '{kind.decode('latin-1')}' at byte {pos} has an impossible size ({length})"
            if pos + length > size:
                return (f"the file ends inside its '{kind.decode('latin-1')}' box "
                        f"({size - pos} of {length} bytes present)")
            boxes.append(kind)
            pos += length
    if b"moov" not in boxes:
        return "the 'moov' index is missing (the file was cut before its end)"
    return None


def _decode(path: Path, keep: Selector) -> tuple[dict[int, tuple[float | None, Any]], int]:
    """Decode every frame in order; return {index: (time, PIL image)} for the kept ones and the count."""
    import av

    kept: dict[int, tuple[float | None, Any]] = {}
    index = -1
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: same frames, faster
        try:
            for index, frame in enumerate(container.decode(stream)):
                time = float(frame.time) if frame.time is not None else None
                if keep(index, time):
                    kept[index] = (time, frame.to_image())  # to_image converts to RGB
        except av.error.FFmpegError as exc:
            raise MediaError(f"decoding failed after {index + 1} frames (truncated or corrupt): {_reason(exc)}",
                             fix=_REENCODE) from exc
    return kept, index + 1


def _sample_evenly(path: Path, count: int, declared: int) -> tuple[dict, int, int]:
    """N evenly spaced frames over the frames that actually decode.

    The container's frame count (or, without one, its packet count) picks the frames in one pass; if the
    decoder then yields another count and the right frames were not kept, a second pass uses the true count.
    """
    expected = declared or _count_packets(path)
    wanted = set(evenly_spaced_indices(expected, count))
    kept, total = _decode(path, lambda i, _t: i in wanted)
    final = evenly_spaced_indices(total, count)
    if set(final) <= kept.keys():
        return {i: kept[i] for i in final}, total, 1
    if declared and declared - total > _missing_tolerance(declared):
        return kept, total, 1  # the caller reports the truncation
    final_set = set(final)
    kept, total_again = _decode(path, lambda i, _t: i in final_set)
    if total_again != total:
        raise MediaError(f"decoding is not repeatable ({total} then {total_again} frames)", fix=_REENCODE)
    return kept, total, 2


def _count_packets(path: Path) -> int:
    """Video packets in the file: one per frame for the codecs we meet; no decoding needed."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sum(1 for packet in container.demux(stream) if packet.size)


def _rate_selector(fps: float, source_fps: float | None) -> Selector:
    """Keep the first frame of each 1/fps interval (by timestamp); never a frame twice."""
    state = {"t0": None, "last_slot": -1}

    def keep(index: int, time: float | None) -> bool:
        if time is None:
            if not source_fps:
                raise MediaError("frames carry no timestamps and the stream has no frame rate",
                                 fix="Use VideoSampling(frames=N) for this file")
            time = index / source_fps
        if state["t0"] is None:
            state["t0"] = time
        slot = math.floor((time - state["t0"]) * fps + 1e-6)
        if slot > state["last_slot"]:
            state["last_slot"] = slot
            return True
        return False

    return keep


def _resized(image, size: tuple[int, int]):
    from PIL import Image

    return image if image.size == size else image.resize(size, Image.Resampling.BICUBIC)


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return f"{type(exc).__name__}: {text}"


@hookimpl
def unireward_register_modalities():
    yield ModalitySpec(name="video", factory=VideoModality, extensions=EXTENSIONS,
                       summary="videos via PyAV; recorded sampling (N evenly spaced frames or fps, max pixels)")
