"""Serving a stored file safely: the server decides its media type, the browser only ever downloads it.

The type a client claimed at upload is never used: :func:`media_type_of` reads the file's magic bytes and its
extension, and anything outside the allow-list (an HTML page, an SVG, a script) is served as
``application/octet-stream``. :func:`file_response` adds ``Content-Disposition: attachment`` with a safe
file name, ``X-Content-Type-Options: nosniff``, a sandboxing ``Content-Security-Policy`` and
``Cache-Control: private, no-store``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection, Mapping
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from fastapi import Response
from fastapi.responses import FileResponse

OCTET_STREAM = "application/octet-stream"
DEFAULT_ALLOWED = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/json",
        "application/onnx",
        "text/csv",
        "text/plain",
        OCTET_STREAM,
    }
)
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}
_EXTENSIONS = {
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/json": ".json",
    "application/onnx": ".onnx",
    "text/csv": ".csv",
    "text/plain": ".txt",
}
# what a desktop opens in a browser or runs when the jury double-clicks the download
_RISKY_EXTENSIONS = frozenset(
    [
        ".html",
        ".htm",
        ".xhtml",
        ".shtml",
        ".mht",
        ".mhtml",
        ".svg",
        ".svgz",
        ".xml",
        ".xsl",
        ".js",
        ".mjs",
        ".hta",
        ".swf",
        ".exe",
        ".com",
        ".bat",
        ".cmd",
        ".ps1",
        ".vbs",
        ".vbe",
        ".wsf",
        ".scr",
        ".msi",
        ".jar",
        ".lnk",
        ".pif",
        ".sh",
        ".desktop",
        ".url",
        ".webloc",
    ]
)
SNIFF_BYTES = 8192


def _text(head: bytes) -> str | None:
    """The head of the file as UTF-8 text without NUL, or None (a cut multi-byte character is allowed)."""
    if b"\x00" in head:
        return None
    try:
        return head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return head[: exc.start].decode("utf-8") if exc.start >= len(head) - 3 else None


def _looks_like_markup(text: str) -> bool:
    return text.lstrip("\ufeff \t\r\n")[:1] == "<"


def media_type_of(head: bytes, filename: str | None, *, whole: bool = True) -> str:
    """The media type read from the content (``head``: the file, or its first bytes with ``whole=False``)
    and the extension; never from what a client said. Unknown or unsafe: ``application/octet-stream``."""
    suffix = PurePosixPath((filename or "").lower()).suffix
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head[:4] in {b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08"}:
        return "application/zip"
    if suffix == ".onnx" and head[:1] == b"\x08":  # protobuf ModelProto: field 1 (ir_version), a varint
        return "application/onnx"
    text = _text(head)
    if text is None or _looks_like_markup(text):
        return OCTET_STREAM
    if suffix == ".json":
        if not whole:
            return "application/json"
        try:
            json.loads(text)
        except ValueError:
            return "text/plain"
        return "application/json"
    if suffix == ".csv":
        return "text/csv"
    if suffix in {".txt", ".log", ".md"}:
        return "text/plain"
    return OCTET_STREAM


def _clean_name(filename: str) -> str:
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] not in {"C", "Z"} or ch == " ")
    name = name.strip(" .") or "download"
    stem, dot, ext = name.rpartition(".")
    if len(name) > 150:
        name = stem[: 150 - len(ext) - 1] + "." + ext if dot and len(ext) <= 10 else name[:150]
    return name


def download_name(filename: str | None, media_type: str) -> str:
    """A file name without path, controls or invisible characters, whose extension matches what is served
    (``report.html`` served as octet-stream downloads as ``report.html.bin``)."""
    name = _clean_name(filename or "download")
    suffix = PurePosixPath(name.lower()).suffix
    expected = _EXTENSIONS.get(media_type)
    if expected and suffix != expected:
        name += expected
    elif media_type == OCTET_STREAM and (suffix in _RISKY_EXTENSIONS or suffix in _EXTENSIONS.values()):
        name += ".bin"  # a type the content did not prove: the name must not promise it
    return name


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII fallback name and the UTF-8 one (RFC 6266, RFC 8187)."""
    ascii_name = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    ascii_name = (
        "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in ascii_name).strip() or "download"
    )
    encoded = quote(filename, safe="!#$&+^`|~-._")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{encoded}"


def download_responses(
    allowed: Collection[str] = DEFAULT_ALLOWED, description: str = "The file, as a download"
) -> dict[int | str, dict[str, Any]]:
    """``responses=`` of a route that answers with :func:`file_response` (and ``response_class=Response``):
    its 200 documents every media type it may serve, ``allowed`` and octet-stream for anything else (bytes;
    a JSON file is whatever JSON was stored)."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    stored_json = {"schema": {"description": "the stored JSON file as it is: any JSON value"}}
    types = sorted({*allowed, OCTET_STREAM})
    content = {t: stored_json if t == "application/json" else binary for t in types}
    return {200: {"description": description, "content": content}}


def file_response(
    content: bytes | Path,
    *,
    filename: str | None,
    allowed: Collection[str] = DEFAULT_ALLOWED,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A download of ``content`` (bytes, or a file streamed from disk): media type from
    :func:`media_type_of` (served as octet-stream when not in ``allowed``), always an attachment, never
    sniffed, sandboxed, not cached. ``headers`` adds others (``ETag``, a digest); the security ones cannot
    be replaced."""
    if isinstance(content, Path):
        with content.open("rb") as fh:
            head = fh.read(SNIFF_BYTES + 1)
        whole = len(head) <= SNIFF_BYTES
        head = head[:SNIFF_BYTES]
    else:
        head, whole = content, True
    media_type = media_type_of(head, filename, whole=whole)
    if media_type not in allowed:
        media_type = OCTET_STREAM
    clash = {name.lower() for name in headers or {}} & {
        n.lower() for n in (*SECURITY_HEADERS, "Content-Type", "Content-Disposition")
    }
    if clash:
        raise ValueError(f"file_response sets {', '.join(sorted(clash))} itself")
    all_headers = {
        **(headers or {}),
        **SECURITY_HEADERS,
        "Content-Disposition": content_disposition(download_name(filename, media_type)),
    }
    if isinstance(content, Path):
        return FileResponse(content, media_type=media_type, headers=all_headers)
    return Response(content, media_type=media_type, headers=all_headers)
