"""The events grading-compute consumes (contracts/bus.yaml lists them and those it ignores on purpose)."""

from __future__ import annotations

from certifia_grading.service_layer.candidates import on_accommodation_granted, on_candidate_enrolled
from certifia_grading.service_layer.jobs import on_grading_requested
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler

_BY_TYPE: dict[str, Handler[GradingUnitOfWork]] = {
    ev.GRADING_REQUESTED: on_grading_requested,
    ev.CANDIDATE_ENROLLED: on_candidate_enrolled,
    ev.ACCOMMODATION_GRANTED: on_accommodation_granted,
}


def event_handlers() -> dict[str, Handler[GradingUnitOfWork]]:
    """As the consumer takes them: it opens the unit of work bootstrap wired (``GradingUnitOfWork``)."""
    return dict(_BY_TYPE)
