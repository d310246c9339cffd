"""Fetching a submission's archive from the claim check in ``grading.requested``."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from certifia_shared.oidc_client import TokenRequestFailed


class ArtifactUnavailable(Exception):
    """The archive could not be fetched or does not match its digest (worth retrying)."""


class ArtifactFetcher:
    """GET the archive from assessment with grading-compute's own access token (role ``service``, asked
    from the identity provider with the client-credentials grant: ``token``)."""

    def __init__(
        self, *, token: Callable[[], str], allowed_hosts: set[str], max_bytes: int, timeout: float = 30.0
    ) -> None:
        self._token = token
        self._allowed_hosts = allowed_hosts
        self._max_bytes = max_bytes
        self._timeout = timeout

    def __call__(self, artifact: dict[str, Any]) -> bytes:
        url = str(artifact["url"])
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or parts.hostname not in self._allowed_hosts:
            # not retryable in practice, but never fetch from a host we were not told to trust
            raise ArtifactUnavailable(f"artifact host {parts.hostname!r} is not in GRADING_ARTIFACT_HOSTS")
        try:
            token = self._token()
        except TokenRequestFailed as exc:
            raise ArtifactUnavailable(f"no service token from the identity provider: {exc}") from exc
        body = bytearray()
        try:
            with httpx.stream(
                "GET", url, headers={"Authorization": f"Bearer {token}"}, timeout=self._timeout
            ) as response:
                if response.status_code != 200:
                    raise ArtifactUnavailable(f"GET {url} answered {response.status_code}")
                for chunk in response.iter_bytes():
                    body.extend(chunk)
                    if len(body) > self._max_bytes:
                        raise ArtifactUnavailable(f"artifact larger than {self._max_bytes} bytes")
        except httpx.HTTPError as exc:
            raise ArtifactUnavailable(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc
        digest = hashlib.sha256(body).hexdigest()
        if digest != artifact["sha256"]:
            raise ArtifactUnavailable(
                f"artifact digest {digest} differs from the requested {artifact['sha256']}"
            )
        return bytes(body)
