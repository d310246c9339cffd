"""Read what the candidate's code wrote, without following links and without unpickling anything."""

from __future__ import annotations

import io
import json
import os
import stat
from typing import Any

import numpy as np
import pandas as pd

from certifia_grading.engine.model import SubmissionError


def open_dir(path: str) -> int:
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        raise SubmissionError(f"output folder unusable: {exc.strerror}") from None


def read_bytes(dir_fd: int, name: str, max_bytes: int) -> bytes:
    """Read the regular file ``name`` (no path separators) relative to ``dir_fd``; refuse links."""
    if "/" in name or name in ("", ".", ".."):
        raise ValueError(f"bad output name {name!r}")
    try:
        st = os.lstat(name, dir_fd=dir_fd)
    except FileNotFoundError:
        raise SubmissionError(f"expected output {name!r} was not written") from None
    if stat.S_ISLNK(st.st_mode):
        raise SubmissionError(f"output {name!r} is a symbolic link: refused (links are never followed)")
    if not stat.S_ISREG(st.st_mode):
        raise SubmissionError(f"output {name!r} is not a regular file")
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=dir_fd)
    except OSError as exc:
        raise SubmissionError(f"output {name!r} cannot be opened: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        fst = os.fstat(fh.fileno())
        if not stat.S_ISREG(fst.st_mode) or fst.st_nlink > 1:
            raise SubmissionError(f"output {name!r} is not a plain file (hard link or special file)")
        if fst.st_size > max_bytes:
            raise SubmissionError(f"output {name!r} is {fst.st_size} bytes, above the {max_bytes} allowed")
        data = fh.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise SubmissionError(f"output {name!r} is larger than the {max_bytes} bytes allowed")
    return data


def folder_size(dir_fd: int) -> int:
    """Total size of the regular files directly in the folder (links not followed)."""
    total = 0
    for name in os.listdir(dir_fd):
        st = os.lstat(name, dir_fd=dir_fd)
        if stat.S_ISREG(st.st_mode):
            total += st.st_size
    return total


def parse(name: str, data: bytes, fmt: str) -> Any:
    try:
        if fmt == "npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
        if fmt == "csv":
            return pd.read_csv(io.BytesIO(data))
        if fmt == "json":
            return json.loads(data.decode("utf-8"))
    except Exception as exc:  # malformed candidate output of any kind
        raise SubmissionError(
            f"output {name!r} is not valid {fmt}: {type(exc).__name__}: {exc}"[:500]
        ) from None
    raise ValueError(f"unknown format {fmt!r}")
