"""The compatibility checker, one kind of change at a time: what a reader or a writer of the released
schema would break on fails, additive optional properties and annotations pass."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from certifia_shared.schema_compat import Change, breaking_changes, report

Schema = dict[str, Any]

RELEASED: Schema = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://certifia.fr/contracts/events/fr.certifia.test.thing.happened.v1.schema.json",
    "title": "fr.certifia.test.thing.happened.v1",
    "description": "A thing happened.",
    "x-certifia-type": "fr.certifia.test.thing.happened.v1",
    "x-certifia-topic": "certifia.test",
    "type": "object",
    "required": ["candidate_id", "outcome", "happened_at"],
    "properties": {
        "candidate_id": {"type": "string", "minLength": 1, "maxLength": 64},
        "outcome": {"enum": ["passed", "failed"]},
        "happened_at": {"type": "string", "format": "date-time"},
        "digest": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "version": {"const": 1},
        "grade": {"type": ["number", "null"], "minimum": 0, "maximum": 20},
        "count": {"type": "integer"},
        "cohort": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        "reference": {"oneOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]},
        "jury": {
            "type": "array",
            "minItems": 2,
            "maxItems": 6,
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {"name": {"type": "string"}, "role": {"enum": ["president", "member"]}},
            },
        },
        "metrics": {"type": "object", "additionalProperties": {"type": ["number", "null"]}},
    },
}


def edited(edit: Callable[[Schema], None]) -> Schema:
    schema = copy.deepcopy(RELEASED)
    edit(schema)
    return schema


def prop(name: str) -> Callable[[Schema], Schema]:
    return lambda s: s["properties"][name]


def only(changes: list[Change]) -> Change:
    assert len(changes) == 1, [str(c) for c in changes]
    return changes[0]


def test_the_same_schema_is_compatible() -> None:
    assert breaking_changes(RELEASED, copy.deepcopy(RELEASED)) == []


# -- what passes -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda s: s["properties"].update(note={"type": "string"}), id="optional property added"),
        pytest.param(
            lambda s: s["properties"]["jury"]["items"]["properties"].update(seat={"type": "integer"}),
            id="optional nested property added",
        ),
        pytest.param(lambda s: s.update(description="Something happened."), id="description"),
        pytest.param(lambda s: s.update(title="another title"), id="title"),
        pytest.param(lambda s: prop("grade")(s).update(examples=[12.5]), id="examples"),
        pytest.param(lambda s: prop("grade")(s).update(description="out of 20"), id="nested description"),
        pytest.param(lambda s: s["required"].reverse(), id="required reordered"),
        pytest.param(lambda s: prop("outcome")(s)["enum"].reverse(), id="enum reordered"),
        pytest.param(
            lambda s: s["properties"].update(cohort={"type": ["string", "null"]}),
            id="nullable spelled as a type list instead of anyOf",
        ),
        pytest.param(lambda s: s.update({"x-certifia-note": "internal"}), id="other x- extension"),
    ],
)
def test_additive_and_annotation_changes_pass(edit: Callable[[Schema], None]) -> None:
    assert breaking_changes(RELEASED, edited(edit)) == []


# -- what fails ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("edit", "path", "words", "breaks"),
    [
        pytest.param(
            lambda s: (
                s["properties"].update(cohort_id={"type": "string"}),
                s["required"].append("cohort_id"),
            ),
            "/required",
            "new required property 'cohort_id'",
            "writers",
            id="new required property",
        ),
        pytest.param(
            lambda s: s["required"].remove("outcome"),
            "/required",
            "'outcome' is no longer required",
            "readers",
            id="required property made optional",
        ),
        pytest.param(
            lambda s: s["properties"].pop("digest"),
            "/properties/digest",
            "property 'digest' removed",
            "readers",
            id="removed property",
        ),
        pytest.param(
            lambda s: prop("candidate_id")(s).update(type="integer"),
            "/properties/candidate_id/type",
            "type changed from string to integer",
            "readers and writers",
            id="changed type",
        ),
        pytest.param(
            lambda s: prop("grade")(s).update(type="number"),
            "/properties/grade/type",
            "type changed from null|number to number",
            "writers",
            id="narrowed type (null dropped)",
        ),
        pytest.param(
            lambda s: prop("count")(s).update(type="number"),
            "/properties/count/type",
            "type changed from integer to number",
            "readers",
            id="widened type (integer to number)",
        ),
        pytest.param(
            lambda s: prop("reference")(s)["oneOf"][1].update(type="number"),
            "/properties/reference/oneOf/1/type",
            "type changed from integer to number",
            "readers",
            id="oneOf branch widened",
        ),
        pytest.param(
            lambda s: prop("reference")(s)["oneOf"].pop(),
            "/properties/reference/oneOf",
            "oneOf changed from 2 to 1 branches",
            "readers and writers",
            id="oneOf branch removed",
        ),
        pytest.param(
            lambda s: s["properties"].update(cohort={"type": "string"}),
            "/properties/cohort/type",
            "type changed from null|string to string",
            "writers",
            id="nullable anyOf made not nullable",
        ),
        pytest.param(
            lambda s: prop("outcome")(s)["enum"].append("deferred"),
            "/properties/outcome/enum",
            'enum values added: ["deferred"]',
            "readers",
            id="enum value added",
        ),
        pytest.param(
            lambda s: prop("outcome")(s)["enum"].remove("failed"),
            "/properties/outcome/enum",
            'enum values removed: ["failed"]',
            "writers",
            id="enum value removed",
        ),
        pytest.param(
            lambda s: prop("candidate_id")(s).update(enum=["c-1"]),
            "/properties/candidate_id/enum",
            'enum ["c-1"] added',
            "writers",
            id="enum added",
        ),
        pytest.param(
            lambda s: prop("version")(s).update(const=2),
            "/properties/version/const",
            "const changed from 1 to 2",
            "readers and writers",
            id="const",
        ),
        pytest.param(
            lambda s: prop("happened_at")(s).update(format="date"),
            "/properties/happened_at/format",
            'format changed from "date-time" to "date"',
            "readers and writers",
            id="format",
        ),
        pytest.param(
            lambda s: prop("digest")(s).update(pattern="^[0-9a-f]{40}$"),
            "/properties/digest/pattern",
            'pattern changed from "^[0-9a-f]{64}$" to "^[0-9a-f]{40}$"',
            "readers and writers",
            id="pattern",
        ),
        pytest.param(
            lambda s: prop("candidate_id")(s).update(maxLength=32),
            "/properties/candidate_id/maxLength",
            "maxLength tightened from 64 to 32",
            "writers",
            id="maxLength tightened",
        ),
        pytest.param(
            lambda s: prop("candidate_id")(s).update(minLength=0),
            "/properties/candidate_id/minLength",
            "minLength loosened from 1 to 0",
            "readers",
            id="minLength loosened",
        ),
        pytest.param(
            lambda s: prop("grade")(s).update(maximum=100),
            "/properties/grade/maximum",
            "maximum loosened from 20 to 100",
            "readers",
            id="maximum loosened",
        ),
        pytest.param(
            lambda s: prop("grade")(s).pop("minimum"),
            "/properties/grade/minimum",
            "minimum loosened from 0 to null",
            "readers",
            id="minimum removed",
        ),
        pytest.param(
            lambda s: prop("count")(s).update(minimum=1),
            "/properties/count/minimum",
            "minimum tightened from null to 1",
            "writers",
            id="minimum added",
        ),
        pytest.param(
            lambda s: prop("jury")(s).update(minItems=3),
            "/properties/jury/minItems",
            "minItems tightened from 2 to 3",
            "writers",
            id="minItems tightened",
        ),
        pytest.param(
            lambda s: prop("jury")(s).update(maxItems=8),
            "/properties/jury/maxItems",
            "maxItems loosened from 6 to 8",
            "readers",
            id="maxItems loosened",
        ),
        pytest.param(
            lambda s: prop("jury")(s)["items"]["properties"]["role"]["enum"].append("tutor"),
            "/properties/jury/items/properties/role/enum",
            'enum values added: ["tutor"]',
            "readers",
            id="items changed in depth",
        ),
        pytest.param(
            lambda s: prop("jury")(s)["items"]["required"].append("role"),
            "/properties/jury/items/required",
            "new required property 'role'",
            "writers",
            id="items required in depth",
        ),
        pytest.param(
            lambda s: prop("jury")(s).update(items=True),
            "/properties/jury/items",
            "items changed from",
            "readers",
            id="items constraint dropped",
        ),
        pytest.param(
            lambda s: prop("jury")(s)["items"].update(type="string"),
            "/properties/jury/items/type",
            "type changed from object to string",
            "readers and writers",
            id="items type changed",
        ),
        pytest.param(
            lambda s: prop("metrics")(s).update(additionalProperties={"type": "number"}),
            "/properties/metrics/additionalProperties/type",
            "type changed from null|number to number",
            "writers",
            id="additionalProperties narrowed in depth",
        ),
        pytest.param(
            lambda s: s.update(additionalProperties=False),
            "/additionalProperties",
            "additionalProperties changed from null to false",
            "writers",
            id="additionalProperties closed",
        ),
        pytest.param(
            lambda s: prop("metrics")(s).update(additionalProperties=True),
            "/properties/metrics/additionalProperties",
            'additionalProperties changed from {"type": ["number", "null"]} to true',
            "readers",
            id="additionalProperties opened",
        ),
        pytest.param(
            lambda s: s.update({"x-certifia-topic": "certifia.other"}),
            "/x-certifia-topic",
            'x-certifia-topic changed from "certifia.test" to "certifia.other"',
            "readers and writers",
            id="topic",
        ),
        pytest.param(
            lambda s: s.update({"$id": "https://certifia.fr/elsewhere.json"}),
            "/$id",
            "$id changed",
            "readers and writers",
            id="$id",
        ),
        pytest.param(
            lambda s: prop("count")(s).update(multipleOf=2),
            "/properties/count/multipleOf",
            "multipleOf changed (a keyword this checker does not compare",
            "readers and writers",
            id="a keyword the checker does not know",
        ),
    ],
)
def test_each_breaking_change_is_named_with_where_and_whom(
    edit: Callable[[Schema], None], path: str, words: str, breaks: str
) -> None:
    change = only(breaking_changes(RELEASED, edited(edit)))
    assert change.path == path
    assert words in change.what
    assert change.breaks == breaks
    assert str(change).startswith(f"{path}: {words}")


def test_every_change_is_listed_not_only_the_first() -> None:
    def edit(s: Schema) -> None:
        prop("outcome")(s)["enum"].append("deferred")
        prop("candidate_id")(s)["maxLength"] = 32
        s["properties"].pop("digest")

    paths = [c.path for c in breaking_changes(RELEASED, edited(edit))]
    assert sorted(paths) == [
        "/properties/candidate_id/maxLength",
        "/properties/digest",
        "/properties/outcome/enum",
    ]


def test_the_report_names_the_file_and_each_change() -> None:
    changes = breaking_changes(RELEASED, edited(lambda s: prop("outcome")(s)["enum"].append("deferred")))
    assert report("x.schema.json", changes) == (
        'x.schema.json:\n  - /properties/outcome/enum: enum values added: ["deferred"] (breaks readers)'
    )
