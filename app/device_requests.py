"""Every object a phone creates is unique by its device uuid (issue 11, item 4).

The outbox sends each queued item with the header ``X-Object-UUID: <device uuid>`` (the uuid
it made with the item, also in the form's ``uuid`` field where the form has one). The first
request that carries a key claims it in the ``device_request`` ledger, in the same transaction
as the work (``uow.commit`` claims before the service runs), so the ledger row and the objects
it made commit or roll back together. Then:

- the same key with the same body (its hash, below) answers the original answer again:
  the stored status and JSON body (or ``Location``), with ``X-Replay: 1`` and
  ``X-Object-UUID``; nothing is written;
- the same key with a different body, or from another user: 409,
  ``{"ok": false, "reason": "uuid_conflict", "error": "uuid_conflict", "uuid": key}``;
  the original stays;
- concurrent duplicates: the ledger's unique key lets one insert win; the others wait on it
  (PostgreSQL's unique index, SQLite's write lock), then find its row and answer as a replay;
- a refused request (4xx/5xx) keeps no claim: the key is free for the corrected resend.

"Same body" is judged by a SHA-256 over what the request means: the method and path, every
form field but ``csrf_token`` (which changes after a re-login), the SHA-256 of each uploaded
file's bytes (not its file name), and a JSON body in canonical form. Headers, cookies and the
order of fields do not count.

The rest of the outbox's contract (send ``Accept: application/json``; every answer is JSON):

- success: 2xx ``{"ok": true, "uuid": ...}`` (the object's uuid; for an answer, the
  inspection's) with header ``X-Object-UUID`` = the key sent;
- an answer carries ``device_time`` (ISO 8601 with zone, or epoch ms): one given before the
  saved one is acknowledged, not applied: 200 ``{"superseded": true}``, ``X-Superseded: 1``;
  likewise one given before its inspection was submitted; one given after: 409
  ``{"reason": "already_submitted"}``;
- a submit before some of its answers: 409 ``{"reason": "answers_missing",
  "missing": [{"item": id, "problem": "unanswered" | "note" | "photo"}]}``: send those, then
  the submit again (same key: it was not claimed);
- a refusal of the values: 422 ``{"ok": false, "error": key, "message": ...}``; signed out:
  401; CSRF: 400. None of them claims the key.
"""

from __future__ import annotations

import hashlib
import json
import uuid as uuid_lib
from datetime import datetime, timedelta

from flask import Flask, Response, g, jsonify, request
from flask_login import current_user
from sqlalchemy import String, Text, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, utcnow
from app.extensions import db

HEADER = "X-Object-UUID"
#: How long a claim is kept. Older items are not resent by an outbox in practice (answers
#: older than 30 days are refused anyway); the objects keep their own uuid uniqueness.
KEEP = timedelta(days=90)
REPLAY_HEADER = "X-Replay"
#: Form fields that do not make a body different: the CSRF token changes with the session.
IGNORED_FIELDS = frozenset({"csrf_token"})


class DeviceRequest(Base):
    """One request a phone sent under its device uuid, and the answer it got."""

    __tablename__ = "device_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    user_id: Mapped[int | None]
    path: Mapped[str] = mapped_column(String(300))
    body_hash: Mapped[str] = mapped_column(String(64))
    #: The answer given, stored once the request succeeded (None: still in flight).
    status: Mapped[int | None]
    location: Mapped[str | None] = mapped_column(String(500))
    response: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Seen(Exception):
    """The key was claimed before: the answer to give (a replay or a 409) instead of the
    route's. Raised out of the unit of work (which rolls back) to the error handler."""

    def __init__(self, answer: Response):
        super().__init__("device uuid seen before")
        self.answer = answer


def key() -> str | None:
    """The device uuid of this request (a POST from the outbox), or None. One that does not
    parse is ignored here (the form's own uuid field answers it)."""
    if request.method != "POST":
        return None
    value = request.headers.get(HEADER, "").strip()
    if not value:
        return None
    try:
        return str(uuid_lib.UUID(value))
    except ValueError:
        return None


