"""/healthz for load balancers and /metrics for Prometheus: no login, no session."""

from __future__ import annotations

import hmac
import ipaddress

from flask import Blueprint, Response, abort, current_app, jsonify, request

from app.auth.login import public
from app.extensions import db
from app.ops import health, metrics

bp = Blueprint("ops", __name__)

#: A request that came through a proxy carries one of these: it is not the machine's own,
#: even though the proxy on this host connects from 127.0.0.1.
FORWARDED = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def _iso(value) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value else None


@bp.get("/healthz")
@public
def healthz():
    """Liveness and the database; the jobs runner's last run and the outboxes' backlog.

    Counts and times only (no job error, no address, no name): the route is open to anyone.
    200 while the database answers, whatever the runner does (a stale runner is no reason to
    take the web servers out of a load balancer); 503 when it does not."""
    try:
        state = health.read()
    except Exception:  # any database failure means "not ready"
        db.session.rollback()
        return jsonify(status="error", db="error"), 503
    body: dict = {
        "status": "ok",
        "db": "ok",
        "jobs": {"last_run": _iso(state.jobs_last_run), "stale": state.jobs_stale},
    }
    for channel, box in (("mail", state.mail), ("push", state.push)):
        body[channel] = (
            {"unsent": box.unsent, "oldest_seconds": box.oldest_seconds(state.now)}
            if box.enabled
            else {"enabled": False}
        )
    return jsonify(body)


def _bearer_matches() -> bool:
    token = current_app.config.get("METRICS_TOKEN") or ""
    given = request.headers.get("Authorization", "")
    if not token or not given.startswith("Bearer "):
        return False
    return hmac.compare_digest(given.removeprefix("Bearer ").encode(), token.encode())


def _from_this_machine() -> bool:
    """Loopback, and not forwarded by a proxy (which would connect from loopback too)."""
    if any(name in request.headers for name in FORWARDED):
        return False
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


@bp.get("/metrics", endpoint="metrics")
@public
def metrics_page():
    """Prometheus metrics, to the METRICS_TOKEN bearer or this machine; 404 to anyone else
    (the route does not admit it exists)."""
    if not (_bearer_matches() or _from_this_machine()):
        abort(404)
    response = Response(metrics.exposition(), content_type=metrics.CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"
    return response
