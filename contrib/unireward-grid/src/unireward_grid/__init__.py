"""Example UniReward plugin: ``.grid`` files judged by counting their filled cells, no model needed."""

__version__ = "0.1.0"
