"""Torch-side trainers behind :mod:`unireward_sdk.training` that build on built-in heads (the scalar value head)."""
