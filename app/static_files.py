"""Static files in front of Flask (WhiteNoise) and compressed dynamic responses (Flask-Compress).

Everything under /static/ is answered by a WSGI layer before Flask sees the request: no session
cookie is read or refreshed (so no ``Set-Cookie`` and no ``Vary: Cookie``), no user is loaded and
no database statement runs. Files are looked up on every request (one ``stat``), so an edited
file is served at once; each version is read, hashed and compressed once, and its gzip and brotli
copies are kept under the instance folder by content hash (``STATIC_CACHE_DIR``).

Caching follows the URL: ``static_url()`` adds ``?v=<content hash>``; a request whose ``v``
matches the file's content is ``immutable`` for a year, any other (no ``v``, or an old one) must
revalidate (``no-cache``, with a content ETag), so a stale URL never pins the wrong bytes.

Dynamic responses (HTML, htmx fragments, JSON, the service worker) are compressed by
Flask-Compress when the browser asks for it. BREACH needs an attacker to make the victim's
browser send many requests that carry the session cookie and reflect attacker input beside a
secret; the session cookie is ``SameSite=Lax``, so cross-site subrequests carry no session.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tempfile
import threading
from functools import lru_cache
from http import HTTPStatus
from pathlib import Path
from urllib.parse import parse_qs
from wsgiref.headers import Headers

import brotli
from flask import Flask
from flask_compress import Compress
from whitenoise import WhiteNoise
from whitenoise.responders import MissingFileError, StaticFile
from whitenoise.string_utils import decode_path_info

from app.request_log import ENVIRON_ENDPOINT, ENVIRON_ROUTE

#: What a versioned URL (``?v=`` equal to the content hash) may be cached as.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Any other static URL: keep it, but ask again (a 304 when unchanged).
REVALIDATE = "no-cache"
#: The Flask rule and endpoint the request log names for a static file.
ROUTE, ENDPOINT = "/static/<path:filename>", "static"

#: Types worth compressing; images and fonts here are already compressed.
COMPRESSIBLE = {
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/manifest+json",
    "image/svg+xml",
    "text/plain",
}
#: Smaller files gain nothing from compression.
MIN_COMPRESS_SIZE = 512

#: Flask-Compress settings (dynamic responses); the app's config may override each.
COMPRESS_DEFAULTS = {
    "COMPRESS_ALGORITHM": ["br", "gzip"],
    "COMPRESS_BR_LEVEL": 4,  # fast enough per request; static files get level 11 once
    "COMPRESS_LEVEL": 6,
    "COMPRESS_MIN_SIZE": 500,
    # Streamed bodies (photos, attachments) are sent as they are, never buffered to compress.
    "COMPRESS_STREAMS": False,
    "COMPRESS_MIMETYPES": [
        "text/html",
        "text/plain",
        "text/csv",
        "text/css",
        "text/javascript",
        "application/javascript",
        "application/json",
        "application/manifest+json",
        "image/svg+xml",
    ],
}


def content_version(data: bytes) -> str:
    """The ``v`` that ``app.templating.static_url`` puts in a static URL for these bytes."""
    return hashlib.sha256(data).hexdigest()[:10]


@lru_cache(maxsize=64)
def _compressed(digest: str, data: bytes) -> dict[str, bytes]:
    """gzip and brotli copies of one file's bytes (WhiteNoise serves the smallest acceptable)."""
    return {
        "gz": gzip.compress(data, compresslevel=9, mtime=0),
        "br": brotli.compress(data, quality=11, mode=brotli.MODE_TEXT),
    }


def _write_once(target: Path, data: bytes) -> None:
    """Write a content-addressed file atomically (several workers may race; all write the same)."""
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, target)


class _Entry:
    """One version of one static file: WhiteNoise's responder and the content's ``v``."""

    __slots__ = ("signature", "static_file", "version")

    def __init__(self, signature: tuple, static_file: StaticFile, version: str):
        self.signature = signature
        self.static_file = static_file
        self.version = version


def _plain(status: HTTPStatus, start_response, extra: list[tuple[str, str]] | None = None):
    body = f"{status.value} {status.phrase}".encode()
    headers = [
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("X-Content-Type-Options", "nosniff"),
        ("Cache-Control", "no-store"),
        *(extra or []),
    ]
    start_response(f"{status.value} {status.phrase}", headers)
    return [body]


