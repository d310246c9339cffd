"""Read what the candidate's code wrote, without following links and without unpickling anything."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import stat
from typing import Any

import numpy as np
import pandas as pd

from certifia_grading.domain.model import SubmissionError


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


# Shapes no honest output comes near (the packs' tables have under 20 columns, their arrays under a
# million elements), refused from the header before any parsing: a 1-row csv of 300,000 columns parses in
# seconds and scores in a minute, a 1M-column one took 4 GB.
MAX_CSV_COLUMNS = 1_000
MAX_NPY_ELEMENTS = 20_000_000
MAX_NPY_DIMS = 8
_NPY_HEADER_READERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


def parse(
    name: str,
    data: bytes,
    fmt: str,
    *,
    max_columns: int = MAX_CSV_COLUMNS,
    max_elements: int = MAX_NPY_ELEMENTS,
) -> Any:
    """The output parsed, its shape checked against the caps first (from the csv header or the npy header):
    the grader's, or a pack's tighter ones (``FileSpec``)."""
    if fmt == "npy":
        _check_npy_header(name, data, max_elements)
    elif fmt == "csv":
        _check_csv_header(name, data, max_columns)
    try:
        if fmt == "npy":
            return np.load(io.BytesIO(data), allow_pickle=False)
        if fmt == "csv":
            return pd.read_csv(io.BytesIO(data))
        if fmt == "json":
            return json.loads(data.decode("utf-8"))
    except Exception:  # malformed candidate output of any kind; the parser's text stays out of the reason
        raise SubmissionError(f"output {name!r} is not valid {fmt}") from None
    raise ValueError(f"unknown format {fmt!r}")


def csv_header_columns(data: bytes) -> int:
    """How many columns the csv's header declares, read without parsing the table. An upper bound: the
    first non-blank record as the csv module reads it, or its first non-blank physical line, whichever
    has more fields (pandas skips blank lines before the header, like the csv module)."""
    text = data[: 1 << 24].decode("utf-8", errors="replace")
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    record: list[str] = []
    try:
        for record in csv.reader(io.StringIO(text)):
            if any(field.strip() for field in record) or len(record) > 1:
                break
    except csv.Error:  # a header field above the csv module's field limit: the commas still count
        record = []
    return max(len(record), first_line.count(",") + 1)


def _check_csv_header(name: str, data: bytes, max_columns: int) -> None:
    columns = csv_header_columns(data)
    if columns > max_columns:
        raise SubmissionError(
            f"output {name!r} has {columns} columns in its header, above the {max_columns} allowed: refused"
        )


def _check_npy_header(name: str, data: bytes, max_elements: int = MAX_NPY_ELEMENTS) -> None:
    """Refuse an array whose header declares an unusable or absurd shape, before numpy allocates it."""
    fh = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(fh)
        read_header = _NPY_HEADER_READERS[version]  # what np.load reads first, no more
        shape, _fortran, dtype = read_header(fh)
    except Exception:
        raise SubmissionError(f"output {name!r} is not valid npy") from None
    if any(d < 0 for d in shape):
        raise SubmissionError(f"output {name!r} is not valid npy")
    if dtype.hasobject or dtype.fields is not None or dtype.subdtype is not None or dtype.itemsize == 0:
        raise SubmissionError(
            f"output {name!r} is not valid npy here: plain numbers, booleans or strings only"
        )
    if len(shape) > MAX_NPY_DIMS:
        raise SubmissionError(
            f"output {name!r} has {len(shape)} dimensions, above the {MAX_NPY_DIMS} allowed"
        )
    elements = math.prod(shape)
    if elements > max_elements:
        raise SubmissionError(
            f"output {name!r} declares {elements} elements, above the {max_elements} allowed: refused"
        )
    if elements * dtype.itemsize > len(data) - fh.tell():
        raise SubmissionError(f"output {name!r} is shorter than its header declares")
