"""Sending one webhook over HTTP (httpx): no redirects, no proxies from the environment, a time limit.

Before each POST the host name is resolved and refused if it lands on a loopback, private or link-local
address (unless the deployment allows it), so a subscription cannot be turned against the internal network.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from certifia_enrolment.domain.webhooks import Attempt, address_refusal

USER_AGENT = "certifia-webhooks/1"
Resolver = Callable[..., list[Any]]


class HttpWebhookSender:
    def __init__(
        self, *, timeout_seconds: float, allow_private: bool, resolver: Resolver = socket.getaddrinfo
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self._allow_private = allow_private
        self._resolve = resolver
        self._client = httpx.Client(
            timeout=timeout_seconds,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": USER_AGENT},
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> Attempt:
        try:  # checked at subscription; a row written otherwise must still fail cleanly, not loop
            parts = urlsplit(url)
            host, port = parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            return Attempt(None, f"not a valid URL: {exc}")
        try:
            infos = self._resolve(host, port)
        except (socket.gaierror, UnicodeError) as exc:
            return Attempt(None, f"cannot resolve {host}: {exc}")
        refusal = address_refusal({str(info[4][0]) for info in infos}, allow_private=self._allow_private)
        if refusal:
            return Attempt(None, f"refused: {refusal}")
        try:
            response = self._client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            return Attempt(None, f"no answer within {self.timeout_seconds:g} s")
        except httpx.HTTPError as exc:
            return Attempt(None, f"{type(exc).__name__}: {exc}")
        if 200 <= response.status_code < 300:
            return Attempt(response.status_code)
        return Attempt(response.status_code, response.text[:200] or None)

    def close(self) -> None:
        self._client.close()
