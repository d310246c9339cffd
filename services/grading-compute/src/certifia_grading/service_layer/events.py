"""The events grading-compute consumes (contracts/bus.yaml lists them and those it ignores on purpose)."""

from __future__ import annotations

from collections.abc import Callable
from typing import cast

from certifia_grading.service_layer.candidates import on_accommodation_granted, on_candidate_enrolled
from certifia_grading.service_layer.jobs import on_grading_requested
from certifia_grading.service_layer.unit_of_work import GradingUnitOfWork
from certifia_shared import event_types as ev
from certifia_shared.consumer import Handler
from certifia_shared.envelope import CloudEvent

EventHandler = Callable[[CloudEvent, GradingUnitOfWork], None]
_BY_TYPE: dict[str, EventHandler] = {
    ev.GRADING_REQUESTED: on_grading_requested,
    ev.CANDIDATE_ENROLLED: on_candidate_enrolled,
    ev.ACCOMMODATION_GRANTED: on_accommodation_granted,
}


def event_handlers() -> dict[str, Handler]:
    """As the consumer takes them: it opens the unit of work bootstrap wired (``GradingUnitOfWork``)."""
    return {t: cast(Handler, h) for t, h in _BY_TYPE.items()}
