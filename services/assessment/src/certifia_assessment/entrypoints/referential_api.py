"""Read API of the referential: read far more often than it changes, so every answer carries an ETag
(the referential's digest and the query) and cache headers, and a matching If-None-Match gets a 304."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from certifia_assessment.entrypoints.deps import ReferentialDep
from certifia_shared.auth import Principal, require
from certifia_shared.problems import Problem
from certifia_shared.referential import Referential, ReferentialLookupError

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the If-None-Match ETag is the current one (no body)"}
}
router = APIRouter(prefix="/referential", tags=["referential"], responses=NOT_MODIFIED)
READERS = require("lms", "candidate", "jury", "officer", "service")
CACHE_CONTROL = "private, max-age=300, must-revalidate"
BLOCS = "^(1|2|3|4|5A|5B)$"


def _cached(request: Request, referential: Referential, body: Any) -> Response:
    tag = hashlib.sha256(f"{referential.digest}|{request.url.path}|{request.url.query}".encode()).hexdigest()
    etag = f'"{tag[:40]}"'
    headers = {"ETag": etag, "Cache-Control": CACHE_CONTROL, "X-Referential-Version": referential.version}
    inm = request.headers.get("if-none-match", "")
    if etag in {t.strip() for t in inm.split(",")} or inm.strip() == "*":
        return Response(status_code=304, headers=headers)
    return Response(
        content=json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        media_type="application/json",
        headers=headers,
    )


def _check_evaluation_type(referential: Referential, evaluation_type: str | None) -> None:
    known = referential.vocabularies.evaluation_types
    if evaluation_type is not None and evaluation_type not in known:
        raise Problem(
            422,
            "Unknown evaluation type",
            f"evaluation_type must be one of: {', '.join(sorted(known))}.",
            type="validation-error",
            errors=[{"field": "evaluation_type", "message": f"unknown value {evaluation_type!r}"}],
        )


@router.get("")
def whole(
    request: Request,
    _: Annotated[Principal, Depends(READERS)],
    referential: ReferentialDep,
    bloc: Annotated[str | None, Query(pattern=BLOCS, description="keep only this bloc")] = None,
    evaluation_type: Annotated[str | None, Query(description="keep only evaluations of this type")] = None,
) -> Response:
    """The whole referential as JSON (the shape `make -s referential` prints), optionally filtered."""
    _check_evaluation_type(referential, evaluation_type)
    data = referential.to_public_dict()
    if bloc is not None:
        data["blocs"] = [b for b in data["blocs"] if b["code"] == bloc]
    if evaluation_type is not None:
        for b in data["blocs"]:
            b["evaluations"] = [e for e in b["evaluations"] if e["type"] == evaluation_type]
    return _cached(request, referential, data)


@router.get("/blocs/{code}")
def one_bloc(
    code: str, request: Request, _: Annotated[Principal, Depends(READERS)], referential: ReferentialDep
) -> Response:
    for b in referential.to_public_dict()["blocs"]:
        if b["code"] == code:
            return _cached(request, referential, b)
    raise _unknown("bloc", code, "code")


@router.get("/evaluations")
def evaluations(
    request: Request,
    _: Annotated[Principal, Depends(READERS)],
    referential: ReferentialDep,
    bloc: Annotated[str | None, Query(pattern=BLOCS)] = None,
    evaluation_type: Annotated[str | None, Query(alias="type")] = None,
) -> Response:
    _check_evaluation_type(referential, evaluation_type)
    items = [
        _dump(e)
        for e in referential.evaluations
        if (bloc is None or e.bloc == bloc) and (evaluation_type is None or e.type == evaluation_type)
    ]
    return _cached(request, referential, items)


@router.get("/{kind}/{global_id}")
def one_item(
    kind: str,
    global_id: str,
    request: Request,
    _: Annotated[Principal, Depends(READERS)],
    referential: ReferentialDep,
) -> Response:
    """A competency, criterion, evaluation or activity by its global id (e.g. `5B.A3.C1.E2`)."""
    lookups = {
        "competencies": ("competency", referential.competency),
        "criteria": ("criterion", referential.criterion),
        "evaluations": ("evaluation", referential.evaluation),
        "activities": ("activity", referential.activity),
    }
    if kind not in lookups:
        raise Problem(404, "Not found", f"No such collection {kind!r}: use one of {', '.join(lookups)}.")
    what, lookup = lookups[kind]
    try:
        item = lookup(global_id)
    except ReferentialLookupError:  # the route's own 404: which kind of item was asked for
        raise _unknown(what, global_id, "global_id") from None
    return _cached(request, referential, _dump(item))


def _dump(item: Any) -> dict[str, Any]:
    out: dict[str, Any] = item.model_dump(mode="json")
    return out


def _unknown(what: str, ident: str, field: str) -> Problem:
    return Problem(
        404,
        f"Unknown {what}",
        f"The referential has no {what} {ident!r}; GET /referential lists every id.",
        type="not-found",
        errors=[{"field": field, "message": "not in the referential"}],
    )
