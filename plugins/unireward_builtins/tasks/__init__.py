"""Built-in judging tasks: image/video generation and image/video understanding, with UnifiedReward's prompts.

The prompt strings are in ``unifiedreward_templates.json`` (MIT, Copyright (c) 2025 Yibin Wang, from
github.com/CodeGoat24/UnifiedReward; the full notice is in the file's ``license_notice`` field and in
``NOTICE.md``).
"""
