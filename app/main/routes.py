"""Home page per role and the health check."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, jsonify, render_template
from flask_babel import format_date
from flask_login import current_user
from sqlalchemy import func, select, text

from app.auth import policy
from app.auth.models import User, UserSession
from app.auth.roles import Role
from app.db import utcnow
from app.extensions import db
from app.inspections import services as inspection_services
from app.security import public
from app.sites import services as site_services

bp = Blueprint("main", __name__)

HOME_SITE_LIMIT = 10


@bp.get("/")
def home():
    """What the signed-in user has to do today, by role."""
    role = Role(current_user.role)
    context: dict = {"role": role, "today": format_date(utcnow(), "full")}
    if role == Role.ADMIN:
        context["counts"] = site_services.registry_counts() | {
            "users": db.session.scalar(select(func.count(User.id)).where(User.is_active.is_(True))),
            "sessions": db.session.scalar(
                select(func.count(UserSession.id)).where(UserSession.revoked_at.is_(None))
            ),
        }
    else:
        context["sites"] = site_services.visible_sites(current_user, limit=HOME_SITE_LIMIT)
        context["site_total"] = site_services.count_visible_sites(current_user)
        if role == Role.MANAGER:
            context["counts"] = site_services.registry_counts()
        if policy.can_list_inspections(current_user):
            today = utcnow().astimezone(ZoneInfo("Asia/Taipei")).date()
            context["due"] = inspection_services.inspections_due(current_user, today=today)
    return render_template("main/home.html", **context)


@bp.get("/healthz")
@public
def healthz():
    """Liveness and database check for load balancers; no login, no details."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any database failure means "not ready"
        db.session.rollback()
        return jsonify(status="error", db="error"), 503
    return jsonify(status="ok", db="ok")
