"""The event catalogue, read from contracts/events/: one JSON Schema (2020-12) per type and version.

Each schema names its event type (``x-certifia-type``) and topic (``x-certifia-topic``): the folder is the
single source of truth; producers validate before writing the outbox, consumers before applying.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from certifia_shared.config import repo_root


class ContractError(ValueError):
    """An event does not match its contract (unknown type, or payload invalid)."""


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
        errors = sorted(self.validator.iter_errors(data), key=lambda e: list(e.absolute_path))
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
            raise ContractError(f"{self.type}: {where}: {errors[0].message}")


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


@cache
def _validator(event_type: str) -> Draft202012Validator:
    return Draft202012Validator(catalogue()[event_type].schema, format_checker=FormatChecker())


def contract(event_type: str) -> EventContract:
    try:
        return catalogue()[event_type]
    except KeyError:
        raise ContractError(f"unknown event type {event_type!r}: no schema in contracts/events/") from None


def topics() -> set[str]:
    return {c.topic for c in catalogue().values()}
