"""Typed, immutable model of the certification referential (blocs, activities, competencies, criteria,
evaluations and the certification rule), with its integrity checks.

The data lives in ``contracts/referential/referential.yaml``; :func:`certifia_shared.referential.load_referential`
reads it. Items do not repeat their bloc in the YAML: each ``Bloc`` hands its code down to its activities,
competencies, criteria and evaluations (field ``bloc``) when it is validated.

Global ids (stable, unique across the whole referential):

- activity ``"<bloc>.<A>"`` (``"1.A4"``), competency ``"<bloc>.<A>.<C>"`` (``"1.A4.C7"``),
- criterion ``"<bloc>.<A>.<C or C-range>.<E>"`` (``"1.A4.C1-C3.E1"``), evaluation ``"<bloc>.EV<n>"`` (``"1.EV3"``).

Codes (``"A4-C7"``, ``"A4-C1 à C3-E1"``) are the source's and only unique within a bloc.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    computed_field,
    model_validator,
)

__all__ = [
    "Activity",
    "Bloc",
    "Certification",
    "CertificationRule",
    "Competency",
    "Criterion",
    "Evaluation",
    "Referential",
    "ReferentialError",
    "ReferentialLookupError",
    "ThesisRule",
    "VaeRule",
    "Vocabularies",
]

COMPETENCY_CODE = re.compile(r"^(A\d+)-C(\d+)$")
CRITERION_CODE = re.compile(r"^(A\d+)-C(\d+)(?: à C(\d+))?-E(\d+)$")
EVALUATION_ID = re.compile(r"^(?P<bloc>[^.]+)\.EV\d+$")


class ReferentialError(ValueError):
    """The referential data is invalid: the message names every offending id and what is wrong with it."""

    def __init__(self, message: str, problems: Iterable[str] = ()) -> None:
        self.problems: tuple[str, ...] = tuple(problems)
        if self.problems:
            message = f"{message} ({len(self.problems)} problem(s)):\n" + "\n".join(
                f"  - {p}" for p in self.problems
            )
        super().__init__(message)


class ReferentialLookupError(KeyError):
    """No bloc / activity / competency / criterion / evaluation with that code or id (a ``LookupError``)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


def competency_global_id(bloc: str, code: str) -> str:
    """``("1", "A4-C7") -> "1.A4.C7"``."""
    return f"{bloc}.{code.replace('-', '.')}"


def expand_criterion_code(code: str) -> tuple[list[str], str] | None:
    """Competency codes and id suffix of a criterion code: ``"A4-C1 à C3-E1" -> ([A4-C1, A4-C2, A4-C3],
    "A4.C1-C3.E1")``; ``None`` when the code does not have the source's shape."""
    m = CRITERION_CODE.match(code)
    if m is None:
        return None
    activity, first, last, number = m.group(1), int(m.group(2)), m.group(3), m.group(4)
    end = int(last) if last else first
    competencies = [f"{activity}-C{i}" for i in range(first, end + 1)]
    part = f"C{first}" if end == first else f"C{first}-C{end}"
    return competencies, f"{activity}.{part}.E{number}"


