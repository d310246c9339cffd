"""grading-compute's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_grading.domain.model import UnknownCandidate, UnknownPack
from certifia_shared.errors import ErrorMap, unknown_candidate
from certifia_shared.problems import not_found

ERRORS: ErrorMap = {
    UnknownPack: lambda exc: not_found("Pack", exc.pack_id, "pack_id"),
    UnknownCandidate: unknown_candidate,
}
