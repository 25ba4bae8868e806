"""Generic error pages (and htmx fragments) that say what to do and leak nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from flask import Flask, Response, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DisconnectionError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.htmx import is_htmx
from app.request_log import current_request_id, error_logger

MESSAGES = {
    400: (_l("Something in that request was not right"), _l("Go back and try again.")),
    403: (
        _l("Not allowed"),
        _l("Your role does not allow this. Ask an administrator if you need it."),
    ),
    404: (_l("Not found"), _l("This page does not exist, or you do not have access to it.")),
    405: (_l("Not allowed"), _l("This address cannot be used that way.")),
    413: (_l("Too large"), _l("The file or form you sent is too large.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes and try again.")),
    500: (
        _l("Something went wrong"),
        _l("The error has been logged. Please try again in a moment."),
    ),
    503: (_l("Temporarily unavailable"), _l("Please try again in a moment.")),
}
CSRF_MESSAGE = (
    _l("The form has expired"),
    _l("Reload the page and send it again. Nothing was saved."),
)


class DomainError(Exception):
    """A refused action: the rule it broke, named by `key`, for the user to put right.

    Each feature's error class (RegistryError, IncidentError, PhotoError…) inherits this and
    holds its `messages`, so a route never translates keys itself: the unit of work
    (app/uow.py) rolls back and shows `message` — on `field` when the refusal concerns one
    field of the form. `keep_record`: the refusal wrote its own trace (an audited failure)
    that must be committed, not rolled back.
    """

    #: key -> the message shown for it (lazy strings, in the user's language).
    messages: ClassVar[Mapping[str, Any]] = {}
    #: The HTTP status a refusal answers with where a status is due (htmx, JSON).
    status: ClassVar[int] = 422

    def __init__(self, key: str, *, field: str | None = None, keep_record: bool = False):
        super().__init__(f"{field}: {key}" if field else key)
        self.key = key
        self.field = field
        self.keep_record = keep_record

    @property
    def message(self) -> str:
        return str(self.messages.get(self.key, MESSAGES[400][0]))


def _render(status: int, title, hint):
    template = "errors/_error.html" if is_htmx() else "errors/error.html"
    # A server error shows the request id, so that a user can quote it and we can find the log.
    request_id = current_request_id() if status >= 500 else None
    try:
        page = render_template(
            template, status=status, title=title, hint=hint, request_id=request_id
        )
        return page, status
    except Exception:  # a request too broken to build a page for (an untrusted Host, say)
        text = f"{status} {title}" + (f" ({request_id})" if request_id else "")
        return Response(text, status=status, mimetype="text/plain")


def handle_http_error(error: HTTPException):
    if error.response is not None:  # a page made for the case (a throttled sign-in says why)
        return error.response
    status = error.code or 500
    if status not in MESSAGES:
        return error
    title, hint = MESSAGES[status]
    return _render(status, title, hint)


def handle_csrf_error(error: CSRFError):
    """400, marked `X-Refusal: csrf`: the outbox fetches a fresh token and sends again."""
    page = _render(400, *CSRF_MESSAGE)
    response = page if isinstance(page, Response) else Response(*page)
    response.headers["X-Refusal"] = "csrf"
    return response


def handle_unexpected(error: Exception):
    """Log the exception with the request id; show the user only a generic page and that id."""
    from app.extensions import db

    transient = _is_transient(error)
    try:
        db.session.rollback()
    except Exception:
        # The connection that failed may fail its rollback too (a PostgreSQL connection ended
        # mid-request): raising here would answer gunicorn's bare 500 instead of this page.
        db.session.close()
    rule = request.url_rule
    error_logger.error(
        "unhandled error",
        exc_info=error,
        extra={
            "fields": {
                "route": rule.rule if rule is not None else None,
                "endpoint": request.endpoint,
                "error": type(error).__name__,
                "status": 503 if transient else 500,
            }
        },
    )
    if transient:
        # Not a fault of the request: the database was busy or its connection went away
        # (SQLite's lock wait past its busy timeout; a PostgreSQL restart or failover).
        # 503 with Retry-After says "send it again": the outbox does, a person is told so.
        page = _render(503, *MESSAGES[503])
        response = page if isinstance(page, Response) else Response(*page)
        response.headers["Retry-After"] = "2"
        return response
    return _render(500, *MESSAGES[500])


def _is_transient(error: Exception) -> bool:
    """A database error that the same request, sent again shortly, would not meet."""
    if not isinstance(error, OperationalError | DisconnectionError):
        return False
    if getattr(error, "connection_invalidated", False):
        return True
    text = str(getattr(error, "orig", error)).lower()
    return any(sign in text for sign in TRANSIENT_SIGNS)


#: How a passing database condition reads in the driver's message (SQLite, psycopg).
TRANSIENT_SIGNS = (
    "database is locked",
    "database table is locked",
    "server closed the connection unexpectedly",
    "terminating connection due to administrator command",
    "connection is closed",
    "the database system is starting up",
    "the database system is shutting down",
)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(InternalServerError, handle_unexpected)
    app.register_error_handler(Exception, handle_unexpected)
