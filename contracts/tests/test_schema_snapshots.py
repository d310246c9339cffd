"""Released contracts cannot drift: every schema in contracts/events/ is compared with its snapshot in
contracts/snapshots/ (the copy taken when it was released), and any change a reader or writer of the
released version would break on fails here, naming the file and each change. A breaking change is a new
``.v<n+1>`` schema beside the old one, never an edit (STYLE.md, Contracts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from certifia_shared.schema_compat import breaking_changes, report

CONTRACTS = Path(__file__).resolve().parents[1]
EVENTS = CONTRACTS / "events"
SNAPSHOTS = CONTRACTS / "snapshots"
SCHEMA_FILES = sorted(EVENTS.glob("*.schema.json"))
SNAPSHOT_FILES = sorted(SNAPSHOTS.glob("*.schema.json"))
V1_COMPLETED = "fr.certifia.grading.grading.completed.v1.schema.json"


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", SCHEMA_FILES, ids=lambda p: p.name)
def test_a_schema_keeps_the_promises_of_its_released_snapshot(path: Path) -> None:
    snapshot = SNAPSHOTS / path.name
    assert snapshot.is_file(), (
        f"{path.name} has no snapshot: once this version is released, copy it to "
        f"contracts/snapshots/{path.name} (cp contracts/events/{path.name} contracts/snapshots/) and commit it"
    )
    changes = breaking_changes(_load(snapshot), _load(path))
    assert not changes, (
        report(f"contracts/events/{path.name}", changes)
        + "\nthese break readers or writers of the released version: add a new .v<n+1> schema instead"
    )


@pytest.mark.parametrize("snapshot", SNAPSHOT_FILES, ids=lambda p: p.name)
def test_a_released_schema_is_not_removed(snapshot: Path) -> None:
    assert (EVENTS / snapshot.name).is_file(), (
        f"contracts/events/{snapshot.name} was released and is gone: its readers still validate against it"
    )


def test_every_snapshot_is_a_valid_released_contract() -> None:
    assert SNAPSHOT_FILES
    for snapshot in SNAPSHOT_FILES:
        schema = _load(snapshot)
        assert snapshot.name == f"{schema['x-certifia-type']}.schema.json", snapshot.name


def test_the_checker_flags_the_in_place_edit_that_added_equality_to_grading_completed_v1() -> None:
    # What commit 769cb09 did to the released v1: "==" added to the comparator enum in place. A reader
    # on the released v1 dead-letters such an event; this is why v2 exists.
    [change] = breaking_changes(_load(SNAPSHOTS / V1_COMPLETED), EDITED_IN_PLACE)
    assert change.path == "/properties/criteria/items/properties/comparator/enum"
    assert change.what == 'enum values added: ["=="]'
    assert change.breaks == "readers"


def test_grading_completed_v1_is_back_to_its_released_meaning() -> None:
    assert _load(EVENTS / V1_COMPLETED) == _load(SNAPSHOTS / V1_COMPLETED)
    assert _load(EVENTS / V1_COMPLETED)["properties"]["criteria"]["items"]["properties"]["comparator"] == {
        "enum": [">=", "<="]
    }


# fr.certifia.grading.grading.completed.v1.schema.json as commit 769cb09 left it (the in-place edit).
EDITED_IN_PLACE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://certifia.fr/contracts/events/fr.certifia.grading.grading.completed.v1.schema.json",
    "title": "fr.certifia.grading.grading.completed.v1",
    "description": "Automated grading produced a verdict per criterion. CloudEvents subject = candidate id; Kafka key = candidate id.",
    "x-certifia-type": "fr.certifia.grading.grading.completed.v1",
    "x-certifia-topic": "certifia.grading",
    "type": "object",
    "required": [
        "submission_id",
        "candidate_id",
        "pack_id",
        "pack_version",
        "dataset_seed",
        "submission_digest",
        "criteria",
        "completed_at",
    ],
    "properties": {
        "submission_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "candidate_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "pack_id": {"type": "string"},
        "pack_version": {"type": "string"},
        "dataset_seed": {"type": "integer"},
        "submission_digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "criteria": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "criterion_id",
                    "verdict",
                    "metric",
                    "value",
                    "threshold",
                    "comparator",
                    "explanation",
                ],
                "properties": {
                    "criterion_id": {
                        "type": "string",
                        "pattern": "^(1|2|3|4|5A|5B)\\.[A-Za-z0-9.\\-]+$",
                        "description": "global id in the referential",
                    },
                    "verdict": {"enum": ["validated", "rejected"]},
                    "metric": {"type": "string"},
                    "value": {"type": ["number", "null"]},
                    "threshold": {"type": "number"},
                    "comparator": {"enum": [">=", "<=", "=="]},
                    "explanation": {"type": "string", "minLength": 1},
                },
            },
        },
        "metrics": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
        "duration_s": {"type": "number", "minimum": 0},
        "completed_at": {"type": "string", "format": "date-time"},
    },
}
