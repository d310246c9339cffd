"""Tokens a service or a tool asks the identity provider for: the client-credentials grant (a service
calling another, e.g. grading-compute fetching a submission from assessment; an LMS) and, in the
development realm only, the password grant (the demo logging people in).

A client secret is a credential to ask for tokens, not a key to mint them: the provider signs.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from certifia_shared.oidc import fetch_json

DISCOVERY = "/.well-known/openid-configuration"
EARLY_RENEWAL_SECONDS = 30


class TokenRequestFailed(RuntimeError):
    """The provider refused the grant (wrong secret, grant not allowed) or did not answer."""


def token_endpoint(issuer: str, timeout: float = 5.0) -> str:
    document = fetch_json(issuer.rstrip("/") + DISCOVERY, timeout)
    endpoint = document.get("token_endpoint") if isinstance(document, dict) else None
    if not isinstance(endpoint, str) or not endpoint:
        raise TokenRequestFailed(f"{issuer} publishes no token_endpoint in its discovery document")
    return endpoint


def request_token(endpoint: str, form: dict[str, str], timeout: float = 10.0) -> dict[str, Any]:
    """POST a token request; the answer's JSON (access_token, expires_in, ...)."""
    body = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(
        endpoint, data=body, headers={"Content-Type": "application/x-www-form-urlencoded"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        raise TokenRequestFailed(f"the token endpoint said {exc.code}: {detail}") from None
    except (OSError, ValueError) as exc:
        raise TokenRequestFailed(f"the token endpoint {endpoint} did not answer: {exc}") from None
    if "access_token" not in answer:
        raise TokenRequestFailed("the token endpoint answered without an access_token")
    return answer


@dataclass
class _Cached:
    token: str
    renew_at: float


class ClientCredentials:
    """An access token for this client, asked for when needed and kept until shortly before it expires."""

    def __init__(
        self, issuer: str, client_id: str, client_secret: str, *, token_url: str = "", timeout: float = 5.0
    ) -> None:
        if not client_id or not client_secret:
            raise ValueError("a client id and its secret are needed for the client-credentials grant")
        self._issuer = issuer
        self._form = {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._timeout = timeout
        self._endpoint = token_url  # "": from the issuer's discovery document, on first use
        self._cached: _Cached | None = None
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            now = time.monotonic()
            if self._cached is not None and now < self._cached.renew_at:
                return self._cached.token
            if not self._endpoint:
                self._endpoint = token_endpoint(self._issuer, self._timeout)
            answer = request_token(self._endpoint, self._form, self._timeout)
            lifetime = float(answer.get("expires_in", 60))
            self._cached = _Cached(answer["access_token"], now + max(1.0, lifetime - EARLY_RENEWAL_SECONDS))
            return self._cached.token

    def __call__(self) -> str:
        return self.token()
