"""Media loading hot paths, as ratios measured in one run: cache hit vs decode, keep-8 decode vs naive decode.

Run: .venv/bin/pytest benchmarks/test_bench_modalities.py -s (add --benchmark-disable for a smoke run).
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from unireward_sdk.host import PluginHost
from unireward_sdk.media import MediaCache, VideoSampling, evenly_spaced_indices
from unireward_sdk.registry import Registry

FRAMES, WIDTH, HEIGHT = 150, 320, 240


@pytest.fixture(scope="module")
def noise_video(tmp_path_factory) -> Path:
    """A hard-to-compress clip (random pixels), the worst case for decoding."""
    import av
    import numpy as np

    path = tmp_path_factory.mktemp("bench") / "noise.mp4"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        for _ in range(FRAMES):
            pixels = rng.integers(0, 256, (HEIGHT, WIDTH, 3), dtype=np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(pixels, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _best_of(fn, repeats: int = 3) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def _naive_all_frames_to_images(path: Path) -> list:
    """What a loader without a policy does: every frame converted to an image, then 8 picked."""
    import av

    with av.open(str(path)) as container:
        images = [frame.to_image() for frame in container.decode(container.streams.video[0])]
    return [images[i] for i in evenly_spaced_indices(len(images), 8)]


def test_bench_video_cache_hit_vs_decode(benchmark, noise_video):
    registry = Registry.from_host(PluginHost.load(builtins=("unireward_builtins.modalities.video",),
                                                  entry_points=[]))
    video = registry.modality("video")
    decode_s = _best_of(lambda: video.load(noise_video, sampling=VideoSampling()))
    naive_s = _best_of(lambda: _naive_all_frames_to_images(noise_video))
    cache = MediaCache(registry)
    cache(noise_video)
    media = benchmark(cache, noise_video)
    assert len(media.data) == 8 and cache.misses == 1
    hit_s = benchmark.stats.stats.median if benchmark.stats else _best_of(lambda: cache(noise_video))
    ratios = {
        "decode_over_cache_hit": decode_s / hit_s,
        "naive_all_frames_over_keep8": naive_s / decode_s,
    }
    benchmark.extra_info.update({k: round(v, 2) for k, v in ratios.items()})
    print(f"\n{FRAMES}-frame {WIDTH}x{HEIGHT} noise video: decode(keep 8) {decode_s * 1e3:.1f} ms, "
          f"naive(all frames to PIL) {naive_s * 1e3:.1f} ms; ratios {benchmark.extra_info}")
