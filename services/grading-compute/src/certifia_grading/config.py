from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, model_validator

from certifia_grading.domain import hidden
from certifia_shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "grading-compute"
    port: int = 8003
    packs_dir: str = ""  # empty: the packs shipped inside the package
    sandbox: bool = True  # False only for the benchmark's unsandboxed comparison
    grading_workers: int = 1  # jobs graded at once by this process (Ray spreads them further)
    # one API process: its grader (Ray, the sandboxes, Triton) is per process; scale grading with
    # GRADING_WORKERS and Ray, not with WEB_WORKERS
    web_workers: int = Field(default=1, ge=1, le=1)
    use_ray: bool = False
    ray_address: str = ""  # empty: a local Ray started by the service
    use_triton: bool = False
    # Triton, with use_triton: empty triton_url runs PyTriton's embedded tritonserver on 127.0.0.1;
    # set, an external tritonserver in explicit model-control mode reading triton_model_repository,
    # a folder this service writes the models into (the same volume on both sides in compose)
    triton_url: str = ""
    triton_model_repository: str = ""
    triton_backend: Literal["onnxruntime", "python"] = "onnxruntime"
    artifact_hosts: str = "127.0.0.1,localhost,assessment"  # where artifacts may be fetched from
    # grading-compute's own client at the identity provider (client-credentials grant, role service): a
    # credential to ask for tokens, not a key to mint them
    service_client_id: str = "grading-compute"
    service_client_secret: SecretStr = SecretStr("")
    service_token_url: str = ""  # "": the token endpoint the issuer's discovery document names
    artifact_max_bytes: int = 50 * 1024 * 1024
    job_max_attempts: int = 3  # fetch failures are retried; a candidate's failure is a verdict, not retried
    # the deployment's grading secret: hidden splits, perturbations and synthetic data derive from it
    # (domain.hidden); never published or logged. A development machine may go without, saying so: its
    # hidden data then derives from a published development secret.
    grading_secret: SecretStr = SecretStr("")
    grading_secret_insecure_development: bool = False
    # the fair queue: a candidate's jobs graded at once, at most (the others go round-robin meanwhile)
    grading_max_in_flight_per_candidate: int = Field(default=1, ge=1)
    # submissions one candidate may have graded per evaluation (assessment refuses the next one; shown
    # in the grading status): 5 attempts, a bound on what a candidate can learn of the hidden data
    grading_max_attempts_per_evaluation: int = Field(default=5, ge=1)

    @model_validator(mode="after")
    def _grading_secret_is_set(self) -> Settings:
        secret = self.grading_secret.get_secret_value().strip()
        if not secret and not self.grading_secret_insecure_development:
            raise ValueError(
                "GRADING_SECRET is not set: hidden test data derives from it, and without it anyone holding "
                "the pack sources rebuilds the hidden sets. Generate one per deployment (python3 -c 'import "
                "secrets; print(secrets.token_urlsafe(32))'), keep it out of the repository, give the same "
                "to the Ray workers; or, on a development machine only, GRADING_SECRET_INSECURE_DEVELOPMENT=true"
            )
        if secret and len(secret) < hidden.MIN_SECRET_CHARS:
            raise ValueError(f"GRADING_SECRET must have at least {hidden.MIN_SECRET_CHARS} characters")
        return self

    def grading_secret_bytes(self) -> bytes:
        secret = self.grading_secret.get_secret_value().strip()
        return secret.encode("utf-8") if secret else hidden.DEVELOPMENT_SECRET

    @model_validator(mode="after")
    def _external_triton_has_a_repository(self) -> Settings:
        if self.triton_url and not self.triton_model_repository:
            raise ValueError(
                "TRITON_URL is set but TRITON_MODEL_REPOSITORY is not: an external tritonserver loads the "
                "models grading-compute writes into the model repository they share"
            )
        return self
