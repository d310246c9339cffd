"""Where hidden data comes from: the deployment's grading secret, never the published seed alone.

Every pack declares a public seed (``dataset.seed`` in pack.yaml). Anyone holding the pack source and
that seed can rebuild what it determines, so it determines only what a candidate is meant to have (the
public training split, b5b's teacher). Everything hidden (which rows, their perturbations, the synthetic
datasets) derives from the **derived key**::

    key  = HMAC-SHA256(secret, json.dumps(["certifia.hidden-data.v1", pack_id, version, public_seed]))
    seed = int.from_bytes(key, "big")        # the effective seed the pack's build() receives (256 bits)
    commitment = SHA-256(b"certifia.dataset-commitment.v1\\0" + key), hex

The seed never leaves the service. ``/packs`` and every grading event carry the commitment: binding (an
auditor holding the secret recomputes it and sees which hidden data a verdict was computed on) and hiding
(the key is 256 bits of HMAC output: nothing about the seed can be searched from the commitment).
``python -m certifia_grading.audit`` re-grades an archive with a secret and checks the commitment.

The secret is the setting ``GRADING_SECRET`` (``config.Settings``; the service refuses to start without
one unless ``GRADING_SECRET_INSECURE_DEVELOPMENT=true``). An engine built without one (tests, benchmark,
scripts, a Ray worker) reads ``GRADING_SECRET`` from its environment, else uses the published
:data:`DEVELOPMENT_SECRET` and says so in the log: its hidden data is then derivable by anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os

log = logging.getLogger(__name__)

DERIVATION_LABEL = "certifia.hidden-data.v1"
COMMITMENT_LABEL = b"certifia.dataset-commitment.v1\0"
ENVIRONMENT_VARIABLE = "GRADING_SECRET"
MIN_SECRET_CHARS = 32
# Published on purpose: development machines and the benchmark only (anyone can derive its hidden data).
DEVELOPMENT_SECRET = b"certifia-development-grading-secret-not-for-production"
_warned = False


def derive_key(secret: bytes, pack_id: str, version: str, public_seed: int) -> bytes:
    """The 32-byte key everything hidden in this pack version derives from, under ``secret``."""
    message = json.dumps([DERIVATION_LABEL, pack_id, version, int(public_seed)]).encode("utf-8")
    return hmac.new(secret, message, hashlib.sha256).digest()


def effective_seed(key: bytes) -> int:
    """The seed a pack's ``build()`` receives (numpy's ``default_rng`` takes it whole)."""
    return int.from_bytes(key, "big")


def commitment(key: bytes) -> str:
    """What is published instead of the seed (hex SHA-256 of the labelled key)."""
    return hashlib.sha256(COMMITMENT_LABEL + key).hexdigest()


def secret_from_environment() -> bytes:
    """``GRADING_SECRET`` of this process, else the development secret (logged once as a warning)."""
    global _warned
    value = os.environ.get(ENVIRONMENT_VARIABLE, "").strip()
    if value:
        return value.encode("utf-8")
    if not _warned:
        _warned = True
        log.warning(
            "GRADING_SECRET is not set: hidden data derives from the published development secret, so "
            "anyone can rebuild it; the service refuses to start this way (set it on Ray workers too)"
        )
    return DEVELOPMENT_SECRET


def as_secret(value: str | bytes | None) -> bytes:
    if value is None:
        return secret_from_environment()
    secret = value.encode("utf-8") if isinstance(value, str) else bytes(value)
    if not secret:
        raise ValueError("an empty grading secret")
    return secret
