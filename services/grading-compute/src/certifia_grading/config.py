from __future__ import annotations

from certifia_shared.config import ServiceSettings


class Settings(ServiceSettings):
    service_name: str = "grading-compute"
    port: int = 8003
    packs_dir: str = ""  # empty: the packs shipped inside the package
    sandbox: bool = True  # False only for the benchmark's unsandboxed comparison
    grading_workers: int = 1  # jobs graded at once by this process (Ray spreads them further)
    use_ray: bool = False
    ray_address: str = ""  # empty: a local Ray started by the service
    use_triton: bool = False
    artifact_hosts: str = "127.0.0.1,localhost,assessment"  # where artifacts may be fetched from
    artifact_max_bytes: int = 50 * 1024 * 1024
    job_max_attempts: int = 3  # fetch failures are retried; a candidate's failure is a verdict, not retried
