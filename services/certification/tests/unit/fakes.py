"""In-memory stand-ins for the certification's unit of work and repositories, so that the use cases run
without a database (certifia_shared.fakes). Same method names and return types as the real repositories
(adapters/repository.py, suspensions.py, keystore.py), enough for the handlers and the views.

The four repositories read and write one :class:`FakeTables` (the rows of the certification database), as
the real ones share one database: a diploma's suspension is a column of its row, written by
``uow.suspensions`` and read by ``uow.progress``. Only the tables are snapshotted and restored by the fake
unit of work (the repositories hold no rows of their own), so a rolled-back block leaves every repository
as it was.
"""

from __future__ import annotations

import copy
import secrets
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.config import Settings
from certifia_certification.domain.model import (
    BlocCertificate,
    BlocPass,
    CandidateProgress,
    Diploma,
)
from certifia_certification.domain.revocation import Revocation
from certifia_certification.domain.signing import SigningKey
from certifia_certification.domain.status_list import LIST_SIZE, PURPOSE, StatusEntry, shuffled_index
from certifia_certification.domain.suspension import CredentialKind, Suspension, SuspensionRecord
from certifia_certification.service_layer.issuance import CredentialIssuance, credential_data
from certifia_shared.db import Conflict
from certifia_shared.fakes import FakeRepository, FakeUnitOfWork
from certifia_shared.referential import Referential, load_referential

BASE_URL = "https://certifia.example"
DID = "did:web:certifia.example"


@dataclass
class StatusListRow:
    list_id: str
    purpose: str
    size: int
    allocated: int
    key: bytes
    created: int
    """Creation order (the real table orders by ``created_at``, then id)."""


@dataclass
class FakeTables(FakeRepository):
    """The certification database's rows."""

    candidates: dict[str, CandidateProgress] = field(default_factory=dict)
    """Each candidate's own facts (enrolment, option, thesis, withdrawal): what ``save`` writes."""
    tenants: dict[str, str] = field(default_factory=dict)
    passes: dict[str, dict[str, BlocPass]] = field(default_factory=dict)
    certificates: dict[str, BlocCertificate] = field(default_factory=dict)
    diplomas: dict[str, Diploma] = field(default_factory=dict)
    status_lists: list[StatusListRow] = field(default_factory=list)
    suspension_history: list[tuple[CredentialKind, str, SuspensionRecord]] = field(default_factory=list)
    signing_keys: dict[str, tuple[bytes | None, str]] = field(default_factory=dict)
    """kid -> (private key bytes of the generated one, else None; origin)."""
    public_halves: dict[str, Ed25519PublicKey] = field(default_factory=dict)

    def __deepcopy__(self, memo: dict[int, Any]) -> FakeTables:
        keys = self.public_halves  # immutable key objects: shared, not copied
        clone = FakeTables(
            **{k: copy.deepcopy(v, memo) for k, v in vars(self).items() if k != "public_halves"}
        )
        clone.public_halves = dict(keys)
        return clone


class _Repository:
    def __init__(self, uow: FakeCertificationUnitOfWork) -> None:
        self._uow = uow

    @property
    def db(self) -> FakeTables:
        return self._uow.db


