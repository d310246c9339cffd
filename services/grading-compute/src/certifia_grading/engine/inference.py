"""Released packs' import path of :mod:`certifia_grading.domain.inference` (see the package's docstring)."""

from certifia_grading.domain.inference import OnnxRuntimeBackend

__all__ = ["OnnxRuntimeBackend"]
