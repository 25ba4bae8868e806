"""User and UserSession."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.roles import Role
from app.db import Base, TimestampMixin, utcnow


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "user"
    __table_args__ = (
        CheckConstraint(
            "role IN ('guard', 'supervisor', 'manager', 'admin', 'client')", name="role"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Login name, stored lower-case.
    username: Mapped[str] = mapped_column(String(60), unique=True)
    #: Name shown in the interface and on signed records.
    display_name: Mapped[str] = mapped_column(String(120))
    #: One of Role.
    role: Mapped[str] = mapped_column(String(20))
    #: Where notifications are e-mailed, if anywhere.
    email: Mapped[str | None] = mapped_column(String(200))
    #: Preferred interface language ("zh_Hant_TW" or "en"); null follows the browser.
    locale: Mapped[str | None] = mapped_column(String(20))
    #: Argon2id hash (argon2-cffi encoded form).
    password_hash: Mapped[str] = mapped_column(String(255))
    #: Set after an admin reset: the next login must choose a new password.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    #: Deactivated users cannot log in and their sessions are revoked.
    is_active: Mapped[bool] = mapped_column(default=True)
    #: For client users: the client (業主) whose released records they may read.
    client_id: Mapped[int | None] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"))
    password_changed_at: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]

    client = relationship("Client", lazy="joined")
    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", order_by="UserSession.created_at.desc()"
    )

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class UserSession(Base):
    """A server-side login; the browser holds its random id, the database only a hash of it."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the 128-bit session token in the cookie.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: Set at logout, password change, deactivation or by an admin.
    revoked_at: Mapped[datetime | None]
    #: Why it was revoked: logout, password_changed, deactivated, admin, expired.
    revoked_reason: Mapped[str] = mapped_column(String(30), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    #: When this login last proved its user again (password and TOTP, or a passkey): a
    #: restricted vault value needs it within STEP_UP_SECONDS (app/auth/stepup.py).
    stepped_up_at: Mapped[datetime | None]
    #: How: "password", "password+totp", "passkey", "recovery_code".
    stepped_up_by: Mapped[str] = mapped_column(String(20), default="")

    user: Mapped[User] = relationship(back_populates="sessions")
