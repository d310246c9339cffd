"""The certification service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_certification.service_layer.revocation import UnknownDiploma
from certifia_shared.errors import ErrorMap
from certifia_shared.problems import not_found

ERRORS: ErrorMap = {
    UnknownDiploma: lambda exc: not_found("Diploma", exc.diploma_id, "diploma_id"),
}
