"""The event catalogue, read from contracts/events/: one JSON Schema (2020-12) per type and version.

Each schema names its event type (``x-certifia-type``) and topic (``x-certifia-topic``): the folder is the
single source of truth; producers validate before writing the outbox, consumers before applying.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from certifia_shared.config import repo_root


class ContractError(ValueError):
    """An event does not match its contract (unknown type, or payload invalid); ``errors`` lists every
    schema error as "<path>: <message>"."""

    def __init__(self, message: str, errors: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [message]


@dataclass(frozen=True)
class EventContract:
    type: str
    topic: str
    schema: dict[str, Any]
    path: Path

    @property
    def validator(self) -> Draft202012Validator:
        return _validator(self.type)

    def validate(self, data: dict[str, Any]) -> None:
        errors = sorted(self.validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
        if errors:
            listed = [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in errors]
            more = f" (and {len(listed) - 1} more)" if len(listed) > 1 else ""
            raise ContractError(f"{self.type}: {listed[0]}{more}", listed)


def events_dir() -> Path:
    return repo_root() / "contracts" / "events"


@cache
def catalogue() -> dict[str, EventContract]:
    contracts: dict[str, EventContract] = {}
    for path in sorted(events_dir().glob("*.schema.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        Draft202012Validator.check_schema(schema)
        contract = EventContract(schema["x-certifia-type"], schema["x-certifia-topic"], schema, path)
        contracts[contract.type] = contract
    return contracts


# RFC 3339 date-time (what JSON Schema's "date-time" means): date, "T", time, and a mandatory offset.
_DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$")


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True  # "format" only constrains strings
    if _DATE_TIME.match(value) is None:
        return False
    try:
        datetime.fromisoformat(value.upper().replace("Z", "+00:00"))
    except ValueError:  # e.g. month 13
        return False
    return True


def format_checker() -> FormatChecker:
    """jsonschema's checker plus "date-time" (jsonschema checks it only when rfc3339-validator is
    installed, so without this a payload with ``"enrolled_at": "yesterday"`` would validate)."""
    checker = FormatChecker()
    checker.checks("date-time")(_is_date_time)
    return checker


@cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(catalogue()[event_type].schema, format_checker=format_checker())


def contract(event_type: str) -> EventContract:
    try:
        return catalogue()[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}: no schema in contracts/events/") from None


def topics() -> set[str]:
    return {c.topic for c in catalogue().values()}
