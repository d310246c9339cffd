"""Released packs' import path of :mod:`certifia_grading.domain.model_runner` (see the package's docstring):
the unsandboxed benchmark comparison times models in process with the sandbox's own loop."""

from certifia_grading.domain.model_runner import p50_ms, session

__all__ = ["p50_ms", "session"]
