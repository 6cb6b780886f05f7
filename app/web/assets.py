"""Static files under content-hashed names, compressed once, cached by browsers for a year.

At start-up every file of static/ is read, named after its content (`app.3f9c01d2ab.css`)
and gzipped; brotli at its best quality takes a tenth of a second, so a thread does it
while the app already serves (gzip until then). `url_for('static', filename='app.css')`
gives the hashed name, which never changes meaning: `immutable`, for a year. The plain
name still answers, revalidated every time. Files are served before the app sees the
request, so they carry no session, no cookie and no `Vary: Cookie`.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import mimetypes
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import brotli
from quart import Quart, Response

from .. import asgi
from .encoding import accepted_coding, compressible

PREFIX = "/static/"
IMMUTABLE = b"public, max-age=31536000, immutable"
REVALIDATE = b"no-cache"
HASH_CHARS = 10
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
# A quoted string (kept whole) or a comment (dropped); then the indentation and blank lines.
CSS_COMMENT = re.compile(rb'("(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\')|/\*.*?\*/', re.S)
CSS_LINE_START = re.compile(rb"\n\s+")


def lean_css(body: bytes) -> bytes:
    """A stylesheet as browsers get it: the comments (written for people) and indentation left out."""
    return CSS_LINE_START.sub(b"\n", CSS_COMMENT.sub(lambda found: found.group(1) or b"", body))


def served(name: str, body: bytes) -> bytes:
    """What a browser is sent for a static file: stylesheets lean, everything else as it is."""
    return lean_css(body) if name.endswith(".css") else body


@dataclass
class Asset:
    """One static file: its bytes, as they are and compressed."""

    body: bytes
    content_type: bytes
    etag: bytes
    hashed_name: str
    codings: dict[str, bytes] = field(default_factory=dict)


# A process that makes several apps (the tests make hundreds) compresses each file once.
@functools.cache
def _gzip(body: bytes) -> bytes:
    return gzip.compress(body, 9, mtime=0)


@functools.cache
def _brotli(body: bytes) -> bytes:
    return brotli.compress(body, quality=11)


class Assets:
    """Every file of a folder, by plain and by hashed name."""

    def __init__(self, folder: Path) -> None:
        self.by_name: dict[str, Asset] = {}
        self.by_hashed_name: dict[str, Asset] = {}
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if not path.is_file() or any(part.startswith(".") for part in relative.parts):
                continue
            self._add(relative.as_posix(), served(relative.as_posix(), path.read_bytes()))

    def _add(self, name: str, body: bytes) -> None:
        digest = hashlib.sha256(body).hexdigest()[:HASH_CHARS]
        stem, dot, suffix = name.rpartition(".")
        hashed = f"{stem}.{digest}.{suffix}" if dot and "/" not in suffix else f"{name}.{digest}"
        content_type = TYPES.get(f".{suffix}") or mimetypes.guess_type(name)[0] or "application/octet-stream"
        asset = Asset(body, content_type.encode(), f'"{digest}"'.encode(), hashed)
        if compressible(asset.content_type):
            asset.codings["gzip"] = _gzip(body)
        self.by_name[name] = asset
        self.by_hashed_name[hashed] = asset

    def compress_best(self) -> None:
        """Add brotli at its best quality to every compressible file (slow: run it in a thread)."""
        for asset in self.by_name.values():
            if asset.codings:
                asset.codings["br"] = _brotli(asset.body)

    def hashed(self, name: str) -> str:
        """The content-hashed name of a file (a name that is no file is left as it is)."""
        asset = self.by_name.get(name)
        return asset.hashed_name if asset else name


class StaticFiles:
    """ASGI middleware: answer GET and HEAD for known static files from memory."""

    def __init__(self, app: asgi.ASGIApp, assets: Assets) -> None:
        self.app = app
        self.assets = assets

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith(PREFIX) or scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        name = path[len(PREFIX) :]
        asset = self.assets.by_hashed_name.get(name)
        cache = IMMUTABLE
        if asset is None:
            asset, cache = self.assets.by_name.get(name), REVALIDATE
            # A range of a file under its plain name is the app's to serve (a hashed one is sent whole).
            if any(header == b"range" for header, _ in scope["headers"]):
                asset = None
        if asset is None:
            await self.app(scope, receive, send)
            return
        await _send_asset(scope, send, asset, cache)


async def _send_asset(scope: dict[str, Any], send: Any, asset: Asset, cache: bytes) -> None:
    headers = [(b"cache-control", cache), (b"etag", asset.etag), (b"content-type", asset.content_type)]
    if asset.codings:
        headers.append((b"vary", b"Accept-Encoding"))
    request_headers = scope["headers"]
    if any(name == b"if-none-match" and asset.etag in value for name, value in request_headers):
        await send({"type": "http.response.start", "status": 304, "headers": headers})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    coding = accepted_coding(request_headers, asset.codings) if asset.codings else None
    body = asset.body
    if coding is not None:
        body = asset.codings[coding]
        headers.append((b"content-encoding", coding.encode()))
    headers.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send(
        {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body, "more_body": False}
    )


def init_app(app: Quart) -> None:
    """Serve static/ from memory under hashed names, and have `url_for('static', …)` give them."""
    assets = Assets(Path(app.static_folder or "static"))
    threading.Thread(target=assets.compress_best, name="compress-static", daemon=True).start()

    @app.url_defaults
    def _hashed_static_name(endpoint: str, values: dict[str, Any]) -> None:
        if endpoint == "static" and "filename" in values:
            values["filename"] = assets.hashed(values["filename"])

    app.after_request(_private)
    app.extensions["assets"] = assets
    asgi.wrap(app, lambda inner: StaticFiles(inner, assets))


async def _private(response: Response) -> Response:
    """What the app answers itself is the visitor's own: no shared cache keeps it, and it is revalidated."""
    response.headers.setdefault("Cache-Control", "private, no-cache")
    return response
