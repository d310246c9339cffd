"""The content-addressed artifact store: named by SHA-256, written atomically, stored once."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from certifia_shared.artifacts import ArtifactStore


def test_put_names_the_file_by_its_sha256_and_get_reads_it_back(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path / "files")
    digest = store.put(b"%PDF-1.4 hello")
    assert digest == hashlib.sha256(b"%PDF-1.4 hello").hexdigest()
    assert store.get(digest) == b"%PDF-1.4 hello"
    assert store.path(digest) == tmp_path / "files" / digest[:2] / digest


def test_the_same_content_twice_is_one_file_and_no_temporary_file_is_left(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path)
    assert store.put(b"same") == store.put(b"same")
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(files) == 1 and not files[0].name.startswith(".incoming-")


@pytest.mark.parametrize("digest", ["", "../../etc/passwd", "AB" * 32, "ab" * 31])
def test_only_sha256_hex_digests_name_a_file(tmp_path: Path, digest: str) -> None:
    with pytest.raises(ValueError, match="not a sha256 digest"):
        ArtifactStore(tmp_path).path(digest)
