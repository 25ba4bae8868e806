"""One JSON log line per request, a request id for every response, exceptions logged with it.

Each request ends in one line on the ``guardpost.request`` logger (stderr by default)::

    {"ts": "...", "level": "INFO", "logger": "guardpost.request", "msg": "request",
     "request_id": "3f2a9c0d1b7e4a55", "method": "GET", "route": "/s/<token>",
     "endpoint": "sites.scan_landing", "status": 200, "duration_ms": 12.4, "user_id": 7}

What is logged is chosen, never dumped: the route's rule (``/s/<token>``), not the path, whose
segments and query string may carry a QR token; no header, cookie, form field or body.

The id is ``X-Request-ID`` on every response and is shown on the 500 page, so a user can quote
it. An incoming ``X-Request-ID`` is kept only behind a trusted proxy (``PROXY_FIX`` set) and
only when it is 8-128 characters of ``A-Z a-z 0-9 . _ : + / = -``; otherwise a new one is made.

An operator's own logging configuration wins: if the ``guardpost`` logger already has handlers,
none is added.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, g, has_request_context, request
from flask.logging import default_handler
from sqlalchemy import inspect as sa_inspect
from werkzeug.wsgi import ClosingIterator

HEADER = "X-Request-ID"
ENVIRON_ID = "guardpost.request_id"
ENVIRON_ROUTE = "guardpost.route"
ENVIRON_ENDPOINT = "guardpost.endpoint"
ENVIRON_USER = "guardpost.user_id"
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=-]{8,128}")

log = logging.getLogger("guardpost")
request_logger = logging.getLogger("guardpost.request")
error_logger = logging.getLogger("guardpost.error")


def new_request_id() -> str:
    """16 hex characters: short enough to read out, unique enough for a log."""
    return secrets.token_hex(8)


def is_valid_request_id(value: str | None) -> bool:
    return bool(value) and _VALID_ID.fullmatch(value) is not None


def current_request_id() -> str | None:
    """The id of the request being handled (None outside a request)."""
    if not has_request_context():
        return None
    environ = request.environ
    if ENVIRON_ID not in environ:  # the app called without the middleware (never in create_app)
        environ[ENVIRON_ID] = new_request_id()
    return environ[ENVIRON_ID]


# ---------------------------------------------------------------- formatting


class JsonFormatter(logging.Formatter):
    """One JSON object per line; a record's ``fields`` (given as extra) are merged in."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        entry.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class RequestIdFilter(logging.Filter):
    """Adds the current request's id to every record that lacks one (errors, feature logs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = current_request_id()
        return True


class StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (a test's capture, a redirected stream)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def _is_dev_server_request_line(record: logging.LogRecord) -> bool:
    """werkzeug's development server logs each request with its raw path (a QR token in it)."""
    return isinstance(record.msg, str) and record.msg.endswith('"%s" %s %s')


def _drop_dev_server_request_lines(record: logging.LogRecord) -> bool:
    return not _is_dev_server_request_line(record)