class _Model(BaseModel):
    """Frozen, strict about unknown keys, but ignores the derived keys it writes itself (so that the public
    JSON validates back into the model)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    derived_keys: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="before")
    @classmethod
    def _drop_derived(cls, data: Any) -> Any:
        if isinstance(data, dict):
            drop = cls.derived_keys | set(cls.model_computed_fields)
            if drop & data.keys():
                return {k: v for k, v in data.items() if k not in drop}
        return data


class Activity(_Model):
    bloc: str
    code: str = Field(pattern=r"^A\d+$")
    id: str
    title: str = Field(min_length=1)
    list_title: str | None = None
    tasks: tuple[str, ...] = ()
    source_note: str | None = None


class Competency(_Model):
    derived_keys: ClassVar[frozenset[str]] = frozenset({"criterion_ids", "evaluation_ids"})

    bloc: str
    code: str = Field(pattern=r"^A\d+-C\d+$")
    id: str
    activity: str
    statement: str = Field(min_length=1)
    source_note: str | None = None


class Criterion(_Model):
    bloc: str
    code: str = Field(min_length=1)
    code_as_written: str | None = None
    id: str
    statement: str = Field(min_length=1)
    competencies: tuple[str, ...]
    source_note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def competency_ids(self) -> tuple[str, ...]:
        """Global ids of the competencies this criterion validates."""
        return tuple(competency_global_id(self.bloc, c) for c in self.competencies)


class Evaluation(_Model):
    """A "modalité d'évaluation": one assessment situation covering some competencies of its bloc."""

    derived_keys: ClassVar[frozenset[str]] = frozenset({"criteria", "criterion_ids"})

    bloc: str
    id: str
    type: str
    type_label: str
    competencies: tuple[str, ...]
    competencies_as_written: str
    scenario: str = Field(min_length=1)
    deliverables: tuple[str, ...]
    conditions: str = Field(min_length=1)
    assessment: Literal["individual", "collective"]
    source_note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def competency_ids(self) -> tuple[str, ...]:
        return tuple(competency_global_id(self.bloc, c) for c in self.competencies)


class Bloc(_Model):
    code: str = Field(pattern=r"^\d+[A-Z]?$")
    kind: Literal["common", "option"]
    option_label: str | None = None
    title: str = Field(min_length=1)
    heading: str | None = None
    list_heading: str | None = None
    source_note: str | None = None
    activities: tuple[Activity, ...] = ()
    competencies: tuple[Competency, ...] = ()
    criteria: tuple[Criterion, ...] = ()
    evaluations: tuple[Evaluation, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _hand_down_bloc_code(cls, data: Any) -> Any:
        """Children get ``bloc`` = this bloc's code (the YAML does not repeat it)."""
        if not isinstance(data, dict) or not isinstance(data.get("code"), str):
            return data
        data = dict(data)
        for key in ("activities", "competencies", "criteria", "evaluations"):
            items = data.get(key)
            if isinstance(items, list | tuple):
                data[key] = [
                    {"bloc": data["code"], **item} if isinstance(item, dict) and "bloc" not in item else item
                    for item in items
                ]
        return data

    # -- lookups by code (codes are only unique within a bloc) ---------------------------------------
    def activity(self, code: str) -> Activity:
        for a in self.activities:
            if a.code == code:
                return a
        raise ReferentialLookupError(f"bloc {self.code}: no activity {code!r}")

    def competency(self, code: str) -> Competency:
        for c in self.competencies:
            if c.code == code:
                return c
        raise ReferentialLookupError(f"bloc {self.code}: no competency {code!r}")

    def competency_id(self, code: str) -> str:
        """Global id of the competency ``code`` of this bloc (``"A4-C7" -> "1.A4.C7"``)."""
        return self.competency(code).id

    def criterion(self, code: str) -> Criterion:
        for c in self.criteria:
            if c.code == code:
                return c
        raise ReferentialLookupError(f"bloc {self.code}: no criterion {code!r}")

    def criteria_for(self, competency_code: str) -> tuple[Criterion, ...]:
        """Criteria that name this competency (possibly none: the source leaves some without)."""
        return tuple(c for c in self.criteria if competency_code in c.competencies)

    def evaluations_for(self, competency_code: str) -> tuple[Evaluation, ...]:
        """Evaluations that assess this competency."""
        return tuple(e for e in self.evaluations if competency_code in e.competencies)

    def evaluation_criteria(self, evaluation: Evaluation | str) -> tuple[Criterion, ...]:
        """The criteria of an evaluation: those naming at least one competency it assesses."""
        ev = evaluation if isinstance(evaluation, Evaluation) else self._evaluation(evaluation)
        assessed = set(ev.competencies)
        return tuple(c for c in self.criteria if assessed.intersection(c.competencies))

    def _evaluation(self, evaluation_id: str) -> Evaluation:
        for e in self.evaluations:
            if e.id == evaluation_id:
                return e
        raise ReferentialLookupError(f"bloc {self.code}: no evaluation {evaluation_id!r}")


class Certification(_Model):
    title: str
    title_as_written: str | None = None
    document_title: str | None = None
    rncp_code: str | None = None
    source_document: str | None = None
    source_note: str | None = None


class Vocabularies(_Model):
    """Allowed slugs (with their French label) for evaluation ``type`` and ``deliverables``."""

    evaluation_types: dict[str, str]
    deliverables: dict[str, str]


class ThesisRule(_Model):
    required: bool
    defence: Literal["oral", "written"]
    mission_min_months_fte: int = Field(ge=0)
    statement: str
    source_note: str | None = None


class VaeRule(_Model):
    mentioned_as: str | None = None
    validation: str
    notes: str | None = None
    source_note: str | None = None


class CertificationRule(_Model):
    statement: str
    source_note: str | None = None
    common_blocs: tuple[str, ...]
    option_blocs: tuple[str, ...]
    options_required: int = Field(ge=0)
    thesis: ThesisRule
    applies_outside_vae: bool
    vae: VaeRule


