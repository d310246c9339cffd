"""Released packs' import path of :mod:`certifia_grading.domain.model` (see the package's docstring)."""

from certifia_grading.domain.model import SubmissionError

__all__ = ["SubmissionError"]
