"""Credentials in exchange formats (issue 13 item 6): the raw signed credential, as JSON or as
``application/vc+ld+json`` (negotiated, or a ``.jsonld`` download), and the diploma as an Open Badges 3.0 baked
SVG badge. Candidate-scoped like the bloc certificate's credential route has always been: the holder, the LMS
that enrolled them and staff (another's: 404)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from certifia_certification.adapters.badge_svg import MEDIA_TYPE as SVG_MEDIA_TYPE
from certifia_certification.adapters.badge_svg import BadgeFace, render_badge_svg
from certifia_certification.domain.credential import ISSUER_NAME, summary
from certifia_certification.domain.diploma_view import UNKNOWN, french_timestamp
from certifia_certification.domain.errors import UnknownBlocCertificate, UnknownDiploma
from certifia_certification.entrypoints.api import READERS
from certifia_certification.entrypoints.deps import IssuanceDep, UnitOfWorkDep
from certifia_certification.entrypoints.errors import unknown_bloc_certificate, unknown_diploma
from certifia_certification.service_layer import views
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.auth import Principal, require
from certifia_shared.tenancy import ensure_visible

router = APIRouter(tags=["certification"])

VC_MEDIA_TYPE = "application/vc+ld+json"
"""The signed credential as JSON-LD (Verifiable Credentials media type)."""
Reader = Annotated[Principal, Depends(require(*READERS))]
_CREDENTIAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": f"the signed credential: ``{VC_MEDIA_TYPE}`` when the client accepts it, JSON otherwise",
        "content": {"application/json": {}, VC_MEDIA_TYPE: {}},
    }
}
_HEADERS = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff"}


def _answer(credential: dict[str, Any], request: Request, *, download: str | None = None) -> JSONResponse:
    """JSON unless the client asks for ``application/vc+ld+json`` (or downloads the ``.jsonld`` file)."""
    wants_vc = download is not None or VC_MEDIA_TYPE in request.headers.get("accept", "").lower()
    headers = dict(_HEADERS)
    if download is not None:
        headers["Content-Disposition"] = f'attachment; filename="{download}"'
    media_type = VC_MEDIA_TYPE if wants_vc else "application/json"
    return JSONResponse(credential, media_type=media_type, headers=headers)


def _diploma_credential(
    diploma_id: str, request: Request, principal: Principal, uow: CertificationUnitOfWork
) -> dict[str, Any]:
    diploma = views.diploma(diploma_id, uow=uow)
    hidden = unknown_diploma(UnknownDiploma(diploma_id))  # another candidate's: not disclosed
    ensure_visible(request, principal, diploma.candidate_id, hidden_as=hidden)
    return diploma.credential


def _certificate_credential(
    certificate_id: str, request: Request, principal: Principal, uow: CertificationUnitOfWork
) -> dict[str, Any]:
    certificate = views.bloc_certificate(certificate_id, uow=uow)
    hidden = unknown_bloc_certificate(UnknownBlocCertificate(certificate_id))  # another candidate's
    ensure_visible(request, principal, certificate.candidate_id, hidden_as=hidden)
    if certificate.credential is None:  # recorded before bloc certificates were credentials
        raise UnknownBlocCertificate(certificate_id)
    return certificate.credential


@router.get("/diplomas/{diploma_id}/credential", responses=_CREDENTIAL_RESPONSES)
def get_diploma_credential(
    diploma_id: str, request: Request, principal: Reader, uow: UnitOfWorkDep
) -> JSONResponse:
    """The diploma as its signed OB 3.0 credential, byte for byte what was signed (verify it anywhere)."""
    return _answer(_diploma_credential(diploma_id, request, principal, uow), request)


@router.get("/diplomas/{diploma_id}/credential.jsonld", responses=_CREDENTIAL_RESPONSES)
def download_diploma_credential(
    diploma_id: str, request: Request, principal: Reader, uow: UnitOfWorkDep
) -> JSONResponse:
    """The same, as a ``.jsonld`` file to download (``application/vc+ld+json``)."""
    credential = _diploma_credential(diploma_id, request, principal, uow)
    return _answer(credential, request, download=f"diplome-{diploma_id}.jsonld")


@router.get("/bloc-certificates/{certificate_id}/credential", responses=_CREDENTIAL_RESPONSES)
def get_bloc_certificate_credential(
    certificate_id: str, request: Request, principal: Reader, uow: UnitOfWorkDep
) -> JSONResponse:
    """The bloc certificate as its signed OB 3.0 credential (verifiable like the diploma)."""
    return _answer(_certificate_credential(certificate_id, request, principal, uow), request)


@router.get("/bloc-certificates/{certificate_id}/credential.jsonld", responses=_CREDENTIAL_RESPONSES)
def download_bloc_certificate_credential(
    certificate_id: str, request: Request, principal: Reader, uow: UnitOfWorkDep
) -> JSONResponse:
    """The same, as a ``.jsonld`` file to download (``application/vc+ld+json``)."""
    credential = _certificate_credential(certificate_id, request, principal, uow)
    return _answer(credential, request, download=f"certificat-bloc-{certificate_id}.jsonld")


@router.get(
    "/diplomas/{diploma_id}/badge.svg",
    response_class=Response,
    responses={200: {"content": {SVG_MEDIA_TYPE: {}}, "description": "an Open Badges 3.0 baked SVG"}},
)
def diploma_badge(
    diploma_id: str, request: Request, principal: Reader, uow: UnitOfWorkDep, issuance: IssuanceDep
) -> Response:
    """The diploma as an Open Badges 3.0 baked badge: an SVG showing its title, holder, issue date and a QR
    code of its verification page, carrying the signed credential (``<openbadges:credential>``)."""
    credential = _diploma_credential(diploma_id, request, principal, uow)
    stated = summary(credential)
    face = BadgeFace(
        title=stated.title or UNKNOWN,
        holder=stated.holder or UNKNOWN,
        issued_on=french_timestamp(stated.valid_from),
        issuer=stated.issuer_name or ISSUER_NAME,
        verification_url=issuance.verification_page_url(diploma_id),
    )
    headers = {
        **_HEADERS,
        "Content-Disposition": f'inline; filename="diplome-{diploma_id}.svg"',
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",  # no script, ever
    }
    return Response(render_badge_svg(face, credential), media_type=SVG_MEDIA_TYPE, headers=headers)
