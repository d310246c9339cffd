"""A verdict names its pack and version: that pair must identify the data and the scoring that produced it,
so that an auditor (python -m certifia_grading.audit) reproduces it. A pack whose files change, or whose
hidden data's derivation (domain/hidden.py) changes, without a new version would make two different
gradings carry one name. packs/released.json records the fingerprint of every released version."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import certifia_grading.domain.hidden as hidden
from certifia_grading.domain.spec import parse_spec

PACKS = Path(__file__).resolve().parents[2] / "src" / "certifia_grading" / "packs"
RELEASED = PACKS / "released.json"


def fingerprint(folder: Path) -> str:
    """SHA-256 over the pack's files (pack.yaml, pack.py, its modules, reference and weak solutions) and
    the hidden-data derivation every pack shares."""
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(Path(hidden.__file__).read_bytes())
    return digest.hexdigest()


def pack_folders() -> list[Path]:
    return sorted(p for p in PACKS.iterdir() if (p / "pack.yaml").is_file())


@pytest.mark.parametrize("folder", pack_folders(), ids=lambda p: p.name)
def test_a_changed_pack_has_a_new_version(folder: Path) -> None:
    spec = parse_spec(folder)
    released = json.loads(RELEASED.read_text(encoding="utf-8"))
    versions = released.get(spec.id, {})
    assert spec.version in versions, (
        f"{spec.id} {spec.version} is not recorded in packs/released.json: release it by adding "
        f'"{spec.version}": "{fingerprint(folder)}"'
    )
    assert versions[spec.version] == fingerprint(folder), (
        f"{spec.id} {spec.version} changed after its release (its files or domain/hidden.py): give it a new "
        f"version in pack.yaml and record it in packs/released.json with {fingerprint(folder)}"
    )


def test_the_hidden_data_change_bumped_every_pack() -> None:
    """The secret-derived hidden data (issue 12 item 3) changed what every pack grades on: no pack may still
    call itself 1.0.0, whose verdicts were graded on the public seed."""
    assert all(parse_spec(f).version != "1.0.0" for f in pack_folders())


if __name__ == "__main__":  # print the entries to record after a release
    print(json.dumps({f.name: {parse_spec(f).version: fingerprint(f)} for f in pack_folders()}, indent=2))
