"""CloudEvents 1.0 in Kafka binary mode: attributes in ce_* headers, JSON payload as the value."""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest

from certifia_shared.envelope import CloudEvent, EnvelopeError, from_kafka, headers_dict


def _event() -> CloudEvent:
    return CloudEvent(
        type="fr.certifia.enrolment.candidate.option_chosen.v1",
        source="/certifia/enrolment",
        subject="c-1",
        data={"candidate_id": "c-1", "option": "5B", "note": "é"},
    )


def test_defaults_are_cloudevents_1_0() -> None:
    event = _event()
    assert event.specversion == "1.0"
    assert event.datacontenttype == "application/json"
    uuid.UUID(event.id)
    assert datetime.fromisoformat(event.time).tzinfo is not None
    assert _event().id != event.id


def test_round_trip_through_kafka_headers() -> None:
    event = _event()
    headers = event.kafka_headers({"traceparent": "00-" + "1" * 32 + "-" + "2" * 16 + "-01"})
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in headers)
    h = headers_dict(headers)
    assert h["ce_id"] == event.id and h["ce_type"] == event.type and h["ce_subject"] == "c-1"
    assert h["ce_specversion"] == "1.0" and h["content-type"] == "application/json"
    assert "traceparent" in h
    back = from_kafka(headers, event.kafka_value())
    assert back == event


def test_value_is_compact_utf8_json() -> None:
    value = _event().kafka_value()
    assert json.loads(value.decode("utf-8"))["note"] == "é"
    assert b" " not in value.replace(b"c-1", b"")


@pytest.mark.parametrize("header", ["ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject"])
def test_missing_required_header_is_an_envelope_error(header: str) -> None:
    event = _event()
    headers = [(k, v) for k, v in event.kafka_headers() if k != header]
    with pytest.raises(EnvelopeError, match=header):
        from_kafka(headers, event.kafka_value())


def test_no_headers_at_all() -> None:
    with pytest.raises(EnvelopeError, match="missing CloudEvents headers"):
        from_kafka(None, b"{}")


def test_other_specversion_is_refused() -> None:
    event = _event()
    headers = [(k, b"0.3" if k == "ce_specversion" else v) for k, v in event.kafka_headers()]
    with pytest.raises(EnvelopeError, match="specversion"):
        from_kafka(headers, event.kafka_value())


@pytest.mark.parametrize("value", [b"not json", b"[1, 2]", b"", None])
def test_payload_must_be_a_json_object(value: bytes | None) -> None:
    with pytest.raises(EnvelopeError):
        from_kafka(_event().kafka_headers(), value)


def test_headers_dict_tolerates_none_values_and_bad_utf8() -> None:
    assert headers_dict([("a", None), ("b", b"\xff")]) == {"a": "", "b": "\ufffd"}  # type: ignore[list-item]
