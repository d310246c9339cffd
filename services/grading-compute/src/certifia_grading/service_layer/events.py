"""The events grading-compute consumes (contracts/bus.yaml lists them and those it ignores on purpose)."""

from __future__ import annotations

from certifia_grading.service_layer.candidates import on_accommodation_granted, on_candidate_enrolled
from certifia_grading.service_layer.jobs import on_grading_requested
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler


def event_handlers() -> dict[str, Handler]:
    return {
        ev.GRADING_REQUESTED: on_grading_requested,
        ev.CANDIDATE_ENROLLED: on_candidate_enrolled,
        ev.ACCOMMODATION_GRANTED: on_accommodation_granted,
    }
