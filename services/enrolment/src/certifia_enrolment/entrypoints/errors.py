"""The enrolment service's one map from its domain errors to problems (registered by create_app)."""

from __future__ import annotations

from certifia_enrolment.domain.model import (
    CandidateCertified,
    CandidateWithdrawn,
    EnrolmentConflict,
    UnknownCandidate,
)
from certifia_enrolment.domain.webhooks import (
    SubscriptionDeleted,
    UnknownDelivery,
    UnknownSubscription,
    WebhookRefused,
)
from certifia_shared.errors import ErrorMap, unknown_candidate, withdrawn
from certifia_shared.problems import Problem, not_found


def enrolment_conflict(exc: EnrolmentConflict) -> Problem:
    return Problem(
        409,
        "Enrolment conflict",
        f"external_id {exc.external_id!r} is already enrolled with other data ({exc}).",
        type="enrolment-conflict",
        errors=[{"field": f, "message": "differs from the existing enrolment"} for f in exc.fields],
    )


def candidate_certified(exc: CandidateCertified) -> Problem:
    diploma = exc.diploma
    issued_for = f" (issued for option {diploma.option})" if diploma.option else ""
    return Problem(
        409,
        "Candidate certified",
        f"Candidate {exc.candidate_id!r} holds diploma {diploma.id!r}{issued_for}: the option is frozen once "
        "the diploma is issued. A certification officer must revoke the diploma first "
        f"(POST /diplomas/{diploma.id}/revocation in certification); the option can change after that.",
        type="candidate-certified",
        field="option",
        extensions={"diploma_id": diploma.id, "diploma_option": diploma.option},
    )


def subscription_deleted(_exc: SubscriptionDeleted) -> Problem:
    return Problem(
        409, "Subscription deleted", "This subscription was deleted; create a new one.", type="gone"
    )


ERRORS: ErrorMap = {
    UnknownCandidate: unknown_candidate,
    CandidateWithdrawn: withdrawn,
    CandidateCertified: candidate_certified,
    EnrolmentConflict: enrolment_conflict,
    WebhookRefused: lambda exc: Problem(
        422, "Webhook refused", exc.message, type="webhook-refused", field=exc.field
    ),
    UnknownSubscription: lambda exc: not_found(
        "Webhook subscription", exc.subscription_id, "subscription_id"
    ),
    UnknownDelivery: lambda exc: not_found("Webhook delivery", exc.delivery_id, "delivery_id"),
    SubscriptionDeleted: subscription_deleted,
}
