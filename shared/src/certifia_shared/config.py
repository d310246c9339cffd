"""Settings every service shares, read from the environment (pydantic-settings).

Each service subclasses :class:`ServiceSettings` with its own defaults. Unsafe values fail at start-up.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_LEEWAY_SECONDS = 120


class KafkaSecurityError(RuntimeError):
    """The Kafka client settings cannot give an authenticated, encrypted connection."""


@dataclass(frozen=True)
class KafkaSecurity:
    """How a client reaches the broker: mutual TLS (the CA to trust, this principal's certificate chain and
    key), or PLAINTEXT on a development machine that said so."""

    protocol: Literal["SSL", "PLAINTEXT"] = "SSL"
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""

    def check(self) -> None:
        """Fail with what to do when a TLS file is missing; a key others can read is refused too."""
        if self.protocol == "PLAINTEXT":
            return
        for name, value in (
            ("KAFKA_SSL_CAFILE", self.cafile),
            ("KAFKA_SSL_CERTFILE", self.certfile),
            ("KAFKA_SSL_KEYFILE", self.keyfile),
        ):
            if not value:
                raise KafkaSecurityError(
                    f"{name} is not set: the broker requires mutual TLS (see README, 'Event bus security'); "
                    "`make run` and the test harness create the files under var/"
                )
            if not os.path.isfile(value) or not os.access(value, os.R_OK):
                raise KafkaSecurityError(f"{name}={value} is not a readable file")
        mode = os.stat(self.keyfile).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO) and not _mounted_secret(self.keyfile):
            raise KafkaSecurityError(
                f"KAFKA_SSL_KEYFILE={self.keyfile} is readable by others (mode {stat.S_IMODE(mode):o}): "
                f"chmod 600 {self.keyfile}"
            )

    def client_kwargs(self) -> dict[str, Any]:
        """kafka-python keyword arguments for a producer, consumer or admin client."""
        if self.protocol == "PLAINTEXT":
            return {"security_protocol": "PLAINTEXT"}
        self.check()
        return {
            "security_protocol": "SSL",
            "ssl_cafile": self.cafile,
            "ssl_certfile": self.certfile,
            "ssl_keyfile": self.keyfile,
            "ssl_check_hostname": True,
        }


def _mounted_secret(path: str) -> bool:
    """Docker and Kubernetes mount secrets read-only under /run/secrets (mode set by the orchestrator)."""
    return path.startswith("/run/secrets/")


def repo_root() -> Path:
    """The checkout's root (the folder holding contracts/), or the current directory in an image."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "contracts" / "events").is_dir():
            return parent
    return Path.cwd()