class FakeProgressRepository(_Repository):
    def lock(self, candidate_id: str, *, now: datetime) -> CandidateProgress:
        self.db.candidates.setdefault(candidate_id, CandidateProgress(candidate_id))
        progress = self.get(candidate_id)
        assert progress is not None
        return progress

    def get(self, candidate_id: str) -> CandidateProgress | None:
        own = self.db.candidates.get(candidate_id)
        if own is None:
            return None
        progress = CandidateProgress(
            candidate_id=candidate_id,
            enrolment=own.enrolment,
            option=own.option,
            option_chosen_at=own.option_chosen_at,
            thesis=own.thesis,
            withdrawn_at=own.withdrawn_at,
        )
        progress.blocs = dict(self.db.passes.get(candidate_id, {}))
        progress.certificates = {
            c.bloc: c for c in self.db.certificates.values() if c.candidate_id == candidate_id
        }
        progress.diploma = next(
            (d for d in self.db.diplomas.values() if d.candidate_id == candidate_id), None
        )
        return progress

    def set_tenant(self, candidate_id: str, lms_client: str) -> None:
        self.db.tenants[candidate_id] = lms_client

    def save(self, progress: CandidateProgress, *, now: datetime) -> None:
        self.db.candidates[progress.candidate_id] = CandidateProgress(
            candidate_id=progress.candidate_id,
            enrolment=progress.enrolment,
            option=progress.option,
            option_chosen_at=progress.option_chosen_at,
            thesis=progress.thesis,
            withdrawn_at=progress.withdrawn_at,
        )

    def add_bloc_pass(self, candidate_id: str, p: BlocPass) -> None:
        passes = self.db.passes.setdefault(candidate_id, {})
        if p.bloc in passes:
            raise Conflict(f"bloc {p.bloc} already passed by {candidate_id}")
        passes[p.bloc] = p

    def add_certificate(self, c: BlocCertificate) -> None:
        if any(x.candidate_id == c.candidate_id and x.bloc == c.bloc for x in self.db.certificates.values()):
            raise Conflict(f"bloc {c.bloc} already certified for {c.candidate_id}")
        self.db.certificates[c.certificate_id] = c

    def certificate(self, certificate_id: str, *, lock: bool = False) -> BlocCertificate | None:
        return self.db.certificates.get(certificate_id)

    def certificates_of(self, candidate_id: str, *, lock: bool = False) -> list[BlocCertificate]:
        mine = [c for c in self.db.certificates.values() if c.candidate_id == candidate_id]
        return sorted(mine, key=lambda c: (c.issued_at, c.bloc))

    def record_certificate_revocation(self, certificate_id: str, r: Revocation) -> bool:
        current = self.db.certificates[certificate_id]
        if current.revocation is not None:
            return False
        self.db.certificates[certificate_id] = replace(current, revocation=r)
        return True

    def add_diploma(self, d: Diploma) -> None:
        if any(x.candidate_id == d.candidate_id for x in self.db.diplomas.values()):
            raise Conflict(f"candidate {d.candidate_id} already holds a diploma")  # uq on candidate_id
        self.db.diplomas[d.diploma_id] = d

    def diploma(self, diploma_id: str, *, lock: bool = False) -> Diploma | None:
        return self.db.diplomas.get(diploma_id)

    def record_revocation(self, diploma_id: str, r: Revocation) -> bool:
        current = self.db.diplomas[diploma_id]
        if current.revocation is not None:
            return False
        self.db.diplomas[diploma_id] = replace(current, revocation=r)
        return True


class FakeStatusListRepository(_Repository):
    def allocate(self, *, now: datetime, purpose: str = PURPOSE) -> StatusEntry:
        lists = sorted(
            (s for s in self.db.status_lists if s.purpose == purpose and s.allocated < s.size),
            key=lambda s: (s.created, s.list_id),
        )
        if not lists:
            row = StatusListRow(
                str(uuid.uuid4()), purpose, LIST_SIZE, 0, secrets.token_bytes(16), len(self.db.status_lists)
            )
            self.db.status_lists.append(row)
        else:
            row = lists[0]
        position, row.allocated = row.allocated, row.allocated + 1
        return StatusEntry(row.list_id, shuffled_index(position, key=row.key, size=row.size))

    def _row(self, list_id: str) -> StatusListRow | None:
        return next((s for s in self.db.status_lists if s.list_id == list_id), None)

    def size(self, list_id: str) -> int | None:
        row = self._row(list_id)
        return row.size if row else None

    def purpose(self, list_id: str) -> str | None:
        row = self._row(list_id)
        return row.purpose if row else None

    def _held(self) -> list[Diploma | BlocCertificate]:
        return [*self.db.diplomas.values(), *self.db.certificates.values()]

    def revoked_indexes(self, list_id: str) -> list[int]:
        return [
            h.status.index
            for h in self._held()
            if h.status is not None and h.status.list_id == list_id and h.revocation is not None
        ]

    def suspended_indexes(self, list_id: str) -> list[int]:
        return [
            h.suspension_status.index
            for h in self._held()
            if h.suspension_status is not None
            and h.suspension_status.list_id == list_id
            and h.suspension is not None
        ]