def body_hash() -> str:
    """SHA-256 over what the request means (see the module's doc)."""
    if "device_body_hash" in g:
        return g.device_body_hash
    digest = hashlib.sha256()
    digest.update(f"{request.method} {request.path}\n".encode())
    for name in sorted(set(request.form) - IGNORED_FIELDS):
        digest.update(json.dumps([name, request.form.getlist(name)]).encode() + b"\n")
    for name in sorted(request.files):
        for upload in request.files.getlist(name):
            data = upload.stream.read()
            upload.stream.seek(0)
            digest.update(f"file {name} {hashlib.sha256(data).hexdigest()}\n".encode())
    if request.is_json:
        body = request.get_json(silent=True)
        digest.update(json.dumps(body, sort_keys=True, separators=(",", ":")).encode())
    g.device_body_hash = digest.hexdigest()
    return g.device_body_hash


def _user_id() -> int | None:
    return current_user.id if current_user.is_authenticated else None


def _answer(row: DeviceRequest, device_key: str) -> Response:
    """The replay of `row`, or a 409 if this request is not the same one."""
    if row.body_hash != body_hash() or row.user_id != _user_id():
        response = jsonify(
            ok=False,
            uuid=device_key,
            error="uuid_conflict",
            reason="uuid_conflict",
        )
        response.status_code = 409
    elif row.status is None:  # committed with its work, its answer not yet stored
        response = jsonify(ok=True, uuid=device_key)
        response.status_code = 200
        response.headers[REPLAY_HEADER] = "1"
    else:
        response = Response(row.response or "", status=row.status)
        if row.response is not None:
            response.mimetype = "application/json"
        if row.location:
            response.headers["Location"] = row.location
        response.headers[REPLAY_HEADER] = "1"
    response.headers[HEADER] = device_key
    return response


def _find(device_key: str) -> DeviceRequest | None:
    return db.session.scalar(select(DeviceRequest).where(DeviceRequest.uuid == device_key))


def replay_early() -> Response | None:
    """before_request (after sign-in and CSRF): a key seen before answers at once, before the
    route runs (a submit already done, an answer already given)."""
    device_key = key()
    if device_key is None:
        return None
    row = _find(device_key)
    if row is None:
        return None
    return _answer(row, device_key)


def claim() -> None:
    """Claim this request's device uuid inside the unit of work (once per request). Raises
    Seen if another request holds it (a concurrent duplicate that won the insert)."""
    device_key = key()
    if device_key is None or g.get("device_claimed"):
        return
    from app.uow import begin_before_savepoint

    db.session.flush()
    begin_before_savepoint()
    try:
        with db.session.begin_nested():
            db.session.add(
                DeviceRequest(
                    uuid=device_key,
                    user_id=_user_id(),
                    path=request.path[:300],
                    body_hash=body_hash(),
                )
            )
    except IntegrityError:
        row = _find(device_key)
        if row is None:  # pragma: no cover - the winner rolled back meanwhile
            raise
        raise Seen(_answer(row, device_key)) from None
    g.device_claimed = device_key


def release() -> None:
    """Give up this request's claim inside its transaction (a refusal that commits its own
    trace): a committed claim always means the work it made was committed too."""
    device_key = g.pop("device_claimed", None)
    if device_key is not None:
        db.session.execute(delete(DeviceRequest).where(DeviceRequest.uuid == device_key))


def remember(response: Response) -> Response:
    """after_request: keep the answer given with the claim (a refusal frees the key); mark
    every keyed answer with its key."""
    device_key = key()
    if device_key is None:
        return response
    response.headers.setdefault(HEADER, device_key)
    if g.get("device_claimed") != device_key:
        return response
    db.session.rollback()  # whatever the request left behind is not this bookkeeping's
    if response.status_code < 400:
        body = response.get_data(as_text=True) if response.is_json else None
        db.session.execute(
            update(DeviceRequest)
            .where(DeviceRequest.uuid == device_key)
            .values(
                status=response.status_code,
                response=body,
                location=(response.headers.get("Location") or "")[:500] or None,
            )
        )
    else:  # an error after the commit: the resend must be free (nothing else to undo)
        db.session.execute(delete(DeviceRequest).where(DeviceRequest.uuid == device_key))
    db.session.commit()
    return response


def prune(now: datetime) -> int:
    """Forget the claims older than KEEP (the scheduled job; the caller commits)."""
    return db.session.execute(
        delete(DeviceRequest).where(DeviceRequest.created_at < now - KEEP)
    ).rowcount


def init_app(app: Flask) -> None:
    """Registered after sign-in and CSRF checks: a replay needs the same signed-in user."""
    app.before_request(replay_early)
    app.after_request(remember)
    app.register_error_handler(Seen, lambda exc: exc.answer)
