"""contracts/bus.yaml against the catalogue and the services' real handlers.

Every consumer decides, for each event type on the topics it reads, whether it handles it or ignores it on
purpose: a new type on a topic fails here until each of its readers has decided (anything undecided would
be dead-lettered as unsupported at run time). What a consumer says it handles is exactly what its handler
map applies, so the AsyncAPI receive operations generated from bus.yaml are the code's."""

from __future__ import annotations

from typing import Any, cast

import pytest

from certifia_shared import event_types as ev
from certifia_shared.bus import bus
from certifia_shared.contracts import catalogue


def _enrolment() -> set[str]:
    from certifia_enrolment.service_layer.webhooks import event_handlers

    return set(event_handlers())


def _assessment() -> set[str]:
    from certifia_assessment.service_layer.events import event_handlers
    from certifia_shared.referential import load_referential

    return set(event_handlers(load_referential()))


def _grading_compute() -> set[str]:
    from certifia_grading.service_layer.events import event_handlers

    return set(event_handlers())


def _thesis() -> set[str]:
    from certifia_thesis.service_layer.events import HANDLERS

    return set(HANDLERS)


def _certification() -> set[str]:
    from certifia_certification.service_layer.handlers import event_handlers
    from certifia_certification.service_layer.issuance import CredentialIssuance

    # the issuance is only bound into each handler (functools.partial), never called while building the map
    return set(event_handlers(cast(CredentialIssuance, object())))


HANDLER_MAPS = {
    "enrolment": _enrolment,
    "assessment": _assessment,
    "grading-compute": _grading_compute,
    "thesis": _thesis,
    "certification": _certification,
}


def _types_on(topics: tuple[str, ...]) -> set[str]:
    return {c.type for c in catalogue().values() if c.topic in topics}


@pytest.mark.parametrize("service", sorted(bus().subscriptions))
def test_each_reader_decides_for_every_type_on_its_topics(service: str) -> None:
    sub = bus().subscriptions[service]
    undecided = _types_on(sub.topics) - sub.handles - sub.ignores
    assert not undecided, (
        f"contracts/bus.yaml: {service} reads {sorted(sub.topics)} but neither handles nor ignores "
        f"{sorted(undecided)}: add each to its handles (and a handler) or to its ignores (with why)"
    )
    unknown = (sub.handles | sub.ignores) - _types_on(sub.topics)
    assert not unknown, f"contracts/bus.yaml: {service} names types not on its topics: {sorted(unknown)}"
    assert not sub.handles & sub.ignores


@pytest.mark.parametrize("service", sorted(HANDLER_MAPS))
def test_what_a_reader_handles_is_its_handler_map(service: str) -> None:
    sub = bus().subscriptions[service]
    handled = HANDLER_MAPS[service]()
    assert set(sub.handles) == handled, (
        f"contracts/bus.yaml says {service} handles {sorted(sub.handles - handled)} it has no handler for, "
        f"and has handlers it does not declare: {sorted(handled - sub.handles)}"
    )


def test_every_consumer_has_its_handler_map_checked() -> None:
    assert set(bus().subscriptions) == set(HANDLER_MAPS)


def test_every_topic_of_the_catalogue_has_one_owner_whose_source_names_it() -> None:
    owners: dict[str, Any] = {o.topic: o for o in bus().owners.values()}
    assert set(owners) == {c.topic for c in catalogue().values()}
    for topic, owner in owners.items():
        assert owner.source == f"/certifia/{owner.service}", owner
        assert bus().owner_of(topic) is owner


def test_grading_completed_v1_is_produced_for_readers_still_on_it_but_read_by_none_of_ours() -> None:
    # v2 replaced it; each reader says why it ignores v1 rather than forgetting it
    for sub in bus().readers_of(ev.TOPIC_GRADING):
        assert ev.GRADING_COMPLETED in sub.ignores and ev.GRADING_COMPLETED_V2 in sub.handles, sub.service
