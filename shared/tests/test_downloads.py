"""Stored files are served as downloads whose type the server chose, never rendered by the browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from fastapi import FastAPI, Response
from fastapi.testclient import TestClient

from certifia_shared.downloads import (
    DEFAULT_ALLOWED,
    OCTET_STREAM,
    content_disposition,
    download_name,
    download_responses,
    file_response,
    media_type_of,
)

HTML = b"<!doctype html><html><body><script>fetch('/candidates').then(r => r.text())</script></body></html>"
PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
ZIP = b"PK\x03\x04" + b"\x00" * 40
ONNX = b"\x08\x07\x12\x07pytorch" + b"\x00" * 16


def _served(content: bytes | Path, filename: str | None, **kwargs: Any) -> httpx.Response:
    app = FastAPI()

    @app.get("/file")
    def get_file() -> Response:
        return file_response(content, filename=filename, **kwargs)

    return TestClient(app).get("/file")


def _security_headers_of(response: httpx.Response) -> None:
    headers = response.headers
    assert headers["content-disposition"].startswith("attachment;")
    assert headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in headers["content-security-policy"]
    assert headers["cache-control"] == "private, no-store"


def test_an_html_file_claimed_as_html_comes_back_as_an_octet_stream_attachment() -> None:
    response = _served(HTML, "report.html")
    assert response.status_code == 200
    assert response.headers["content-type"] == OCTET_STREAM
    _security_headers_of(response)
    assert 'filename="report.html.bin"' in response.headers["content-disposition"]
    assert response.content == HTML


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (PDF, "thesis.pdf", "application/pdf"),
        (PDF, "thesis.html", "application/pdf"),  # the bytes decide, not the name
        (ZIP, "code.zip", "application/zip"),
        (ZIP, None, "application/zip"),
        (ONNX, "model.onnx", "application/onnx"),
        (b"name,grade\nAda,18\n", "grades.csv", "text/csv"),
        (b'{"a": 1}', "report.json", "application/json"),
        (b'{"a": ', "report.json", "text/plain"),
        (b"just text", "notes.txt", "text/plain"),
        (HTML, "grades.csv", OCTET_STREAM),  # markup is never text/csv or text/plain
        (b"<svg onload=alert(1)>", "logo.svg", OCTET_STREAM),
        (b"\xef\xbb\xbf  <html>", "notes.txt", OCTET_STREAM),
        (b"not a pdf", "thesis.pdf", OCTET_STREAM),
        (b"\x00\x01binary", "data.csv", OCTET_STREAM),
        (b"MZ\x90\x00", "setup.exe", OCTET_STREAM),
    ],
)
def test_the_media_type_comes_from_the_content(content: bytes, filename: str | None, expected: str) -> None:
    assert media_type_of(content, filename) == expected


def test_a_type_outside_the_route_allow_list_is_served_as_an_octet_stream() -> None:
    response = _served(ZIP, "thesis.zip", allowed={"application/pdf"})
    assert response.headers["content-type"] == OCTET_STREAM
    assert _served(PDF, "t.pdf", allowed={"application/pdf"}).headers["content-type"] == "application/pdf"


def test_text_is_served_as_utf8_with_the_security_headers() -> None:
    response = _served(b"name,grade\n", "grades.csv")
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    _security_headers_of(response)


def test_the_file_name_is_safe_and_says_what_is_served() -> None:
    assert download_name("../../etc/passwd", OCTET_STREAM) == "passwd"
    assert download_name("C:\\Users\\x\\thesis.pdf", "application/pdf") == "thesis.pdf"
    assert download_name("thesis", "application/pdf") == "thesis.pdf"
    assert download_name("gnp\u202eexe.pdf", "application/pdf") == "gnpexe.pdf"
    assert download_name("a\r\nSet-Cookie: x.pdf", "application/pdf") == "aSet-Cookie: x.pdf"
    assert download_name(None, "application/zip") == "download.zip"
    assert download_name("...", OCTET_STREAM) == "download"
    assert download_name("fake.pdf", OCTET_STREAM) == "fake.pdf.bin"
    assert download_name("data.bin", OCTET_STREAM) == "data.bin"
    long = download_name("x" * 300 + ".pdf", "application/pdf")
    assert len(long) == 150 and long.endswith(".pdf")


def test_content_disposition_has_an_ascii_fallback_and_the_utf8_name() -> None:
    header = content_disposition('Mémoire "final"; v2.pdf')
    assert header.startswith("attachment; filename=\"Memoire _final__ v2.pdf\"; filename*=UTF-8''")
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert unquote(encoded) == 'Mémoire "final"; v2.pdf'
    assert all(c not in encoded for c in ' ";\r\n')


def test_header_injection_through_the_name_is_impossible() -> None:
    response = _served(PDF, 'x.pdf"\r\nX-Evil: 1')
    assert "x-evil" not in response.headers
    assert response.headers["content-type"] == "application/pdf"


def test_a_file_on_disk_is_streamed_with_the_same_headers(tmp_path: Path) -> None:
    stored = tmp_path / "abc123"
    stored.write_bytes(PDF + b"x" * 20_000)
    response = _served(stored, "thesis-v2.pdf", headers={"ETag": '"abc123"'})
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["etag"] == '"abc123"'
    _security_headers_of(response)
    assert response.content == stored.read_bytes()
    html = tmp_path / "page"
    html.write_bytes(HTML)
    assert _served(html, "page.html").headers["content-type"] == OCTET_STREAM


def test_the_security_headers_cannot_be_replaced() -> None:
    for name in ("Content-Type", "cache-control", "X-Content-Type-Options", "Content-Disposition"):
        with pytest.raises(ValueError, match="itself"):
            file_response(PDF, filename="t.pdf", headers={name: "x"})


@pytest.mark.parametrize(
    ("content", "filename", "allowed"),
    [
        (ZIP, "a.zip", None),
        (HTML, "a.html", None),
        (b'{"a": 1}', "a.json", None),
        (HTML, "t.pdf", {"application/pdf"}),
    ],
)
def test_what_a_download_route_serves_is_documented(
    content: bytes, filename: str, allowed: set[str] | None
) -> None:
    """Found by the fuzz suite: a submission's artifact came back application/zip, and OpenAPI documented
    only application/json for the route."""
    options: dict[str, Any] = {} if allowed is None else {"allowed": allowed}
    app = FastAPI()

    @app.get("/file", response_class=Response, responses=download_responses(**options))
    def get_file() -> Response:
        return file_response(content, filename=filename, **options)

    client = TestClient(app)
    served = client.get("/file").headers["content-type"].split(";")[0]
    documented = client.get("/openapi.json").json()["paths"]["/file"]["get"]["responses"]["200"]["content"]
    assert served in documented and OCTET_STREAM in documented
    assert set(documented) == {*(allowed or DEFAULT_ALLOWED), OCTET_STREAM}
