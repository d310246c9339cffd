"""The certification service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_certification.domain.errors import (
    NoDiplomaYet,
    UnknownAchievement,
    UnknownBloc,
    UnknownBlocCertificate,
    UnknownCandidate,
    UnknownDiploma,
)
from certifia_certification.domain.suspension import AlreadyRevoked
from certifia_shared.errors import ErrorMap, unknown_candidate
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


def no_diploma_yet(exc: NoDiplomaYet) -> Problem:
    return Problem(
        404,
        "Diploma not found",
        f"Candidate {exc.candidate_id!r} has no diploma (yet): see /candidates/{exc.candidate_id}/progress.",
        type="not-found",
        field="candidate_id",
    )


def unknown_diploma(exc: UnknownDiploma) -> Problem:
    """Also the answer for another candidate's diploma (``ensure_visible``): its existence is not disclosed."""
    return not_found("Diploma", exc.diploma_id, "diploma_id")


def unknown_bloc_certificate(exc: UnknownBlocCertificate) -> Problem:
    return not_found("Bloc certificate", exc.certificate_id, "certificate_id")


def unknown_achievement(exc: UnknownAchievement) -> Problem:
    current = exc.current
    return Problem(
        404,
        "Achievement not found",
        f"No achievement {exc.achievement_id!r}: this issuer serves the achievements of the current referential, "
        f"{current!r} (GET /achievements/{current}, and /achievements/{current}/blocs/<bloc>).",
        type="not-found",
        field="achievement_id",
    )


def unknown_bloc(exc: UnknownBloc) -> Problem:
    return Problem(
        404,
        "Bloc not found",
        f"The referential has no bloc {exc.bloc!r}: one of {', '.join(exc.blocs)}.",
        type="not-found",
        field="bloc",
    )


ERRORS: ErrorMap = {
    UnknownCandidate: unknown_candidate,
    NoDiplomaYet: no_diploma_yet,
    UnknownDiploma: unknown_diploma,
    UnknownBlocCertificate: unknown_bloc_certificate,
    AlreadyRevoked: already_revoked,
    UnknownAchievement: unknown_achievement,
    UnknownBloc: unknown_bloc,
}