class StaticFiles(WhiteNoise):
    """WhiteNoise for one folder, with per-request versioned caching and lazy compression."""

    def __init__(self, application, root: str, prefix: str, cache_dir: str | Path):
        self.cache_dir = Path(cache_dir)
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        # autorefresh: files are found per request (not listed once at start), so an edited or
        # newly deployed file is never served with the old length; get_static_file() keeps the
        # work per version to one stat.
        super().__init__(
            application,
            root=root,
            prefix=prefix,
            autorefresh=True,
            max_age=None,
            allow_all_origins=False,
        )
        self.prefix = prefix.rstrip("/") + "/"

    def __call__(self, environ, start_response):
        path = decode_path_info(environ.get("PATH_INFO", ""))
        if not path.startswith(self.prefix):
            return self.application(environ, start_response)
        environ[ENVIRON_ROUTE], environ[ENVIRON_ENDPOINT] = ROUTE, ENDPOINT
        entry = self.find_file(path)
        if entry is None:
            # Answered here too, so that not even a miss opens the session.
            return _plain(HTTPStatus.NOT_FOUND, start_response)
        response = entry.static_file.get_response(environ["REQUEST_METHOD"], environ)
        headers = [(k, v) for k, v in response.headers if k.lower() != "cache-control"]
        if response.status in (HTTPStatus.OK, HTTPStatus.PARTIAL_CONTENT, HTTPStatus.NOT_MODIFIED):
            versioned = parse_qs(environ.get("QUERY_STRING", "")).get("v") == [entry.version]
            headers.append(("Cache-Control", IMMUTABLE if versioned else REVALIDATE))
        start_response(f"{response.status.value} {response.status.phrase}", headers)
        if response.file is None:
            return []
        file_wrapper = environ.get("wsgi.file_wrapper")
        return file_wrapper(response.file) if file_wrapper else _iter_file(response.file)

    def get_static_file(self, path, url, stat_cache=None):
        """WhiteNoise's hook for 'the file at path', here with a cache by (mtime, size, inode)."""
        try:
            stat = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            raise MissingFileError(path) from None
        if not os.path.isfile(path):
            raise MissingFileError(path)
        signature = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
        entry = self._entries.get(path)
        if entry is not None and entry.signature == signature:
            return entry
        with self._lock:
            entry = self._entries.get(path)
            if entry is None or entry.signature != signature:
                entry = self._entries[path] = self._build(path, url, signature)
        return entry

    def _build(self, path: str, url: str, signature: tuple) -> _Entry:
        data = Path(path).read_bytes()
        digest = hashlib.sha256(data).hexdigest()
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        headers["ETag"] = f'"{digest[:20]}"'
        headers["X-Content-Type-Options"] = "nosniff"
        headers["Cross-Origin-Resource-Policy"] = "same-origin"
        encodings = {}
        if self.media_types.get_type(path) in COMPRESSIBLE and len(data) >= MIN_COMPRESS_SIZE:
            targets = {ext: self.cache_dir / f"{digest}.{ext}" for ext in ("gz", "br")}
            if not all(target.exists() for target in targets.values()):
                blobs = _compressed(digest, data)  # once per content, kept across restarts
                for ext, target in targets.items():
                    _write_once(target, blobs[ext])
            encodings = {"gzip": str(targets["gz"]), "br": str(targets["br"])}
        static_file = StaticFile(path, headers.items(), encodings=encodings)
        return _Entry(signature, static_file, content_version(data))


def _iter_file(fh, block: int = 64 * 1024):
    with fh:
        while chunk := fh.read(block):
            yield chunk


def init_app(app: Flask) -> None:
    """Put the static layer in front of the app and compress what the app answers."""
    for key, value in COMPRESS_DEFAULTS.items():
        app.config.setdefault(key, value)
    # Registered before the other after_request hooks, so it runs last: it sees the final body.
    app.extensions["compress"] = Compress(app)
    cache_dir = app.config.get("STATIC_CACHE_DIR") or Path(app.instance_path) / "static-cache"
    app.wsgi_app = StaticFiles(  # type: ignore[method-assign]
        app.wsgi_app, root=app.static_folder, prefix=app.static_url_path, cache_dir=cache_dir
    )
