"""Is a new version of an event's JSON Schema still the contract its readers and writers hold?

A released schema is a promise both ways: a reader built on it must accept every event written under the
new one (so nothing may be widened), and a writer built on it must still produce valid events (so nothing
may be narrowed). Only adding an optional property (readers ignore unknown fields) and editing annotations
(title, description, examples) keep both promises; anything else is a new ``.v<n+1>`` type.

Pure functions over the subset of JSON Schema (2020-12) the contracts use. A keyword the checker does not
understand is reported whenever it changes, so an unfamiliar edit fails loudly instead of slipping through.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

Schema = dict[str, Any]
Breaks = Literal["readers", "writers", "readers and writers"]

# Annotations: they describe, they never change what validates.
ANNOTATIONS = frozenset(
    {"title", "description", "examples", "$comment", "default", "deprecated", "readOnly", "writeOnly"}
)
# Which event this is: a change makes it another event, whoever holds it.
IDENTITY = ("$schema", "$id", "x-certifia-type", "x-certifia-topic")
LOWER_BOUNDS = ("minLength", "minimum", "exclusiveMinimum", "minItems", "minProperties")
UPPER_BOUNDS = ("maxLength", "maximum", "exclusiveMaximum", "maxItems", "maxProperties")
EXACT = ("const", "format", "pattern")  # any change breaks both sides: neither value contains the other
UNDERSTOOD = frozenset(
    {
        *ANNOTATIONS,
        *IDENTITY,
        *LOWER_BOUNDS,
        *UPPER_BOUNDS,
        *EXACT,
        "type",
        "enum",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "anyOf",
        "oneOf",
    }
)


@dataclass(frozen=True)
class Change:
    """One edit an existing reader or writer of the old schema would break on."""

    path: str  # where, as a JSON pointer into the schema ("" is the root)
    what: str
    breaks: Breaks

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.what} (breaks {self.breaks})"


def breaking_changes(old: Schema, new: Schema) -> list[Change]:
    """Every change from ``old`` to ``new`` that breaks a reader or a writer of ``old``; empty when
    ``new`` may replace ``old`` under the same type and version."""
    return _at(old, new, "")


def _at(old: Any, new: Any, path: str) -> list[Change]:
    """The changes of the subschema at ``path`` (a boolean schema is compared as a value)."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        if old == new:
            return []
        return [Change(path, f"changed from {_json(old)} to {_json(new)}", _subschema_breaks(old, new))]
    return _compare(_without_null_branch(old), _without_null_branch(new), path)


def _compare(old: Schema, new: Schema, path: str) -> list[Change]:
    checks: tuple[Callable[[Schema, Schema, str], list[Change]], ...] = (
        _identity,
        _types,
        _enums,
        _exact,
        _bounds,
        _required,
        _properties,
        _items,
        _additional_properties,
        _branches,
        _unknown_keywords,
    )
    return [change for check in checks for change in check(old, new, path)]


# -- normalising ----------------------------------------------------------------------------------------
def _without_null_branch(schema: Schema) -> Schema:
    """``anyOf``/``oneOf: [X, {"type": "null"}]`` is how a nullable X is sometimes written; read it as X
    whose type also allows null, so the two spellings of one contract compare equal."""
    for keyword in ("anyOf", "oneOf"):
        branches = schema.get(keyword)
        if not isinstance(branches, list):
            continue
        rest = [b for b in branches if b != {"type": "null"}]
        if len(rest) == 1 and len(branches) == 2 and "type" in rest[0]:
            merged = {k: v for k, v in schema.items() if k != keyword} | rest[0]
            return merged | {"type": sorted(_type_set(rest[0]) | {"null"})}
    return schema


def _type_set(schema: Schema) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        return set()  # any type
    return {declared} if isinstance(declared, str) else set(declared)


def _covers(types: set[str], one: str) -> bool:
    return not types or one in types or (one == "integer" and "number" in types)


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _child(path: str, *parts: str) -> str:
    return path + "".join("/" + p.replace("~", "~0").replace("/", "~1") for p in parts)


def _both_ways(widened: bool, narrowed: bool) -> Breaks | None:
    if widened and narrowed:
        return "readers and writers"
    if widened:
        return "readers"
    return "writers" if narrowed else None


# -- the checks -----------------------------------------------------------------------------------------
def _identity(old: Schema, new: Schema, path: str) -> list[Change]:
    return [
        Change(
            _child(path, k),
            f"{k} changed from {_json(old.get(k))} to {_json(new.get(k))}",
            "readers and writers",
        )
        for k in IDENTITY
        if old.get(k) != new.get(k)
    ]


def _types(old: Schema, new: Schema, path: str) -> list[Change]:
    """Widened (a type old readers refuse) or narrowed (a type old writers still send); no ``type`` at all
    is every type, and a number covers an integer."""
    before, after = _type_set(old), _type_set(new)
    widened = (not after and bool(before)) or any(not _covers(before, t) for t in after)
    narrowed = (not before and bool(after)) or any(not _covers(after, t) for t in before)
    breaks = _both_ways(widened, narrowed)
    if breaks is None:
        return []
    what = f"type changed from {_describe(before)} to {_describe(after)}"
    return [Change(_child(path, "type"), what, breaks)]


def _describe(types: set[str]) -> str:
    return "any" if not types else "|".join(sorted(types))


