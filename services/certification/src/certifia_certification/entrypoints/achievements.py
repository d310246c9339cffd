"""Public (no token): the achievements the credentials name, at the https ids they carry, so a verifier or a
wallet resolves them: the diploma's (the certification aligned to its RNCP fiche and levels, with the results
it is awarded on) and each bloc's. Served as the credentials of today embed them (JSON-LD, with the bundled
contexts); only the current referential's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from certifia_certification.entrypoints.deps import IssuanceDep
from certifia_certification.service_layer import views

router = APIRouter(tags=["achievements"])


@router.get("/achievements/{achievement_id}")
def get_achievement(achievement_id: str, issuance: IssuanceDep) -> dict[str, Any]:
    """The diploma's achievement (OB 3.0 ``Achievement``), as the diplomas embed it."""
    return views.achievement(achievement_id, issuance=issuance)


@router.get("/achievements/{achievement_id}/blocs/{bloc}")
def get_bloc_achievement(achievement_id: str, bloc: str, issuance: IssuanceDep) -> dict[str, Any]:
    """A bloc's achievement (``achievementType`` ``Certificate``), as its bloc certificates embed it."""
    return views.bloc_achievement_of(achievement_id, bloc, issuance=issuance)
