"""Built-in aligners, one package each: ``diffusion_dpo`` (text-to-image), ``video_diffusion_dpo``
(text-to-video) and ``vlm_dpo`` (vision-language policies).

Each package's ``__init__`` is the hook module the host loads: a docstring, the hook yielding the spec
and a factory, nothing heavy. Its ``config`` holds the settings and its ``trainer`` the implementation,
which imports the package's config but never the hook module, so imports run one way only
(tests/core/test_core_import_cycles.py checks it). The diffusion aligners share ``diffusion_common``.
"""
