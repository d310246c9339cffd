"""What the jury-review tests share (test_jury_policy_api, test_graded_archive): a jury policy for 1.EV3 only,
and grading.completed applied the way the consumer does (one unit of work)."""

from __future__ import annotations

from typing import Any

from certifia_assessment.domain.jury_policy import JuryPolicy, parse_jury_policy
from certifia_assessment.service_layer.events import grading_handlers
from certifia_shared import event_types as ev
from certifia_shared.envelope import CloudEvent
from certifia_shared.referential import load_referential
from certifia_shared.service import ServiceContext

REF = load_referential()


def policy_for_1ev3(**entry: Any) -> JuryPolicy:
    return parse_jury_policy({"version": "9.9.9", "evaluations": {"1.EV3": entry}}, REF)


def apply(ctx: ServiceContext, event: CloudEvent, policy: JuryPolicy | None = None) -> None:
    with ctx.uow() as uow:
        grading_handlers(REF, policy)[ev.GRADING_COMPLETED_V2](event, uow)
        uow.commit()