HANDLER_NAME = "guardpost-json"


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr for the ``guardpost`` loggers and for ``app.logger``; idempotent."""
    if not log.handlers:  # an operator's logging configuration, if any, wins
        handler = StderrHandler()
        handler.setFormatter(JsonFormatter())
        handler.addFilter(RequestIdFilter())
        handler.set_name(HANDLER_NAME)
        log.addHandler(handler)
        log.propagate = False
        if log.level == logging.NOTSET:
            log.setLevel(logging.INFO)
    ours = next((h for h in log.handlers if h.get_name() == HANDLER_NAME), None)
    if ours is not None and ours not in app.logger.handlers:
        # Features log their exceptions through app.logger: the same lines, with the request id.
        app.logger.removeHandler(default_handler)
        app.logger.addHandler(ours)
    werkzeug_logger = logging.getLogger("werkzeug")
    if _drop_dev_server_request_lines not in werkzeug_logger.filters:
        werkzeug_logger.addFilter(_drop_dev_server_request_lines)


# ---------------------------------------------------------------- the WSGI middleware


class RequestLogMiddleware:
    """Outermost WSGI layer: gives the request its id, adds the header, logs the line."""

    def __init__(self, app, *, trust_incoming_id: bool = False):
        self.app = app
        self.trust_incoming_id = trust_incoming_id
        #: Called with (endpoint, method, status, seconds) after each line (the metrics).
        self.observers: list[Callable[[str | None, str, int, float], None]] = []

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        incoming = environ.get("HTTP_X_REQUEST_ID")
        trusted = self.trust_incoming_id and is_valid_request_id(incoming)
        request_id = incoming if trusted else new_request_id()
        environ[ENVIRON_ID] = request_id
        status: list[int] = []

        def _start_response(status_line, headers, exc_info=None):
            status[:] = [int(status_line.split(" ", 1)[0])]
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"]
            headers.append((HEADER, request_id))
            return start_response(status_line, headers, exc_info)

        try:
            body = self.app(environ, _start_response)
        except Exception:
            error_logger.exception(
                "unhandled error", extra={"request_id": request_id, "fields": _route(environ)}
            )
            self._done(environ, 500, started)
            raise
        if status:
            # The response is built (a file body is only streamed from here): server time.
            self._done(environ, status[0], started)
            return body
        # An app that starts its response while iterating: log once the body is done.
        return ClosingIterator(
            body, lambda: self._done(environ, status[0] if status else 500, started)
        )

    def _done(self, environ, status: int, started: float) -> None:
        seconds = _log_request(environ, status, started)
        for observe in self.observers:
            method = environ.get("REQUEST_METHOD", "")
            observe(environ.get(ENVIRON_ENDPOINT), method, status, seconds)


def _route(environ) -> dict:
    return {"route": environ.get(ENVIRON_ROUTE), "endpoint": environ.get(ENVIRON_ENDPOINT)}


def _log_request(environ, status: int, started: float) -> float:
    """Log the request's line; returns its duration in seconds."""
    seconds = time.perf_counter() - started
    fields = {
        "method": environ.get("REQUEST_METHOD"),
        **_route(environ),
        "status": status,
        "duration_ms": round(seconds * 1000, 1),
        "user_id": environ.get(ENVIRON_USER),
    }
    request_logger.log(
        logging.ERROR if status >= 500 else logging.INFO,
        "request",
        extra={"request_id": environ.get(ENVIRON_ID), "fields": fields},
    )
    return seconds


# ---------------------------------------------------------------- what Flask knows


def _signed_in_user_id() -> int | None:
    """The id of the user this request loaded, without loading one or touching the database."""
    user = g.get("_login_user")  # Flask-Login's per-request cache; absent if nobody asked
    if user is None:
        return None
    state = sa_inspect(user, raiseerr=False)  # the anonymous user is not a mapped object
    if state is None or state.identity is None:
        return None
    return state.identity[0]  # the identity key: no attribute load, no SELECT after a commit


def remember_route_and_user(_error: BaseException | None = None) -> None:
    """teardown_request: hand the route rule and user id to the middleware's log line."""
    environ = request.environ
    rule = request.url_rule
    environ[ENVIRON_ROUTE] = rule.rule if rule is not None else None
    environ[ENVIRON_ENDPOINT] = request.endpoint
    environ[ENVIRON_USER] = _signed_in_user_id()


def init_app(app: Flask) -> None:
    """Log every request (static files included: call after the static layer is in place)."""
    configure_logging(app)
    app.teardown_request(remember_route_and_user)
    # Behind a trusted proxy (PROXY_FIX), its X-Request-ID ties our line to the proxy's.
    app.wsgi_app = RequestLogMiddleware(  # type: ignore[method-assign]
        app.wsgi_app, trust_incoming_id=bool(app.config.get("PROXY_FIX"))
    )


def add_observer(app: Flask, observer: Callable[[str | None, str, int, float], None]) -> None:
    """Have `observer(endpoint, method, status, seconds)` called after every request's line."""
    layer = app.wsgi_app
    while not isinstance(layer, RequestLogMiddleware):
        layer = layer.app  # an AttributeError: init_app() was not called
    layer.observers.append(observer)
