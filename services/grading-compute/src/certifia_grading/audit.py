"""Reproduce a verdict as an auditor: the same pack version, archive and grading secret give the same verdict.

A verdict (``grading.completed``, the grading status) names the pack, its version, the archive's SHA-256
and ``dataset_commitment``, the commitment to the seed its hidden data derived from (domain.hidden).
Holding the deployment's grading secret, an auditor re-grades the stored archive and checks that the
recomputed commitment is the published one: then the hidden data, hence the verdict, are the ones the
candidate was graded on::

    GRADING_SECRET=... python -m certifia_grading.audit b2_supervised_onnx submission.zip --commitment <hex>
    python -m certifia_grading.audit b2_supervised_onnx submission.zip --secret-file /run/secrets/grading

It prints JSON (the commitment, whether it matches, the verdict's reproducible part) and exits 0 when the
commitment matches (or none was given), 1 when it does not, 2 when no secret was given. The secret is
read from a file or the environment, never from the command line (other users see a process's arguments).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from certifia_grading.adapters.sandbox import make_sandbox
from certifia_grading.domain import Grader, GradingOutcome, hidden


@dataclass(frozen=True)
class AuditReport:
    outcome: GradingOutcome
    expected_commitment: str | None = None

    @property
    def commitment_matches(self) -> bool | None:
        """None when no commitment was given to check."""
        if self.expected_commitment is None:
            return None
        return self.outcome.dataset_commitment == self.expected_commitment.strip().lower()

    def to_dict(self) -> dict[str, object]:
        return {
            "pack_id": self.outcome.pack_id,
            "pack_version": self.outcome.pack_version,
            "public_seed": self.outcome.dataset_seed,
            "submission_digest": self.outcome.submission_digest,
            "dataset_commitment": self.outcome.dataset_commitment,
            "expected_commitment": self.expected_commitment,
            "commitment_matches": self.commitment_matches,
            "verdict": self.outcome.reproducible_view(),
        }


def reproduce(
    pack_id: str,
    archive: bytes,
    secret: bytes,
    *,
    commitment: str | None = None,
    packs_dir: Path | None = None,
    sandbox: bool = True,
) -> AuditReport:
    """Grade ``archive`` again with the hidden data ``secret`` derives; ``commitment``: the published one."""
    grader = Grader(packs_dir, sandbox=make_sandbox(sandbox), secret=secret)
    return AuditReport(grader.grade(pack_id, archive), commitment)


def _secret(path: str | None) -> bytes | None:
    if path:
        value = Path(path).read_text(encoding="utf-8").strip()
    else:
        value = os.environ.get(hidden.ENVIRONMENT_VARIABLE, "").strip()
    return value.encode("utf-8") if value else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m certifia_grading.audit", description="Reproduce a verdict with the grading secret."
    )
    parser.add_argument("pack_id")
    parser.add_argument("archive", type=Path, help="the stored submission archive")
    parser.add_argument("--commitment", help="the dataset_commitment the verdict published")
    parser.add_argument("--secret-file", help="a file holding the grading secret (default: $GRADING_SECRET)")
    parser.add_argument("--packs-dir", type=Path, help="the packs folder (default: the packs shipped)")
    args = parser.parse_args(argv)
    secret = _secret(args.secret_file)
    if secret is None:
        print("no grading secret: set GRADING_SECRET or pass --secret-file", file=sys.stderr)
        return 2
    report = reproduce(
        args.pack_id, args.archive.read_bytes(), secret, commitment=args.commitment, packs_dir=args.packs_dir
    )
    print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2, default=str))
    return 1 if report.commitment_matches is False else 0


if __name__ == "__main__":
    sys.exit(main())
