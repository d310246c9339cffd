"""Unpack a candidate's zip archive without trusting it: no absolute paths, no ``..``, no links, caps."""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

from certifia_grading.engine.model import SubmissionError

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 256
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
MAX_RATIO = 200  # zip bombs: uncompressed / compressed per member


def _safe_name(name: str) -> PurePosixPath:
    if "\\" in name or "\x00" in name:
        raise SubmissionError(f"archive member {name!r}: backslash or NUL in the name")
    path = PurePosixPath(name)
    if path.is_absolute() or name.startswith("/"):
        raise SubmissionError(f"archive member {name!r}: absolute path refused")
    if any(part in ("..", "") for part in path.parts) or not path.parts:
        raise SubmissionError(f"archive member {name!r}: '..' or empty path component refused")
    if ":" in path.parts[0]:
        raise SubmissionError(f"archive member {name!r}: drive-like path refused")
    return path


def _is_link(info: zipfile.ZipInfo) -> bool:
    kind = stat.S_IFMT(info.external_attr >> 16)
    return info.create_system == 3 and kind not in (0, stat.S_IFREG, stat.S_IFDIR)


def read_members(archive: bytes) -> dict[str, bytes]:
    """Validate the archive and return {relative path: content} for its regular files."""
    if len(archive) > MAX_ARCHIVE_BYTES:
        raise SubmissionError(f"archive is {len(archive)} bytes, more than the {MAX_ARCHIVE_BYTES} allowed")
    try:
        zf = zipfile.ZipFile(io.BytesIO(archive))
    except (zipfile.BadZipFile, ValueError) as exc:
        raise SubmissionError(f"not a zip archive: {exc}") from None
    infos = zf.infolist()
    if len(infos) > MAX_MEMBERS:
        raise SubmissionError(f"archive has {len(infos)} members, more than the {MAX_MEMBERS} allowed")
    total = 0
    files: dict[str, bytes] = {}
    for info in infos:
        path = _safe_name(info.filename)
        if _is_link(info):
            raise SubmissionError(
                f"archive member {info.filename!r} is a symbolic link or special file: refused"
            )
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            raise SubmissionError(f"archive member {info.filename!r} is encrypted")
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise SubmissionError(f"archive unpacks to more than {MAX_UNPACKED_BYTES} bytes")
        if (
            info.compress_size
            and info.file_size / info.compress_size > MAX_RATIO
            and info.file_size > 1 << 20
        ):
            raise SubmissionError(f"archive member {info.filename!r} looks like a zip bomb")
        try:
            with zf.open(info) as fh:
                data = fh.read(info.file_size + 1)
        except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as exc:
            raise SubmissionError(f"archive member {info.filename!r} cannot be read: {exc}") from None
        if len(data) != info.file_size:
            raise SubmissionError(f"archive member {info.filename!r}: size differs from its header")
        key = str(path)
        if key in files:
            raise SubmissionError(f"archive member {key!r} appears twice")
        files[key] = data
    return _strip_common_folder(files)


def _strip_common_folder(files: dict[str, bytes]) -> dict[str, bytes]:
    """Archives made by zipping a folder put everything under one top folder: drop it."""
    tops = {PurePosixPath(k).parts[0] for k in files}
    if len(tops) == 1 and all(len(PurePosixPath(k).parts) > 1 for k in files):
        return {str(PurePosixPath(*PurePosixPath(k).parts[1:])): v for k, v in files.items()}
    return files


def extract(archive: bytes, dest: Path) -> list[str]:
    """Write the archive's regular files under ``dest`` (a fresh, empty folder we created)."""
    files = read_members(archive)
    for name, data in files.items():
        target = dest.joinpath(*PurePosixPath(name).parts)
        target.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    return sorted(files)
