"""Content-addressed file store for what users hand in (submissions, thesis deposits).

Files are named by their SHA-256 under ``root/<first two hex digits>/<digest>``, written to a temporary
name, fsynced, then renamed: a reader never sees a partial file, and the same content stored twice is
kept once. Store the file before the unit of work that records its digest: a failed transaction leaves
at most an orphan file, never a record pointing at nothing.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

DIGEST = re.compile(r"^[0-9a-f]{64}$")


class ArtifactStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def put(self, content: bytes) -> str:
        """Store ``content`` (once) and return its SHA-256 hex digest."""
        digest = hashlib.sha256(content).hexdigest()
        path = self.path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(content)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return digest

    def get(self, digest: str) -> bytes:
        return self.path(digest).read_bytes()

    def path(self, digest: str) -> Path:
        """Where the file of ``digest`` lives (ValueError for anything but a SHA-256 hex digest)."""
        if not DIGEST.match(digest):
            raise ValueError(f"not a sha256 digest: {digest!r}")
        return self.root / digest[:2] / digest
