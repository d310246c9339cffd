"""The certification service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_certification.domain.suspension import AlreadyRevoked
from certifia_certification.service_layer.revocation import UnknownBlocCertificate, UnknownDiploma
from certifia_shared.errors import ErrorMap
from certifia_shared.problems import Problem, not_found


def already_revoked(exc: AlreadyRevoked) -> Problem:
    what = "diploma" if exc.kind == "diploma" else "bloc certificate"
    return Problem(
        409,
        f"The {what} is revoked",
        f"The {what} {exc.credential_id!r} was {exc.revocation.statement()}. Revocation is final, so there "
        f"is nothing to suspend: verification already reports it revoked.",
        type="credential-revoked",
        extensions={"revoked_at": exc.revocation.revoked_at.isoformat()},
    )


ERRORS: ErrorMap = {
    UnknownDiploma: lambda exc: not_found("Diploma", exc.diploma_id, "diploma_id"),
    UnknownBlocCertificate: lambda exc: not_found("Bloc certificate", exc.certificate_id, "certificate_id"),
    AlreadyRevoked: already_revoked,
}
