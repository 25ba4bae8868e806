"""Configuration: defaults, then the environment, then generated secrets in instance/."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import secrets
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from app import files

ROOT = Path(__file__).resolve().parent.parent

#: Secrets that are generated into instance/secrets.json when the environment lacks them.
GENERATED_SECRETS = ("SECRET_KEY", "AUDIT_KEY", "DATA_KEYS", "VAPID_PRIVATE_KEY")


def _bool(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value not in (None, "") else default
    except ValueError:
        return default


def defaults(instance_path: Path) -> dict[str, Any]:
    """Every setting with its default; see README's configuration table."""
    return {
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance_path / 'guardpost.db'}",
        # hide_parameters: a database error logged with its traceback never shows bound values.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True, "hide_parameters": True},
        "BASE_URL": "",
        "UPLOAD_DIR": str(instance_path / "uploads"),
        # Where `flask audit anchor` appends the audit chain's head: empty means
        # instance/audit-anchors. Best on another disk or a write-once share.
        "AUDIT_ANCHOR_DIR": "",
        # The daily backup job (app/ops/backup.py): off while BACKUP_DIR is empty; keeps the
        # newest BACKUP_KEEP backups there.
        "BACKUP_DIR": "",
        "BACKUP_KEEP": 7,
        # /metrics answers this bearer token, or requests from this machine; nobody else.
        "METRICS_TOKEN": "",
        "RATELIMIT_STORAGE_URI": "memory://",
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_HEADERS_ENABLED": False,
        # If Redis is down, throttle in memory rather than refuse every login.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "SMTP_URL": "",
        "MAIL_FROM": "guardpost@localhost",
        # Web Push (app/notifications/push.py): the VAPID key pair that signs every push (the
        # private key is generated like the other secrets; the public one is derived from it),
        # and the contact the push services may write to (empty: BASE_URL if it is https,
        # else mailto:MAIL_FROM). WEB_PUSH=0 turns push off; the bell and e-mail stay.
        "WEB_PUSH": True,
        "VAPID_PRIVATE_KEY": "",
        "VAPID_PUBLIC_KEY": "",
        "VAPID_SUBJECT": "",
        "TRUSTED_HOSTS": None,
        "PROXY_FIX": 0,
        "SECURE_COOKIES": False,
        "SESSION_IDLE_MINUTES": 120,
        "SESSION_MAX_HOURS": 14,
        # A temporary (admin-given) password must be replaced within this many hours.
        "TEMP_PASSWORD_HOURS": 72,
        # Failed sign-ins: tight per account and address, loose per account from anywhere,
        # per address over all accounts; a device that signed in to the account before
        # (device cookie) is held to its own limit instead of these (app/auth/devices.py).
        "LOGIN_LIMIT_ACCOUNT_ADDRESS": "5 per 5 minutes;20 per hour",
        "LOGIN_LIMIT_ACCOUNT": "20 per 15 minutes;100 per day",
        "LOGIN_LIMIT_ADDRESS": "60 per 5 minutes",
        "LOGIN_LIMIT_DEVICE": "5 per 5 minutes;20 per hour",
        "LOGIN_DEVICE_COOKIE_DAYS": 365,
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 4,
        # SECURITY.md 3: the token lives as long as the session, so a queued form still posts.
        "WTF_CSRF_TIME_LIMIT": None,
        "WTF_CSRF_HEADERS": ["X-CSRFToken"],
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh_Hant_TW",
        "BABEL_DEFAULT_TIMEZONE": "Asia/Taipei",
        "BABEL_TRANSLATION_DIRECTORIES": str(ROOT / "app" / "translations"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        # The cookie is written only when the session changes. Re-sent on every response, a
        # slow request begun with an older cookie (the service worker's precache right after
        # sign-in) overwrote a newer one and lost its CSRF token: "form expired" on the next
        # POST. Expiry need not slide: the session row enforces idle and absolute limits.
        "SESSION_REFRESH_EACH_REQUEST": False,
        "REMEMBER_COOKIE_DURATION": 0,
        "SEND_FILE_MAX_AGE_DEFAULT": 31536000,
        "PAGE_SIZE": 25,
        # Roles that must set up a second factor (TOTP or a passkey) before anything else
        # after signing in (issue 12 item 5); supervisors may, guards and clients cannot.
        "SECOND_FACTOR_ROLES": ["manager", "admin"],
        # A confidential record is kept this many months past its client's contract end.
        "VAULT_RETAIN_MONTHS": 12,
        # Arm/disarm (issue 13 item 4): minutes after closing before "not armed" is notified
        # (and before opening from which a disarm is in hours); the API's rate limit.
        "ARMING_GRACE_MINUTES": 30,
        "ARMING_API_LIMIT": "120 per minute",
    }


