"""A diploma for people: the public verification page (HTML, for employers) and the PDF (for its holder).
Thin: both show the check the JSON verification computes (``check_diploma``), through one ``DiplomaView``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import HTMLResponse

from certifia_certification.adapters.diploma_page import (
    HEADERS,
    render_not_found_page,
    render_verification_page,
)
from certifia_certification.adapters.diploma_pdf import render_diploma_pdf
from certifia_certification.domain.credential import summary
from certifia_certification.domain.diploma_view import DiplomaView, diploma_view
from certifia_certification.domain.errors import UnknownDiploma
from certifia_certification.entrypoints.deps import IssuanceDep, UnitOfWorkDep
from certifia_certification.entrypoints.errors import unknown_diploma
from certifia_certification.service_layer.issuance import CredentialIssuance
from certifia_certification.service_layer.verification import DiplomaCheck, check_diploma
from certifia_shared.auth import Principal, require
from certifia_shared.tenancy import ensure_visible

router = APIRouter(tags=["verification"])

PDF_READERS = ("candidate", "lms", "officer")
"""With admin (always): the holder (a candidate token for their own id), LMS clients, officers."""


def _view(checked: DiplomaCheck, issuance: CredentialIssuance) -> DiplomaView:
    diploma = checked.diploma
    return diploma_view(
        diploma.diploma_id,
        summary(diploma.credential),
        checked.check,
        verification_url=issuance.verification_page_url(diploma.diploma_id),
    )


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


@router.get(
    "/diplomas/{diploma_id}/verify",
    response_class=HTMLResponse,
    responses={
        404: {
            "description": "HTML page; problem+json when the client accepts JSON, not HTML",
            "content": {"text/html": {"schema": {"type": "string"}}},
        }
    },
)
def verification_page(
    diploma_id: str, request: Request, uow: UnitOfWorkDep, issuance: IssuanceDep
) -> Response:
    """Public (no token): the diploma's verification page in French, for an employer: holder, certification,
    issue date, issuer, key id and the verdict (authentic, revoked on <date>: <reason>, or why not)."""
    checked = check_diploma(diploma_id, uow=uow, issuance=issuance)
    if checked is None:
        if _wants_json(request):
            raise UnknownDiploma(diploma_id)
        page = render_not_found_page(diploma_id, issuer=issuance.data.certifier.name)
        return HTMLResponse(page, status_code=404, headers=HEADERS)
    page = render_verification_page(
        _view(checked, issuance),
        json_url=issuance.verification_url(diploma_id),
        jwks_url=f"{issuance.base_url}/.well-known/did.json",  # the controller document: the keys
    )
    return HTMLResponse(page, headers=HEADERS)


@router.get(
    "/diplomas/{diploma_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the diploma, one A4 page"}},
)
def diploma_pdf(
    diploma_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(require(*PDF_READERS))],
    uow: UnitOfWorkDep,
    issuance: IssuanceDep,
) -> Response:
    """The diploma as a PDF (A4 landscape, French) with its verification page's URL and key id. A revoked
    diploma's PDF is still served, stamped RÉVOQUÉ with the date and reason (one that fails verification:
    NON AUTHENTIQUE). The same diploma in the same state gives the same bytes."""
    checked = check_diploma(diploma_id, uow=uow, issuance=issuance)
    if checked is None:
        raise UnknownDiploma(diploma_id)
    diploma = checked.diploma
    hidden = unknown_diploma(UnknownDiploma(diploma_id))
    ensure_visible(request, principal, diploma.candidate_id, hidden_as=hidden)  # theirs, or their LMS's
    pdf = render_diploma_pdf(
        _view(checked, issuance), issued_at=diploma.issued_at, credential=diploma.credential
    )
    headers = {
        "Content-Disposition": f'inline; filename="diplome-{diploma.diploma_id}.pdf"',
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return Response(pdf, media_type="application/pdf", headers=headers)
