"""CloudEvents 1.0 in Kafka binary mode: attributes in ``ce_*`` headers, the JSON payload as the value."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """The moment in UTC: an aware value converted, a naive one read as UTC (what the events carry)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def event_time(value: str) -> datetime:
    """An event's ISO 8601 timestamp in UTC: an offset (or ``Z``/``z``) converted, a naive value is UTC."""
    return as_utc(datetime.fromisoformat(value.upper().replace("Z", "+00:00")))


@dataclass(frozen=True)
class CloudEvent:
    type: str
    source: str
    subject: str
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: utcnow().isoformat())
    specversion: str = SPECVERSION
    datacontenttype: str = CONTENT_TYPE
    dataschema: str = ""  # the payload's JSON Schema ($id), so a reader knows which contract it follows

    def kafka_headers(self, extra: dict[str, str] | None = None) -> list[tuple[str, bytes]]:
        attrs = {
            "ce_id": self.id,
            "ce_source": self.source,
            "ce_type": self.type,
            "ce_specversion": self.specversion,
            "ce_time": self.time,
            "ce_subject": self.subject,
            "content-type": self.datacontenttype,
        }
        if self.dataschema:
            attrs["ce_dataschema"] = self.dataschema
        attrs.update(extra or {})
        return [(k, v.encode()) for k, v in attrs.items()]

    def kafka_value(self) -> bytes:
        return json.dumps(self.data, ensure_ascii=False, separators=(",", ":")).encode()


class EnvelopeError(ValueError):
    """A Kafka record is not a CloudEvent we can read."""


def headers_dict(headers: list[tuple[str, bytes]] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in headers or []:
        out[key] = value.decode("utf-8", errors="replace") if value is not None else ""
    return out


def from_kafka(headers: list[tuple[str, bytes]] | None, value: bytes | None) -> CloudEvent:
    h = headers_dict(headers)
    missing = [k for k in ("ce_id", "ce_source", "ce_type", "ce_specversion", "ce_subject") if not h.get(k)]
    if missing:
        raise EnvelopeError(f"missing CloudEvents headers: {', '.join(missing)}")
    if h["ce_specversion"] != SPECVERSION:
        raise EnvelopeError(f"unsupported specversion {h['ce_specversion']!r}")
    try:
        data = json.loads(value or b"")
    except ValueError as exc:
        raise EnvelopeError(f"payload is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise EnvelopeError("payload must be a JSON object")
    return CloudEvent(
        type=h["ce_type"],
        source=h["ce_source"],
        subject=h["ce_subject"],
        data=data,
        id=h["ce_id"],
        time=h.get("ce_time", ""),
        datacontenttype=h.get("content-type", CONTENT_TYPE),
        dataschema=h.get("ce_dataschema", ""),
    )