class Referential(_Model):
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    certification: Certification
    vocabularies: Vocabularies
    blocs: tuple[Bloc, ...]
    rule: CertificationRule

    _index: dict[str, Activity | Competency | Criterion | Evaluation] = PrivateAttr(default_factory=dict)
    _digest: str | None = PrivateAttr(default=None)
    # criteria_validating per competency id: the referential is frozen, so computed once (progress asks
    # it for every competency of every bloc on each read)
    _validating: dict[str, tuple[Criterion, ...]] = PrivateAttr(default_factory=dict)

    def __eq__(self, other: object) -> bool:
        """Equal when the data are equal (the private caches are ignored)."""
        if not isinstance(other, Referential):
            return NotImplemented
        return self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return hash(self.digest)

    def model_post_init(self, context: Any, /) -> None:
        index: dict[str, Activity | Competency | Criterion | Evaluation] = {}
        for item in self._items():
            index.setdefault(item.id, item)
        self._index = index

    # -- construction ----------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: Any, *, source: str = "referential") -> Referential:
        """Validate raw data (the YAML document, or :meth:`to_public_dict` output) and check integrity.

        Raises :class:`ReferentialError` on any problem (schema or cross-reference), never a pydantic error.
        """
        if not isinstance(data, dict):
            raise ReferentialError(
                f"{source}: expected a mapping at the top level, got {type(data).__name__}"
            )
        try:
            referential = cls.model_validate(data)
        except ValidationError as exc:
            raise ReferentialError(
                f"{source}: invalid referential data", [_describe_error(data, err) for err in exc.errors()]
            ) from exc
        problems = referential.integrity_problems()
        if problems:
            raise ReferentialError(f"{source}: inconsistent referential", problems)
        return referential

    # -- iteration -------------------------------------------------------------------------------------
    def _items(self) -> Iterator[Activity | Competency | Criterion | Evaluation]:
        for b in self.blocs:
            yield from b.activities
            yield from b.competencies
            yield from b.criteria
            yield from b.evaluations

    @property
    def activities(self) -> tuple[Activity, ...]:
        return tuple(a for b in self.blocs for a in b.activities)

    @property
    def competencies(self) -> tuple[Competency, ...]:
        return tuple(c for b in self.blocs for c in b.competencies)

    @property
    def criteria(self) -> tuple[Criterion, ...]:
        return tuple(c for b in self.blocs for c in b.criteria)

    @property
    def evaluations(self) -> tuple[Evaluation, ...]:
        return tuple(e for b in self.blocs for e in b.evaluations)

    # -- lookups by global id -------------------------------------------------------------------------
    def bloc(self, code: str) -> Bloc:
        """The bloc ``"1"``..``"4"``, ``"5A"``, ``"5B"`` (case-insensitive)."""
        wanted = str(code).strip().upper()
        for b in self.blocs:
            if b.code == wanted:
                return b
        known = ", ".join(b.code for b in self.blocs)
        raise ReferentialLookupError(f"unknown bloc {code!r} (known: {known})")

    def _lookup(self, kind: type[Any], label: str, global_id: str) -> Any:
        item = self._index.get(global_id)
        if not isinstance(item, kind):
            raise ReferentialLookupError(f"unknown {label} id {global_id!r} (referential {self.version})")
        return item

    def activity(self, global_id: str) -> Activity:
        result: Activity = self._lookup(Activity, "activity", global_id)
        return result

    def competency(self, global_id: str) -> Competency:
        """The competency ``"1.A4.C7"``."""
        result: Competency = self._lookup(Competency, "competency", global_id)
        return result

    def criterion(self, global_id: str) -> Criterion:
        """The criterion ``"1.A4.C1-C3.E1"``."""
        result: Criterion = self._lookup(Criterion, "criterion", global_id)
        return result

    def evaluation(self, global_id: str) -> Evaluation:
        """The evaluation ``"1.EV3"``."""
        result: Evaluation = self._lookup(Evaluation, "evaluation", global_id)
        return result

    def evaluations_assessing(self, competency_id: str) -> list[Evaluation]:
        """Evaluations that assess the competency ``competency_id`` (global id), in document order."""
        c = self.competency(competency_id)
        return list(self.bloc(c.bloc).evaluations_for(c.code))

    def criteria_validating(self, competency_id: str) -> list[Criterion]:
        """The criteria against which the competency ``competency_id`` (global id) is validated.

        Rule: the criteria whose ``competencies`` name it, in document order. When none does (the source
        leaves some competencies without a criterion of their own, e.g. bloc 2 A1-C3 or bloc 3 A3-C2), the
        criteria of the evaluations that assess it, i.e. every criterion of its bloc naming at least one
        competency assessed by such an evaluation (document order, without duplicates). The integrity checks
        guarantee that this list is never empty.
        """
        known = self._validating.get(competency_id)
        if known is None:
            known = self._validating.setdefault(competency_id, self._criteria_validating(competency_id))
        return list(known)

    def _criteria_validating(self, competency_id: str) -> tuple[Criterion, ...]:
        c = self.competency(competency_id)
        bloc = self.bloc(c.bloc)
        own = bloc.criteria_for(c.code)
        if own:
            return own
        seen: dict[str, Criterion] = {}
        for ev in bloc.evaluations_for(c.code):
            for crit in bloc.evaluation_criteria(ev):
                seen.setdefault(crit.id, crit)
        return tuple(crit for crit in bloc.criteria if crit.id in seen)

    # -- integrity -------------------------------------------------------------------------------------
    def integrity_problems(self) -> list[str]:
        """Every cross-reference problem, each naming the offending id (empty list: consistent)."""
        problems: list[str] = []
        seen_ids: dict[str, str] = {}

        def register(global_id: str, what: str) -> None:
            if global_id in seen_ids:
                problems.append(f"duplicate id {global_id!r}: {what} (already used by {seen_ids[global_id]})")
            else:
                seen_ids[global_id] = what

        types = self.vocabularies.evaluation_types
        deliverables = self.vocabularies.deliverables
        for b in self.blocs:
            register(b.code, f"bloc {b.code}")
        for b in self.blocs:
            where = f"bloc {b.code}"
            if not b.activities:
                problems.append(f"{where}: bloc {b.code!r} has no activity")
            if not b.competencies:
                problems.append(f"{where}: bloc {b.code!r} has no competency")
            if not b.evaluations:
                problems.append(f"{where}: bloc {b.code!r} has no evaluation")
            for label, codes in (
                ("activity", [a.code for a in b.activities]),
                ("competency", [c.code for c in b.competencies]),
                ("criterion", [c.code for c in b.criteria]),
            ):
                for code in sorted({c for c in codes if codes.count(c) > 1}):
                    problems.append(f"{where}: duplicate {label} code {code!r}")
            activity_codes = {a.code for a in b.activities}
            competency_codes = {c.code for c in b.competencies}

            for a in b.activities:
                register(a.id, f"activity {a.code} of bloc {b.code}")
                if a.id != f"{b.code}.{a.code}":
                    problems.append(f"activity {a.id!r}: id should be {b.code}.{a.code!r}")
            for c in b.competencies:
                register(c.id, f"competency {c.code} of bloc {b.code}")
                expected = competency_global_id(b.code, c.code)
                if c.id != expected:
                    problems.append(f"competency {c.id!r}: id should be {expected!r}")
                if c.activity not in activity_codes:
                    problems.append(f"competency {c.id!r}: activity {c.activity!r} does not exist in {where}")
                if not c.code.startswith(f"{c.activity}-"):
                    problems.append(
                        f"competency {c.id!r}: code {c.code!r} does not belong to activity {c.activity}"
                    )
            for cr in b.criteria:
                register(cr.id, f"criterion {cr.code} of bloc {b.code}")
                if not cr.competencies:
                    problems.append(f"criterion {cr.id!r}: names no competency")
                for code in cr.competencies:
                    if code not in competency_codes:
                        problems.append(f"criterion {cr.id!r}: competency {code!r} does not exist in {where}")
                parsed = expand_criterion_code(cr.code)
                if parsed is None:
                    problems.append(
                        f"criterion {cr.id!r}: code {cr.code!r} is not of the form A<n>-C<n>[ à C<n>]-E<n>"
                    )
                else:
                    codes, suffix = parsed
                    if list(cr.competencies) != codes:
                        problems.append(
                            f"criterion {cr.id!r}: competencies {list(cr.competencies)} do not match its code "
                            f"{cr.code!r} ({codes})"
                        )
                    if cr.id != f"{b.code}.{suffix}":
                        problems.append(f"criterion {cr.id!r}: id should be {b.code}.{suffix!r}")
            for ev in b.evaluations:
                register(ev.id, f"evaluation of bloc {b.code}")
                m = EVALUATION_ID.match(ev.id)
                if m is None or m.group("bloc") != b.code:
                    problems.append(f"evaluation {ev.id!r}: id should be {b.code}.EV<n>")
                if not ev.competencies:
                    problems.append(f"evaluation {ev.id!r}: assesses no competency")
                for code in ev.competencies:
                    if code not in competency_codes:
                        problems.append(f"evaluation {ev.id!r}: unknown competency {code!r} in {where}")
                if ev.type not in types:
                    problems.append(
                        f"evaluation {ev.id!r}: unknown type {ev.type!r} (vocabularies.evaluation_types)"
                    )
                if not ev.deliverables:
                    problems.append(f"evaluation {ev.id!r}: no deliverable")
                for d in ev.deliverables:
                    if d not in deliverables:
                        problems.append(
                            f"evaluation {ev.id!r}: unknown deliverable {d!r} (vocabularies.deliverables)"
                        )
            for c in b.competencies:
                if not b.evaluations_for(c.code):
                    problems.append(f"competency {c.id!r}: assessed by no evaluation")
                elif not b.criteria_for(c.code) and not any(
                    b.evaluation_criteria(ev) for ev in b.evaluations_for(c.code)
                ):
                    problems.append(
                        f"competency {c.id!r}: no criterion validates it (neither its own nor its evaluations')"
                    )

        problems.extend(self._rule_problems())
        return problems

    def _rule_problems(self) -> list[str]:
        problems: list[str] = []
        r = self.rule
        kinds = {b.code: b.kind for b in self.blocs}
        for field, expected_kind in (("common_blocs", "common"), ("option_blocs", "option")):
            for code in getattr(r, field):
                if code not in kinds:
                    problems.append(f"rule.{field}: unknown bloc {code!r}")
                elif kinds[code] != expected_kind:
                    problems.append(f"rule.{field}: bloc {code!r} is of kind {kinds[code]!r}")
        for code in set(r.common_blocs) & set(r.option_blocs):
            problems.append(f"rule: bloc {code!r} is both common and optional")
        for code, kind in kinds.items():
            if code not in r.common_blocs and code not in r.option_blocs:
                problems.append(f"rule: bloc {code!r} ({kind}) is in neither common_blocs nor option_blocs")
        if not 0 <= r.options_required <= len(r.option_blocs):
            problems.append(
                f"rule.options_required: {r.options_required} but only {len(r.option_blocs)} option bloc(s)"
            )
        return problems

    # -- serialisation ---------------------------------------------------------------------------------
    def to_public_dict(self) -> dict[str, Any]:
        """JSON-ready dict: the data plus derived fields (``bloc`` on every item, ``competency_ids`` on
        criteria and evaluations, ``criteria``/``criterion_ids`` on evaluations, ``criterion_ids`` (see
        :meth:`criteria_validating`) and ``evaluation_ids`` on competencies). It validates back with
        :meth:`from_dict`."""
        data = self.model_dump(mode="json")
        for bloc_data, bloc in zip(data["blocs"], self.blocs, strict=True):
            for comp_data, comp in zip(bloc_data["competencies"], bloc.competencies, strict=True):
                comp_data["criterion_ids"] = [c.id for c in self.criteria_validating(comp.id)]
                comp_data["evaluation_ids"] = [e.id for e in bloc.evaluations_for(comp.code)]
            for ev_data, ev in zip(bloc_data["evaluations"], bloc.evaluations, strict=True):
                crits = bloc.evaluation_criteria(ev)
                ev_data["criteria"] = [c.code for c in crits]
                ev_data["criterion_ids"] = [c.id for c in crits]
        return data

    def canonical_json(self) -> str:
        """The public dict as canonical JSON (sorted keys, no spaces): the input of :attr:`digest`."""
        return json.dumps(self.to_public_dict(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))

    @property
    def digest(self) -> str:
        """sha256 (hex) of :meth:`canonical_json`: changes with any change of the data (use it as ETag)."""
        if self._digest is None:
            self._digest = hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()
        return self._digest


def _describe_error(data: Any, err: Any) -> str:
    """A pydantic error, located with the ids/codes of the enclosing items when they can be found."""
    loc = err.get("loc", ())
    parts: list[str] = []
    node: Any = data
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
        if isinstance(key, int) and isinstance(node, dict):
            label = node.get("id") or node.get("code")
            parts.append(f"[{key}]" + (f"({label})" if label else ""))
        elif isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(f".{key}" if parts else str(key))
    where = "".join(parts) or "(root)"
    return f"{where}: {err.get('msg')}"
