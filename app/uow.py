"""The unit of work: every state-changing route changes the database through here.

A route loads its object, authorizes, reads its form, and hands the service call to one of:

- ``form_page(form, call, then=…, page=…)``: a page with a form (GET shows it, POST saves);
- ``action(call, back=…, success=…)``: a button on a page (the outcome is flashed there);
- ``run(call, then=…, refused=…)``: anything else (a fragment, a page of its own).

Each runs ``call`` once and commits once. A ``DomainError`` (the service refusing) rolls the
whole request back and its message is shown: on the re-rendered form (200; 422 for htmx), as
a flash on the page the button is on, or in JSON for a phone. Success answers with
``see_other()``: 303 to the next page (HX-Redirect for htmx), or, when the client asked for
JSON (`wants_json()`: the phone's outbox), a 2xx body that echoes the object's uuid.

A value the user typed that does not parse is an error shown on the form; a value the page
fills in itself (a hidden uuid, ticked ids) that does not parse was not sent by the page: 400.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, flash, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import IntegrityError
from wtforms import Field

from app import device_requests
from app.errors import DomainError
from app.extensions import db
from app.forms import Form, error_messages, is_machine_field
from app.htmx import hx_redirect, is_htmx

T = TypeVar("T")

__all__ = [
    "DomainError",
    "InvalidForm",
    "action",
    "check",
    "commit",
    "echo",
    "form_page",
    "refusal_json",
    "refuse",
    "retry_after_conflict",
    "run",
    "see_other",
    "wants_json",
]


class InvalidForm(DomainError):
    """Values the user typed that do not parse, handed to a route's `refused` like a refusal."""

    def __init__(self, form: Form):
        super().__init__("invalid")
        self.form = form

    @property
    def message(self) -> str:
        return " ".join(error_messages(self.form))

    @property
    def errors(self) -> dict[str, list[str]]:
        return {name or "form": [str(m) for m in msgs] for name, msgs in self.form.errors.items()}


def check(form: Form) -> None:
    """Raise InvalidForm unless the form's values parse; a value the page fills in itself
    (a hidden uuid, ticked ids) that does not parse was not sent by the page: 400."""
    if form.validate():
        return
    if any(field.errors for field in form if is_machine_field(field)) and not wants_json():
        abort(400)
    raise InvalidForm(form)


# ---------------------------------------------------------------- the transaction


def commit(call: Callable[[], T]) -> T:
    """Run `call` (the service call) and commit once; return its result.

    A request from the outbox (header X-Object-UUID) claims its device uuid first, in the same
    transaction: a duplicate raises device_requests.Seen, answered as a replay or a 409.
    Anything raised rolls the whole request back and goes on up; a refusal that recorded its
    own trace (``DomainError.keep_record``: an audited failed guess) commits that trace first.
    """
    try:
        device_requests.claim()  # the phone's device uuid, claimed with the work it makes
        result = call()
    except DomainError as exc:
        if exc.keep_record:
            device_requests.release()  # a refusal: its device uuid stays free for the resend
            db.session.commit()
        else:
            db.session.rollback()
        raise
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    return result


def retry_after_conflict(call: Callable[[], T]) -> T:
    """Run `call` in a SAVEPOINT; if a concurrent request inserted the same unique row first,
    roll back to the savepoint only and run `call` once more (it then finds that row).

    The idempotent services (same uuid again → the same object) rely on this. The rest of the
    request's work stays in its transaction; the commit is still the unit of work's, once.
    """
    db.session.flush()  # earlier work's own errors surface as themselves, not as a conflict
    begin_before_savepoint()
    try:
        with db.session.begin_nested():
            return call()
    except IntegrityError:
        return call()


def begin_before_savepoint() -> None:
    """SQLite through pysqlite starts a transaction only at the first INSERT/UPDATE/DELETE; a
    SAVEPOINT before that would itself be the transaction, and releasing it would commit.
    Open the transaction first: IMMEDIATE, since a write follows and no other may slip in."""
    connection = db.session.connection()
    if connection.dialect.name != "sqlite":
        return
    if not connection.connection.dbapi_connection.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


# ---------------------------------------------------------------- answers


def wants_json() -> bool:
    """The client asked for JSON rather than a page (a phone, the offline outbox)."""
    return request.is_json or request.accept_mimetypes.best == "application/json"