def from_environment(env: dict[str, str] | None = None) -> dict[str, Any]:
    """Settings read from environment variables (only those that are set)."""
    env = dict(os.environ if env is None else env)
    found: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        url = env["DATABASE_URL"]
        # Hosting platforms still hand out postgres:// URLs; SQLAlchemy wants a driver name.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        found["SQLALCHEMY_DATABASE_URI"] = url
    for key in (
        "SECRET_KEY",
        "AUDIT_KEY",
        "DATA_KEYS",
        "BASE_URL",
        "UPLOAD_DIR",
        "AUDIT_ANCHOR_DIR",
        "BACKUP_DIR",
        "METRICS_TOKEN",
        "SMTP_URL",
        "MAIL_FROM",
        "VAPID_PRIVATE_KEY",
        "VAPID_PUBLIC_KEY",
        "VAPID_SUBJECT",
    ):
        if env.get(key):
            found[key] = env[key]
    if env.get("TRAINING_VALIDITY_DAYS"):
        # "first_aid=730,fire_safety=365,personal_data=365"
        pairs = (
            item.split("=", 1) for item in env["TRAINING_VALIDITY_DAYS"].split(",") if "=" in item
        )
        found["TRAINING_VALIDITY_DAYS"] = {k.strip(): _int(v, 365) for k, v in pairs}
    if env.get("ARMING_API_LIMIT"):
        found["ARMING_API_LIMIT"] = env["ARMING_API_LIMIT"]
    if env.get("RATELIMIT_STORAGE_URI"):
        found["RATELIMIT_STORAGE_URI"] = env["RATELIMIT_STORAGE_URI"]
    if env.get("TRUSTED_HOSTS"):
        found["TRUSTED_HOSTS"] = [h.strip() for h in env["TRUSTED_HOSTS"].split(",") if h.strip()]
    if "SECOND_FACTOR_ROLES" in env:  # empty: nobody is required to (a demo, a test rig)
        roles = env["SECOND_FACTOR_ROLES"].split(",")
        found["SECOND_FACTOR_ROLES"] = [r.strip() for r in roles if r.strip()]
    if env.get("PROXY_FIX"):
        found["PROXY_FIX"] = _int(env["PROXY_FIX"], 0)
    if env.get("WEB_PUSH"):
        found["WEB_PUSH"] = _bool(env["WEB_PUSH"], True)
    if env.get("SECURE_COOKIES"):
        found["SECURE_COOKIES"] = _bool(env["SECURE_COOKIES"])
    for key, default in (
        ("SESSION_IDLE_MINUTES", 120),
        ("SESSION_MAX_HOURS", 14),
        ("TEMP_PASSWORD_HOURS", 72),
        ("VAULT_RETAIN_MONTHS", 12),
        ("ARMING_GRACE_MINUTES", 30),
        ("BACKUP_KEEP", 7),
    ):
        if env.get(key):
            found[key] = _int(env[key], default)
    return found


def load_or_create_secrets(instance_path: Path, missing: list[str]) -> dict[str, str]:
    """Read generated secrets from instance/secrets.json, creating any missing ones (mode 0600).

    Several gunicorn workers may start at once: a file lock makes them agree on one set.
    """
    path = instance_path / "secrets.json"
    files.private_folder(instance_path)
    lock_fd = os.open(instance_path / "secrets.lock", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        stored: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
        fresh = {key: _new_secret(key) for key in missing if key not in stored}
        if fresh:
            stored.update(fresh)
            fd, tmp = tempfile.mkstemp(dir=instance_path, prefix=".secrets-")
            with os.fdopen(fd, "w") as fh:
                json.dump(stored, fh, indent=2)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
    finally:
        os.close(lock_fd)
    return {key: stored[key] for key in missing}


def _new_secret(key: str) -> str:
    if key == "DATA_KEYS":
        # Key ring "id:base64key", newest first; AES-256-GCM keys for the confidential vault
        # (app/vault/crypto.py). The id is never generated twice: were secrets.json lost and
        # a new key generated, stored values name a key id the ring lacks and the app refuses
        # to start, instead of finding "k1" and failing on every value.
        key_id = f"k{datetime.now(UTC):%Y%m%d}{secrets.token_hex(3)}"
        return f"{key_id}:" + base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    if key == "VAPID_PRIVATE_KEY":
        return new_vapid_private_key()
    return secrets.token_urlsafe(48)


def new_vapid_private_key() -> str:
    """A Web Push (VAPID) signing key: a P-256 private key as its 32 raw bytes, base64url."""
    number = ec.generate_private_key(ec.SECP256R1()).private_numbers().private_value
    return base64.urlsafe_b64encode(number.to_bytes(32, "big")).decode().rstrip("=")


def build(instance_path: Path, test_config: dict[str, Any] | None) -> dict[str, Any]:
    """Defaults, overridden by the environment (or by test_config in tests), plus secrets."""
    config = defaults(instance_path)
    if test_config is None:
        config.update(from_environment())
    else:
        config.update(test_config)
    missing = [key for key in GENERATED_SECRETS if not config.get(key)]
    if missing:
        config.update(load_or_create_secrets(instance_path, missing))
    # The cookie outlives a closed browser (a PWA reopened mid-shift stays signed in); the
    # server-side session row still ends it at idle timeout, lifetime or revocation.
    config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=config["SESSION_MAX_HOURS"])
    if config["SECURE_COOKIES"]:
        # The __Host- prefix pins the cookie to this host, path / and HTTPS.
        config.setdefault("SESSION_COOKIE_NAME", "__Host-guardpost")
        config["SESSION_COOKIE_SECURE"] = True
        config.setdefault("PREFERRED_URL_SCHEME", "https")
    else:
        config.setdefault("SESSION_COOKIE_NAME", "guardpost")
    return config
