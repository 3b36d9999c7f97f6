"""The tiny-model recipes are one stable module, ``unireward_sdk.tiny``, also reachable by their former paths."""

from __future__ import annotations

import unireward_sdk.testing as testing
import unireward_sdk.tiny as tiny
from unireward_sdk.testing import tiny as testing_tiny
from unireward_sdk.testing import tiny_diffusion as testing_tiny_diffusion


def test_the_stable_module_exports_what_the_former_paths_offered():
    assert set(tiny.__all__) == set(testing_tiny.__all__) | set(testing_tiny_diffusion.__all__)
    assert all(callable(getattr(tiny, name)) for name in tiny.__all__ if name.startswith("build_"))


def test_former_import_paths_give_the_same_objects():
    for module in (testing_tiny, testing_tiny_diffusion):
        for name in module.__all__:
            assert getattr(module, name) is getattr(tiny, name), f"{module.__name__}.{name}"
    for name in ("build_tiny_judge", "build_tiny_tokenizer", "train_tiny_judge_to_emit", "build_tiny_t2i",
                 "build_tiny_t2v", "build_tiny_text_parts"):
        assert getattr(testing, name) is getattr(tiny, name)
