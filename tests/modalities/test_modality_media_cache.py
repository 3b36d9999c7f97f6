"""MediaCache: modality by extension, each file decoded once, hits and misses counted, errors name the file."""

from __future__ import annotations

import os
import shutil

import pytest

from unireward_sdk import MediaError
from unireward_sdk.media import MediaCache, VideoSampling


def test_each_file_is_decoded_once(modality_registry, tmp_path, write_image, write_video):
    image = write_image(tmp_path / "a.png")
    video = write_video(tmp_path / "v.mp4", frames=20)
    cache = MediaCache(modality_registry)
    first = [cache(image), cache(video)]
    again = [cache(image), cache(str(video)), cache(tmp_path / "." / "a.png")]
    assert [m.modality for m in first] == ["image", "video"]
    assert again[0] is first[0] and again[1] is first[1]
    assert again[2].sha256 == first[0].sha256
    assert (cache.misses, cache.hits) == (2, 3)
    assert set(cache.loads.values()) == {1}
    stats = cache.stats
    assert (stats.path_hits, stats.content_hits, stats.entries) == (3, 0, 2)
    assert stats.bytes >= 80 * 60 * 3 + 8 * 64 * 48 * 3


def test_a_copy_under_another_name_hits_by_content(modality_registry, tmp_path, write_image):
    original = write_image(tmp_path / "a.png")
    copy = tmp_path / "copy.png"
    shutil.copyfile(original, copy)
    cache = MediaCache(modality_registry)
    first, second = cache(original), cache(copy)
    assert (cache.misses, cache.stats.content_hits) == (1, 1)
    assert second.path == str(copy) and first.path == str(original)
    assert second.data is first.data  # shared, not decoded again


def test_a_changed_file_is_decoded_again(modality_registry, tmp_path, write_image):
    path = write_image(tmp_path / "a.png", seed=1)
    cache = MediaCache(modality_registry)
    before = cache(path)
    write_image(path, seed=2)
    os.utime(path, ns=(before_ns := os.stat(path).st_mtime_ns + 10**9, before_ns))
    after = cache(path)
    assert after.sha256 != before.sha256
    assert cache.misses == 2


def test_video_policy_reaches_the_video_modality(modality_registry, tmp_path, write_video):
    path = write_video(tmp_path / "v.mp4", frames=30)
    eight = MediaCache(modality_registry)(path)
    four = MediaCache(modality_registry, video_policy=VideoSampling(frames=4, max_pixels=800))(path)
    assert len(eight.data) == 8 and eight.meta["sampling"]["frames"] == 8
    assert four.meta["frame_indices"] == (0, 9, 19, 29)
    assert four.meta["sampling"] == {"frames": 4, "fps": None, "max_pixels": 800}
    assert all(f.width * f.height <= 800 for f in four.data)


def test_image_bound_and_per_modality_options(modality_registry, tmp_path, write_image):
    path = write_image(tmp_path / "big.png", size=(400, 200))
    assert MediaCache(modality_registry, image_max_pixels=5000)(path).data.size == (100, 50)
    options = {"image": {"max_pixels": 800}}
    assert MediaCache(modality_registry, load_options=options)(path).data.size == (40, 20)


def test_explicit_modality_overrides_the_extension(modality_registry, tmp_path):
    path = tmp_path / "caption.dat"
    path.write_text("a caption", encoding="utf-8")
    cache = MediaCache(modality_registry)
    assert cache(path, modality="text").data == "a caption"
    with pytest.raises(MediaError, match="unsupported file") as info:
        cache(path)
    assert str(path) in str(info.value)


def test_missing_and_corrupt_files_raise_and_are_not_cached(modality_registry, tmp_path):
    cache = MediaCache(modality_registry)
    missing = tmp_path / "gone.png"
    with pytest.raises(MediaError, match="file not found") as info:
        cache(missing)
    assert str(missing) in str(info.value)
    corrupt = tmp_path / "bad.mp4"
    corrupt.write_bytes(b"\x00\x01garbage" * 100)
    for _ in range(2):
        with pytest.raises(MediaError) as info:
            cache(corrupt)
        assert str(corrupt) in str(info.value)
    assert cache.stats.entries == 0 and cache.hits == 0


def test_memory_bound_evicts_least_recently_used(modality_registry, tmp_path, write_image):
    paths = [write_image(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    one_image = 80 * 60 * 3
    cache = MediaCache(modality_registry, max_bytes=2 * one_image)
    for path in paths:
        cache(path)
    assert cache.stats.evictions == 1 and cache.stats.entries == 2
    cache(paths[2])  # still there
    assert cache.hits == 1
    cache(paths[0])  # evicted first: decoded again
    assert cache.misses == 4 and cache.loads[str(paths[0].resolve())] == 2


def test_clear_resets_everything(modality_registry, tmp_path, write_image):
    cache = MediaCache(modality_registry)
    cache(write_image(tmp_path / "a.png"))
    cache.clear()
    assert cache.stats == cache.stats.__class__(0, 0, 0, 0, 0, 0, 0)


def test_eviction_drops_the_evicted_files_path_links(modality_registry, tmp_path, write_image):
    paths = [write_image(tmp_path / f"{i}.png", seed=i) for i in range(3)]
    cache = MediaCache(modality_registry, max_bytes=2 * 80 * 60 * 3)
    for path in paths:
        cache(path)
    assert cache.stats.evictions == 1
    # what the cache keeps per path is bounded by what it keeps decoded, not by every path ever read
    assert cache.stats.paths == 2


def test_forget_drops_per_path_records_and_keeps_the_content(modality_registry, tmp_path, write_image):
    image = write_image(tmp_path / "a.png")
    copy = tmp_path / "copy.png"
    shutil.copy(image, copy)
    cache = MediaCache(modality_registry)
    first = cache(image)
    cache(copy)
    cache.forget([copy])
    assert str(copy.resolve()) not in cache.loads and cache.stats.paths == 1
    copy.unlink()
    assert cache(image) is first and cache.stats.entries == 1  # the content is still cached
    cache.forget([tmp_path / "never-read.png"])  # a path the cache never saw: nothing to do
