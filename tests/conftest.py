"""Suite-wide settings: never reach a model hub; keep third-party plugins of the machine out of tests."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# the tests' models are tiny: one torch thread is as fast, and several oversubscribe a shared machine
os.environ.setdefault("OMP_NUM_THREADS", "1")