class FakeSuspensionRepository(_Repository):
    def _rows(self, kind: CredentialKind) -> dict[str, Any]:
        return self.db.diplomas if kind == "diploma" else self.db.certificates

    def suspend(self, kind: CredentialKind, credential_id: str, s: Suspension) -> bool:
        rows = self._rows(kind)
        current = rows.get(credential_id)
        if current is None or current.suspension is not None or current.revocation is not None:
            return False
        rows[credential_id] = replace(current, suspension=s)
        return True

    def lift(self, kind: CredentialKind, credential_id: str, current: Suspension) -> bool:
        rows = self._rows(kind)
        held = rows.get(credential_id)
        if held is None or held.suspension is None or held.suspension.suspended_at != current.suspended_at:
            return False
        rows[credential_id] = replace(held, suspension=None)
        return True

    def record(self, kind: CredentialKind, credential_id: str, r: SuspensionRecord) -> None:
        self.db.suspension_history.append((kind, credential_id, r))

    def history(self, kind: CredentialKind, credential_id: str) -> list[SuspensionRecord]:
        return [r for k, c, r in self.db.suspension_history if (k, c) == (kind, credential_id)]


class FakeSigningKeyRepository(_Repository):
    def generated(self) -> SigningKey | None:
        raw = next((p for p, origin in self.db.signing_keys.values() if origin == "generated"), None)
        return SigningKey.from_raw(raw) if raw else None

    def add_generated(self, key: SigningKey) -> None:
        if self.generated() is not None:
            raise Conflict("the generated slot is taken")  # uq on slot
        self._add(key, key.private_key.private_bytes_raw(), "generated")

    def add_configured(self, key: SigningKey) -> None:
        if key.kid not in self.db.signing_keys:
            self._add(key, None, "settings")

    def _add(self, key: SigningKey, private: bytes | None, origin: str) -> None:
        self.db.signing_keys[key.kid] = (private, origin)
        self.db.public_halves[key.kid] = key.public_key

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {kid: self.db.public_halves[kid] for kid in self.db.signing_keys}


class FakeCertificationUnitOfWork(FakeUnitOfWork):
    def __init__(self) -> None:
        super().__init__(source="/certifia/certification")
        self.db = FakeTables()
        self.progress = FakeProgressRepository(self)
        self.status_lists = FakeStatusListRepository(self)
        self.suspensions = FakeSuspensionRepository(self)
        self.keys = FakeSigningKeyRepository(self)


_REFERENTIAL: Referential | None = None


def referential() -> Referential:
    """The referential the service ships (read once)."""
    global _REFERENTIAL
    if _REFERENTIAL is None:
        _REFERENTIAL = load_referential()
    return _REFERENTIAL


def fake_issuance(uow: FakeCertificationUnitOfWork, key: SigningKey | None = None) -> CredentialIssuance:
    """What bootstrap wires for issuing, with a fresh signing key recorded in ``uow``'s keys (as
    ``load_signing_key`` does for a configured one)."""
    key = key or SigningKey.generate()
    ring = KeyRing(None)
    ring.activate(key)
    with uow:
        uow.keys.add_configured(key)
        uow.commit()
    settings = Settings(
        database_url="sqlite://",
        public_base_url=BASE_URL,
        CERTIFIA_RNCP_CODE="RNCP00000",
        CERTIFIA_CERTIFIER_SIRET="73282932000074",
        CERTIFIA_NSF_CODE="326",
    )
    ref = referential()
    data = credential_data(
        ref, certifier=settings.certifier(), qualification=settings.qualification(ref.certification.rncp_code)
    )
    return CredentialIssuance(referential=ref, keys=ring, base_url=BASE_URL, did=settings.did(), data=data)
