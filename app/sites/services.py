"""Queries scoped to what a user may see."""

from __future__ import annotations

from sqlalchemy import Select, func, select

from app.auth import policy
from app.auth.roles import Role
from app.extensions import db
from app.sites.models import Client, Site, SiteAssignment


def visible_sites_query(user) -> Select:
    """Sites whose operational data the user may see (DESIGN.md §3: one scoping helper)."""
    stmt = select(Site).where(Site.is_active.is_(True))
    if policy.sees_all_sites(user):
        return stmt
    role = Role(user.role)
    if role in policy.FIELD_ROLES:
        assigned = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        return stmt.where(Site.id.in_(assigned))
    if role == Role.CLIENT and user.client_id is not None:
        return stmt.where(Site.client_id == user.client_id)
    return stmt.where(False)


def visible_sites(user, *, limit: int | None = None) -> list[Site]:
    stmt = visible_sites_query(user).order_by(Site.code)
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def count_visible_sites(user) -> int:
    return db.session.scalar(select(func.count()).select_from(visible_sites_query(user).subquery()))


def registry_counts() -> dict[str, int]:
    """Totals for the admin's and manager's home."""
    return {
        "clients": db.session.scalar(select(func.count(Client.id))) or 0,
        "sites": db.session.scalar(select(func.count(Site.id)).where(Site.is_active.is_(True)))
        or 0,
    }
