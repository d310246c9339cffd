"""Released packs' import path of :mod:`certifia_grading.domain.sandboxed_inference` (see the package's
docstring)."""

from certifia_grading.domain.sandboxed_inference import LatencySettings

__all__ = ["LatencySettings"]
