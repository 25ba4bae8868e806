"""User and UserSession."""

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, LargeBinary, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.roles import Role
from app.db import Base, TimestampMixin, new_uuid, utcnow


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
    #: The password was right but the second factor is still to come: this row signs nobody
    #: in (the user loader ignores it) and lives only PENDING_SECONDS (app/auth/factors.py).
    is_pending: Mapped[bool] = mapped_column(default=False, server_default=false())
    #: How this login proved its second factor: "totp", "recovery_code", "passkey", or
    #: "enrolled" (one was set up during it); "" none. Lets the enrolment gate skip a query.
    second_factor: Mapped[str] = mapped_column(String(20), default="", server_default="")

    user: Mapped[User] = relationship(back_populates="sessions")


class TotpCredential(Base):
    """A user's authenticator-app secret (RFC 6238), encrypted with the vault's key ring."""

    __tablename__ = "totp_credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Part of the ciphertext's associated data (with the field "totp_secret").
    uuid: Mapped[str] = mapped_column(String(36), unique=True, default=new_uuid)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    #: The base32 secret, encrypted (app/vault/crypto.py format).
    secret_ciphertext: Mapped[str] = mapped_column(Text)
    #: The key id the secret is encrypted under, in clear for rotation.
    key_id: Mapped[str] = mapped_column(String(32), index=True)
    #: Null while enrolment waits for the first valid code: such a secret is not a factor.
    confirmed_at: Mapped[datetime | None]
    #: The last 30-second time step whose code was accepted: a code for it or an earlier
    #: step is refused (a code cannot be used twice).
    last_used_step: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RecoveryCode(Base):
    """One single-use recovery code, kept as a salted SHA-256 (the code has 60 random bits)."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    salt: Mapped[str] = mapped_column(String(32))
    #: hex SHA-256 of salt ‖ the normalised code.
    digest: Mapped[str] = mapped_column(String(64))
    used_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Passkey(Base):
    """A WebAuthn credential (passkey) registered by a user."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    #: The name the user gave it ("my phone").
    name: Mapped[str] = mapped_column(String(60))
    #: base64url of the credential id the authenticator chose.
    credential_id: Mapped[str] = mapped_column(String(1400), unique=True)
    #: COSE public key.
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    #: The authenticator's signature counter; a lower or equal one later means a clone.
    sign_count: Mapped[int] = mapped_column(BigInteger, default=0)
    #: base64url of the WebAuthn user handle (random, the same for all of a user's passkeys).
    user_handle: Mapped[str] = mapped_column(String(100))
    transports: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()


class WebAuthnChallenge(Base):
    """A challenge handed to the browser: single use (deleted when answered), five minutes."""

    __tablename__ = "webauthn_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random handle the cookie session carries (the challenge itself stays here).
    handle: Mapped[str] = mapped_column(String(64), unique=True)
    challenge: Mapped[bytes] = mapped_column(LargeBinary)
    #: "register", "step_up" or "sign_in".
    purpose: Mapped[str] = mapped_column(String(20))
    #: Whose ceremony it is; null for a sign-in that does not know the user yet.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
