"""Loading the signing key at start-up, before any worker signs with it."""

from __future__ import annotations

from collections.abc import Callable

from certifia_certification.adapters.keystore import KeyRing
from certifia_certification.domain.signing import SigningKey
from certifia_certification.service_layer.unit_of_work import CertificationUnitOfWork
from certifia_shared.db import retry_on_conflict


def load_signing_key(ring: KeyRing, uow: Callable[[], CertificationUnitOfWork]) -> SigningKey:
    """The configured key (its public half recorded), else the generated one: read, or generated and kept
    once. Two replicas starting at once each generate one; the second's commit is a Conflict, and its retry
    reads the first's."""

    def attempt() -> SigningKey:
        with uow() as u:
            if ring.configured:
                key = SigningKey.from_raw(ring.configured)
                u.keys.add_configured(key)
                u.commit()
                return key
            stored = u.keys.generated()
            if stored is not None:
                return stored
            key = SigningKey.generate()
            u.keys.add_generated(key)
            u.commit()
            return key

    key = retry_on_conflict(attempt, attempts=2)
    ring.activate(key)
    return key
