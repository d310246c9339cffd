"""The one place that wires the certification service's real adapters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.adapters.orm import candidates, messaging
from certifia_certification.config import Settings
from certifia_certification.entrypoints.achievements import router as achievements_router
from certifia_certification.entrypoints.api import router
from certifia_certification.entrypoints.documents import router as documents_router
from certifia_certification.entrypoints.errors import ERRORS
from certifia_certification.entrypoints.exchange import router as exchange_router
from certifia_certification.entrypoints.revocation import router as revocation_router
from certifia_certification.entrypoints.suspension import router as suspension_router
from certifia_certification.entrypoints.verification import router as verification_router
from certifia_certification.service_layer.handlers import event_handlers
from certifia_certification.service_layer.issuance import (
    STATUS_LISTS_PATH,
    CredentialIssuance,
    credential_data,
)
from certifia_certification.service_layer.keys import load_signing_key
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.referential import Referential, load_referential
from certifia_shared.service import ServiceContext, build_context
from certifia_shared.tenancy import TableTenants
from certifia_shared.web import create_app

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"
PUBLIC_PATHS = (
    "/.well-known/",
    "/did.json",
    "/credentials/verify",
    f"/{STATUS_LISTS_PATH}/",
    "/diplomas/{diploma_id}/verification",
    "/diplomas/{diploma_id}/verify",
    "/verifications",
    "/achievements/",
)
"""What anyone may call without a token (an employer checking a diploma): no security in OpenAPI, the small
public body limit (a presented credential is a few KiB), caching left to the route."""


@dataclass(frozen=True)
class CertificationContext(ServiceContext[CertificationUnitOfWork]):
    """The certification's wiring: the shared context and what issuing credentials needs (its signing key
    loaded before any worker starts)."""

    issuance: CredentialIssuance


def bootstrap(
    settings: Settings | None = None,
    *,
    referential: Referential | None = None,
    uow_factory: Callable[[], CertificationUnitOfWork] | None = None,
) -> CertificationContext:
    """The wired service: its database, units of work, consumer handlers and the credential issuance (its
    signing key loaded). ``uow_factory`` (a test's fake) wires it over that unit of work instead: no
    database, no worker started."""
    settings = settings or Settings()
    keys = KeyRing(settings.signing_key_bytes())
    referential = referential or load_referential()
    data = credential_data(
        referential,
        certifier=settings.certifier(),
        qualification=settings.qualification(referential.certification.rncp_code),
    )
    issuance = CredentialIssuance(
        referential=referential, keys=keys, base_url=settings.base_url(), did=settings.did(), data=data
    )
    ctx = build_context(
        settings,
        database_name="certification",
        tables=messaging,
        migrations_dir=MIGRATIONS,
        handlers=lambda: event_handlers(issuance),
        unit_of_work=CertificationUnitOfWork,
        uow_factory=uow_factory,
    ).extended(CertificationContext, issuance=issuance)
    load_signing_key(keys, ctx.uow)  # before any worker starts: handlers sign with it
    return ctx


def create_application(settings: Settings | None = None) -> FastAPI:
    ctx = bootstrap(settings)
    return create_app(
        settings=ctx.settings,
        title="certifia certification",
        routers=[
            router,
            revocation_router,
            suspension_router,
            verification_router,
            documents_router,
            exchange_router,
            achievements_router,
        ],
        readiness=ctx.runtime.readiness,
        errors=ERRORS,
        on_start=ctx.runtime.start,
        on_stop=ctx.runtime.stop,
        state={
            "ctx": ctx,
            "tenants": TableTenants(ctx.sessions, candidates.c.candidate_id, candidates.c.lms_client),
        },
        public_paths=PUBLIC_PATHS,
    )
