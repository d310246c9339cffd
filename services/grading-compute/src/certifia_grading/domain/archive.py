"""Unpack a candidate's zip archive without trusting it: no absolute paths, no ``..``, no links, caps.

The archive is what the jury and an appeal read (assessment stores it byte for byte, and its SHA-256 is
the verdict's ``submission_digest``), so only code shown in it as source may run:

- always refused (:func:`read_members`): Python bytecode (``.pyc``, ``.pyo``, ``__pycache__/``),
  compiled extensions (``.so``, ``.pyd``...), interpreter start-up hooks (``sitecustomize.py``,
  ``usercustomize.py``, ``.pth``), a ``.py`` file in an encoding other than UTF-8 (``# coding: utf-7``
  hides code from a reader) or holding bidirectional control characters ("Trojan Source");
- refused for a pack (:func:`check_layout`): a folder named like the entry module (``solution/``,
  imported before ``solution.py``), a top-level module or package named like a standard-library module
  or a package the harness and the packs rely on (``json.py``, ``numpy/__init__.py``: the candidate's
  ``import numpy`` would run it while the jury reads "numpy"), and any file outside the pack's
  allow-list (``submission.allow`` in pack.yaml, default :data:`spec.DEFAULT_SUBMISSION_ALLOW`).

The sandbox starts Python with ``-I -B`` (no environment variables, no user site, no script folder on
``sys.path``, no bytecode written): the harness adds the submission folder to ``sys.path`` only after
importing numpy and pandas, then imports the entry module.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import stat
import sys
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath

from certifia_grading.domain.model import SubmissionError

MAX_ARCHIVE_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 256
MAX_UNPACKED_BYTES = 128 * 1024 * 1024
MAX_RATIO = 200  # zip bombs: uncompressed / compressed per member
BYTECODE_SUFFIXES = (".pyc", ".pyo")
EXTENSION_SUFFIXES = (".so", ".pyd", ".dll", ".dylib")
STARTUP_HOOKS = ("sitecustomize.py", "usercustomize.py")
# what the harness, the packs and the candidate's own "import numpy" must find installed, never in the
# archive (with their dependencies a submission might import through them)
RELIED_ON_PACKAGES = frozenset(
    {
        "numpy", "pandas", "scipy", "sklearn", "joblib", "threadpoolctl", "onnx", "onnxruntime",
        "skl2onnx", "onnxconverter_common", "google", "dateutil", "pytz", "tzdata", "six", "packaging",
        "typing_extensions", "ml_dtypes", "flatbuffers", "sympy", "mpmath", "coloredlogs",
        "humanfriendly", "certifia_grading", "certifia_shared",
    }
)  # fmt: skip
PROTECTED_MODULES = frozenset(sys.stdlib_module_names) | RELIED_ON_PACKAGES
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")  # embeddings, overrides, isolates
_VERSIONED_LIBRARY = re.compile(r"\.so(\.\d+)+$")


def _shown(name: str) -> str:
    """A member name as quoted to the candidate: repr, shortened."""
    text = repr(name)
    return text if len(text) <= 120 else text[:100] + "..." + text[-16:]


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
    files = _strip_common_folder(files)
    _refuse_collisions(files)
    for name, data in files.items():
        _refuse_hidden_code(name, data)
    return files


def _refuse_collisions(files: dict[str, bytes]) -> None:
    folders = {str(parent) for name in files for parent in PurePosixPath(name).parents if str(parent) != "."}
    clash = sorted(folders & set(files))
    if clash:
        raise SubmissionError(
            "the archive could not be unpacked: two of its entries collide "
            f"(a file and a folder of one name: {_shown(clash[0])})"
        )


def _refuse_hidden_code(name: str, data: bytes) -> None:
    """Code that would run without being shown as source: refused in every pack."""
    path = PurePosixPath(name)
    suffix, lower = path.suffix.lower(), path.name.lower()
    if "__pycache__" in path.parts or suffix in BYTECODE_SUFFIXES:
        raise SubmissionError(
            f"archive member {_shown(name)}: Python bytecode is refused (only source code may run, "
            "the code the jury reads)"
        )
    if suffix in EXTENSION_SUFFIXES or _VERSIONED_LIBRARY.search(lower):
        raise SubmissionError(f"archive member {_shown(name)}: compiled extension modules are refused")
    if lower in STARTUP_HOOKS or suffix == ".pth":
        raise SubmissionError(
            f"archive member {_shown(name)}: interpreter start-up hooks (sitecustomize.py, "
            "usercustomize.py, .pth files) are refused"
        )
    if suffix == ".py":
        _refuse_unreadable_source(name, data)


def _refuse_unreadable_source(name: str, data: bytes) -> None:
    for line in data.splitlines()[:2]:  # PEP 263: the encoding is declared on line 1 or 2
        match = _CODING.match(line)
        if match:
            try:
                codec = codecs.lookup(match.group(1).decode("ascii")).name
            except LookupError:
                codec = ""
            if codec not in ("utf-8", "ascii"):
                raise SubmissionError(
                    f"archive member {_shown(name)}: Python source must be UTF-8 (it declares "
                    f"{_shown(match.group(1).decode('ascii', 'replace'))})"
                )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SubmissionError(f"archive member {_shown(name)}: Python source must be UTF-8") from None
    if _BIDI_CONTROLS.search(text):
        raise SubmissionError(
            f"archive member {_shown(name)}: bidirectional control characters in Python source are "
            "refused (the code shown would not be the code run)"
        )


def check_layout(files: Iterable[str], *, module: str | None, allow: Sequence[str]) -> None:
    """Only the entry point and what it imports from the archive run: refuse what would shadow the
    entry module or a module it relies on, and any file outside the pack's allow-list (``allow``:
    PurePosixPath.match patterns, ``*.py`` matching at any depth)."""
    for name in sorted(files):
        path = PurePosixPath(name)
        top = path.parts[0]
        if module and len(path.parts) > 1 and top == module:
            raise SubmissionError(
                f"archive member {_shown(name)}: a folder named like the entry module {module!r} would "
                f"be imported instead of {module}.py: refused"
            )
        shadowed = path.stem if len(path.parts) == 1 and path.suffix == ".py" else None
        if len(path.parts) == 2 and path.name == "__init__.py":
            shadowed = top
        if shadowed in PROTECTED_MODULES:
            raise SubmissionError(
                f"archive member {_shown(name)}: it would shadow the installed module {shadowed!r} "
                "(standard library, or a package grading relies on): rename it"
            )
        if not any(path.match(pattern) for pattern in allow):
            raise SubmissionError(
                f"archive member {_shown(name)}: not a file this pack accepts (allowed: {', '.join(allow)})"
            )


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
