"""The four built-in tasks pass the task contract that third-party task plugins use too."""

import pytest

from unireward_builtins.tasks.image_generation import ImageGenerationTask
from unireward_builtins.tasks.image_understanding import ImageUnderstandingTask
from unireward_builtins.tasks.video_generation import VideoGenerationTask
from unireward_builtins.tasks.video_understanding import VideoUnderstandingTask
from unireward_sdk.testing.task import TaskContract


class TestImageGenerationContract(TaskContract):
    @pytest.fixture
    def task(self):
        return ImageGenerationTask()


class TestVideoGenerationContract(TaskContract):
    @pytest.fixture
    def task(self):
        return VideoGenerationTask()


class TestImageUnderstandingContract(TaskContract):
    @pytest.fixture
    def task(self):
        return ImageUnderstandingTask()


class TestVideoUnderstandingContract(TaskContract):
    @pytest.fixture
    def task(self):
        return VideoUnderstandingTask()


class TestRegistryBuiltTaskContract(TaskContract):
    """The same checks on a task built through the registry (templates found via plugin registration)."""

    @pytest.fixture
    def task(self):
        from unireward_sdk.host import PluginHost
        from unireward_sdk.registry import Registry

        host = PluginHost.load(builtins=("unireward_builtins.tasks.video_generation",), entry_points=())
        return Registry(host).task("video_generation")
