"""Released packs' import path of :mod:`certifia_grading.domain.spec` (see the package's docstring)."""

from certifia_grading.domain.spec import Dataset, ScoreContext, Submission

__all__ = ["Dataset", "ScoreContext", "Submission"]