class ServiceSettings(BaseSettings):
    # hide_input_in_errors: a refused value (e.g. a too short secret) is never echoed into logs.
    model_config = SettingsConfigDict(env_file=None, extra="ignore", hide_input_in_errors=True)

    service_name: str = "certifia"
    host: str = "127.0.0.1"
    port: int = 8000  # each service's settings give its own
    database_url: str = ""
    # connections each process holds to PostgreSQL (the API's threads, the relay, the consumer, workers):
    # instances x (pool + overflow) summed over the services sharing a server stays under its
    # max_connections (100 by default; see docs/sizing.md)
    database_pool_size: int = Field(default=5, ge=1, le=200)
    database_max_overflow: int = Field(default=5, ge=0, le=200)
    # uvicorn worker processes serving the API (each runs the outbox relay and joins the consumer group
    # too, as a scaled-out instance does): above 1 needs PostgreSQL, and instances x workers of a
    # consuming service stay at or under the topics' partitions (3); see docs/sizing.md
    web_workers: int = Field(default=1, ge=1, le=32)
    kafka_bootstrap_servers: str = "127.0.0.1:19092"
    # Mutual TLS to the broker (the service's own certificate: CN = service name = Kafka principal).
    kafka_security_protocol: Literal["SSL", "PLAINTEXT"] = "SSL"
    kafka_ssl_cafile: str = ""
    kafka_ssl_certfile: str = ""
    kafka_ssl_keyfile: str = ""
    # PLAINTEXT sends every event unauthenticated: only a development machine may say so, explicitly.
    kafka_insecure_development: bool = False
    # Access tokens come from one OpenID Connect provider (Keycloak locally); services verify them with its
    # published keys and hold no signing key. See README, "Authentication".
    oidc_issuer: str = ""  # the exact iss; serves /.well-known/openid-configuration
    oidc_audience: str = "certifia-api"
    oidc_jwks_url: str = ""  # only for a provider without discovery
    oidc_roles_claim: str = "roles"  # a dotted path is allowed, e.g. realm_access.roles
    oidc_candidate_claim: str = "candidate_id"
    oidc_tenant_claim: str = "client_id"  # which LMS client a token speaks for
    oidc_tenant_fallback_claim: str = "azp"
    oidc_leeway_seconds: float = Field(default=30.0, ge=0, le=MAX_LEEWAY_SECONDS)
    oidc_keys_ttl_seconds: float = 300.0
    oidc_allow_insecure_http: bool = False  # http to 127.0.0.1/localhost is always allowed
    public_base_url: str = ""
    otel_exporter_otlp_endpoint: str = ""
    otel_spans_file: str = Field(default="", validation_alias="CERTIFIA_SPANS_FILE")
    log_level: str = "INFO"
    relay_poll_seconds: float = 0.2
    # published outbox rows are deleted after this many hours (the broker holds them); 0 keeps them
    outbox_retention_hours: float = Field(default=168.0, ge=0.0)
    consumer_max_attempts: int = 3
    consumer_max_consecutive_failures: int = 50
    # a consumer that is not a settled member of its group for this long builds a new Kafka consumer
    consumer_rejoin_after_seconds: float = 15.0
    run_background_workers: bool = True

    @field_validator("oidc_issuer")
    @classmethod
    def _issuer_is_set(cls, value: str) -> str:
        if not value.strip():
            raise ValueError(
                "OIDC_ISSUER must name the identity provider whose access tokens this service trusts, e.g. "
                "http://127.0.0.1:18080/realms/certifia (scripts/keycloak.sh issuer)"
            )
        return value.strip().rstrip("/")

    @model_validator(mode="after")
    def _plaintext_only_when_told(self) -> ServiceSettings:
        if self.kafka_security_protocol == "PLAINTEXT" and not self.kafka_insecure_development:
            raise ValueError(
                "KAFKA_SECURITY_PROTOCOL=PLAINTEXT lets anyone who reaches the broker publish events: use SSL "
                "with KAFKA_SSL_CAFILE, KAFKA_SSL_CERTFILE and KAFKA_SSL_KEYFILE, or, on a development "
                "machine only, set KAFKA_INSECURE_DEVELOPMENT=true"
            )
        return self

    def oidc_verifier(self) -> Any:
        """The token verifier these settings describe (certifia_shared.oidc.OidcVerifier; no I/O yet)."""
        from certifia_shared.oidc import ClaimMapping, OidcVerifier

        mapping = ClaimMapping(
            roles=self.oidc_roles_claim,
            candidate_id=self.oidc_candidate_claim,
            client_id=self.oidc_tenant_claim,
            client_id_fallback=self.oidc_tenant_fallback_claim,
        )
        return OidcVerifier(
            self.oidc_issuer,
            self.oidc_audience,
            jwks_url=self.oidc_jwks_url,
            mapping=mapping,
            leeway_seconds=self.oidc_leeway_seconds,
            keys_ttl_seconds=self.oidc_keys_ttl_seconds,
            allow_insecure_http=self.oidc_allow_insecure_http,
        )

    def kafka_security(self) -> KafkaSecurity:
        return KafkaSecurity(
            protocol=self.kafka_security_protocol,
            cafile=self.kafka_ssl_cafile,
            certfile=self.kafka_ssl_certfile,
            keyfile=self.kafka_ssl_keyfile,
        )

    def base_url(self) -> str:
        """Where callers reach this service: PUBLIC_BASE_URL (behind a proxy), else the local port."""
        return (self.public_base_url.strip() or f"http://127.0.0.1:{self.port}").rstrip("/")

    def resolved_database_url(self, default_name: str) -> str:
        """DATABASE_URL if configured, else a SQLite file under var/ (the embedded default)."""
        if self.database_url:
            return self.database_url
        var = repo_root() / "var"
        var.mkdir(exist_ok=True)
        return f"sqlite:///{var / default_name}.db"
