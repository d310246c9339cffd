"""Public (no token): the achievements the credentials name, at the https ids they carry, so a verifier or a
wallet resolves them: the diploma's (the certification aligned to its RNCP fiche and levels, with the results
it is awarded on) and each bloc's. Served as the credentials of today embed them (JSON-LD, with the bundled
contexts); only the current referential's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from certifia_certification.domain.bloc_credential import bloc_achievement
from certifia_certification.domain.credential import CONTEXT, diploma_achievement
from certifia_certification.entrypoints.deps import IssuerDep
from certifia_certification.service_layer.handlers import Issuer
from certifia_shared.problems import Problem

router = APIRouter(tags=["achievements"])


def _unknown(achievement_id: str, issuer: Issuer) -> Problem:
    current = f"referential-{issuer.referential.version}"
    return Problem(
        404,
        "Achievement not found",
        f"No achievement {achievement_id!r}: this issuer serves the achievements of the current referential, "
        f"{current!r} (GET /achievements/{current}, and /achievements/{current}/blocs/<bloc>).",
        type="not-found",
        field="achievement_id",
    )


def _check(achievement_id: str, issuer: Issuer) -> None:
    if achievement_id != f"referential-{issuer.referential.version}":
        raise _unknown(achievement_id, issuer)


@router.get("/achievements/{achievement_id}")
def get_achievement(achievement_id: str, issuer: IssuerDep) -> dict[str, Any]:
    """The diploma's achievement (OB 3.0 ``Achievement``), as the diplomas embed it."""
    _check(achievement_id, issuer)
    ref = issuer.referential
    achievement = diploma_achievement(
        base_url=issuer.base_url,
        title=ref.certification.title,
        criteria=ref.rule.statement,
        referential_version=ref.version,
        data=issuer.data,
    )
    return {"@context": CONTEXT, **achievement}


@router.get("/achievements/{achievement_id}/blocs/{bloc}")
def get_bloc_achievement(achievement_id: str, bloc: str, issuer: IssuerDep) -> dict[str, Any]:
    """A bloc's achievement (``achievementType`` ``Certificate``), as its bloc certificates embed it."""
    _check(achievement_id, issuer)
    titles = dict(issuer.data.blocs)
    if bloc not in titles:
        raise Problem(
            404,
            "Bloc not found",
            f"The referential has no bloc {bloc!r}: one of {', '.join(titles)}.",
            type="not-found",
            field="bloc",
        )
    ref = issuer.referential
    achievement = bloc_achievement(
        base_url=issuer.base_url,
        referential_version=ref.version,
        bloc=bloc,
        bloc_title=titles[bloc],
        certification_title=ref.certification.title,
        data=issuer.data,
    )
    return {"@context": CONTEXT, **achievement}