def _enums(old: Schema, new: Schema, path: str) -> list[Change]:
    """Added values break old readers; removed values break old writers; adding or dropping the enum
    itself narrows or widens every value."""
    if "enum" not in old and "enum" not in new:
        return []
    where = _child(path, "enum")
    if "enum" not in old:
        return [Change(where, f"enum {_json(new['enum'])} added", "writers")]
    if "enum" not in new:
        return [Change(where, f"enum {_json(old['enum'])} removed", "readers")]
    before = {_json(v): v for v in old["enum"]}
    after = {_json(v): v for v in new["enum"]}
    changes = []
    if added := [after[k] for k in after if k not in before]:
        changes.append(Change(where, f"enum values added: {_json(added)}", "readers"))
    if removed := [before[k] for k in before if k not in after]:
        changes.append(Change(where, f"enum values removed: {_json(removed)}", "writers"))
    return changes


def _exact(old: Schema, new: Schema, path: str) -> list[Change]:
    return [
        Change(
            _child(path, k),
            f"{k} changed from {_json(old.get(k))} to {_json(new.get(k))}",
            "readers and writers",
        )
        for k in EXACT
        if old.get(k) != new.get(k)
    ]


def _bounds(old: Schema, new: Schema, path: str) -> list[Change]:
    """Tightened bounds refuse what old writers send; loosened ones let through what old readers refuse."""
    changes = []
    for keyword, lower in [*((k, True) for k in LOWER_BOUNDS), *((k, False) for k in UPPER_BOUNDS)]:
        before, after = old.get(keyword), new.get(keyword)
        if before == after:
            continue
        tightened = before is None or (after is not None and (after > before if lower else after < before))
        how = "tightened" if tightened else "loosened"
        changes.append(
            Change(
                _child(path, keyword),
                f"{keyword} {how} from {_json(before)} to {_json(after)}",
                "writers" if tightened else "readers",
            )
        )
    return changes


def _required(old: Schema, new: Schema, path: str) -> list[Change]:
    before, after = set(old.get("required", ())), set(new.get("required", ()))
    where = _child(path, "required")
    changes = [Change(where, f"new required property {name!r}", "writers") for name in sorted(after - before)]
    changes += [
        Change(where, f"{name!r} is no longer required", "readers") for name in sorted(before - after)
    ]
    return changes


def _properties(old: Schema, new: Schema, path: str) -> list[Change]:
    """A removed property loses its constraints (old readers rely on them); an added optional property is
    the one additive change (readers ignore what they do not know); shared ones are compared in depth."""
    before, after = old.get("properties", {}), new.get("properties", {})
    changes = [
        Change(_child(path, "properties", name), f"property {name!r} removed", "readers")
        for name in before
        if name not in after
    ]
    for name in before.keys() & after.keys():
        changes += _at(before[name], after[name], _child(path, "properties", name))
    return sorted(changes, key=lambda c: c.path)


def _items(old: Schema, new: Schema, path: str) -> list[Change]:
    return _subschema(old, new, path, "items")


def _additional_properties(old: Schema, new: Schema, path: str) -> list[Change]:
    return _subschema(old, new, path, "additionalProperties")


def _subschema(old: Schema, new: Schema, path: str, keyword: str) -> list[Change]:
    """Both schemas: compared in depth. Otherwise (true, false or absent on one side) any change breaks:
    false→anything widens, anything→false narrows, and a schema against a boolean is both."""
    before, after = old.get(keyword), new.get(keyword)
    if isinstance(before, dict) and isinstance(after, dict):
        return _at(before, after, _child(path, keyword))
    if before == after:
        return []
    return [
        Change(
            _child(path, keyword),
            f"{keyword} changed from {_json(before)} to {_json(after)}",
            _subschema_breaks(before, after),
        )
    ]


def _subschema_breaks(before: Any, after: Any) -> Breaks:
    allows_all: tuple[Any, ...] = (None, True, {})  # absent, true and {} all accept anything
    if before in allows_all:
        return "writers"  # anything was allowed, now something is not
    if after in allows_all:
        return "readers"
    return "readers and writers"


def _branches(old: Schema, new: Schema, path: str) -> list[Change]:
    """anyOf/oneOf beyond the nullable spelling: branches are compared in order; a different count is a
    change of its own."""
    changes = []
    for keyword in ("anyOf", "oneOf"):
        before, after = old.get(keyword, []), new.get(keyword, [])
        if len(before) != len(after):
            changes.append(
                Change(
                    _child(path, keyword),
                    f"{keyword} changed from {len(before)} to {len(after)} branches",
                    "readers and writers",
                )
            )
            continue
        for i, (b, a) in enumerate(zip(before, after, strict=True)):
            changes += _at(b, a, _child(path, keyword, str(i)))
    return changes


def _unknown_keywords(old: Schema, new: Schema, path: str) -> list[Change]:
    return [
        Change(
            _child(path, k),
            f"{k} changed (a keyword this checker does not compare: treat as breaking, or teach it)",
            "readers and writers",
        )
        for k in sorted(_keywords(old, new) - UNDERSTOOD)
        if old.get(k) != new.get(k) and not k.startswith("x-")  # other x- extensions annotate
    ]


def _keywords(*schemas: Schema) -> set[str]:
    return {k for s in schemas for k in s}


def report(name: str, changes: Iterable[Change]) -> str:
    """What a failing check prints: the file, then each change on its own line."""
    return "\n".join([f"{name}:", *(f"  - {c}" for c in changes)])