def echo(uuid: str | None = None, *, status: int = 200, **fields: Any) -> ResponseReturnValue:
    """The JSON answer for a phone: the object's uuid echoed, and whatever else it needs."""
    body = {"ok": status < 400, **({"uuid": uuid} if uuid else {}), **fields}
    return jsonify({k: str(v) if hasattr(v, "__html__") else v for k, v in body.items()}), status


def see_other(
    url: str, message: str | None = None, *, uuid: str | None = None, category: str = "success"
):
    """Success: 303 to `url` with `message` flashed (HX-Redirect for htmx), or JSON echoing
    `uuid` for a client that asked for JSON."""
    if wants_json():
        return echo(uuid, location=url, **({"message": str(message)} if message else {}))
    if message:
        flash(message, category)
    return hx_redirect(url)


def refusal_json(exc: DomainError) -> ResponseReturnValue:
    """A refusal for a phone: its key, its message, the field(s) concerned; 422 (409…)."""
    extra = {"errors": exc.errors} if isinstance(exc, InvalidForm) else {"field": exc.field}
    return echo(status=exc.status, error=exc.key, message=exc.message, **extra)


def refuse(exc: DomainError, back: str) -> ResponseReturnValue:
    """A refused button: its message flashed on the page it came from (JSON for a phone)."""
    if wants_json():
        return refusal_json(exc)
    for message in error_messages(exc.form) if isinstance(exc, InvalidForm) else [exc.message]:
        flash(message, "error")
    return hx_redirect(back)


#: Where a refusal is shown: a field (or its name), or a function of the refusal giving one.
FieldChoice = str | Field | Callable[[DomainError], str | Field | None] | None


def _show_on_form(form: Form, exc: DomainError, field: FieldChoice) -> None:
    """Put the refusal's message on the field it concerns, else at the top of the form."""
    if callable(field) and not isinstance(field, Field):
        field = field(exc)
    name = exc.field or (field if isinstance(field, str) else getattr(field, "name", None))
    target = form._fields.get(name) if name else None
    if target is not None:
        target.errors = [*target.errors, exc.message]
    else:
        form.form_errors = [*form.form_errors, exc.message]


# ---------------------------------------------------------------- the three shapes of a route


def run(
    call: Callable[[], T],
    *,
    then: Callable[[T], ResponseReturnValue],
    refused: Callable[[DomainError], ResponseReturnValue],
    form: Form | None = None,
) -> ResponseReturnValue:
    """`form` (if any) must parse, then `call` runs in the unit of work; the answer is
    `then(result)`, or `refused(error)` after the rollback (an InvalidForm when the form's
    values do not parse: nothing was called)."""
    try:
        if form is not None:
            check(form)
        result = commit(call)
    except DomainError as exc:
        return refused(exc)
    return then(result)


def form_page(
    form: Form,
    call: Callable[[], T],
    *,
    then: Callable[[T], ResponseReturnValue],
    page: Callable[[], str],
    field: FieldChoice = None,
) -> ResponseReturnValue:
    """A page with a form: GET shows it; POST with values that parse runs `call` and answers
    `then(result)` (usually `see_other(...)`).

    Otherwise `page()` is shown again with the errors on the form — a refusal's message on its
    own field, on `field` (or `field(error)`), or at the top (``form.form_errors``) — status
    200, 422 for htmx.
    """
    if not form.is_submitted():
        return page(), 200
    try:
        check(form)
        result = commit(call)
    except DomainError as exc:
        if wants_json():
            return refusal_json(exc)
        if not isinstance(exc, InvalidForm):  # whose errors are on the form already
            _show_on_form(form, exc, field)
    else:
        return then(result)
    return page(), 422 if is_htmx() else 200


def action(
    call: Callable[[], T],
    *,
    back: str,
    success: str | Callable[[T], str] | None = None,
    form: Form | None = None,
    then: Callable[[T], ResponseReturnValue] | None = None,
    uuid: str | Callable[[T], str] | None = None,
) -> ResponseReturnValue:
    """A button: `form` (if any) must parse, then `call` runs and commits. On success, 303 to
    `back` with `success` flashed (or `then(result)`); a refusal or a value that does not parse
    is flashed as an error on `back`, and nothing is written. Callables get the result."""

    def done(result: T) -> ResponseReturnValue:
        if then is not None:
            return then(result)
        message = success(result) if callable(success) else success
        return see_other(back, message, uuid=uuid(result) if callable(uuid) else uuid)

    return run(call, form=form, then=done, refused=lambda exc: refuse(exc, back))
