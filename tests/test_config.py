"""Configuration: environment, generated secrets (mode 0600), migrations from any directory."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from app import config

ROOT = Path(__file__).resolve().parent.parent


def test_missing_secrets_are_generated_once_with_mode_0600(tmp_path):
    first = config.build(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    second = config.build(tmp_path, {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    path = tmp_path / "secrets.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for key in ("SECRET_KEY", "AUDIT_KEY", "DATA_KEYS", "VAPID_PRIVATE_KEY"):
        assert first[key] and first[key] == second[key]
    assert re.fullmatch(r"k\d{8}[0-9a-f]{6}:[A-Za-z0-9_=-]{44}", first["DATA_KEYS"])
    # Another instance folder (a lost secrets.json) never gets the same key id again.
    other = config.build(tmp_path / "other", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert other["DATA_KEYS"].split(":")[0] != first["DATA_KEYS"].split(":")[0]
    assert set(json.loads(path.read_text())) == {
        "SECRET_KEY",
        "AUDIT_KEY",
        "DATA_KEYS",
        "VAPID_PRIVATE_KEY",
    }
    # The Web Push signing key: a P-256 private key's 32 raw bytes, base64url without padding.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", first["VAPID_PRIVATE_KEY"])
    assert other["VAPID_PRIVATE_KEY"] != first["VAPID_PRIVATE_KEY"]


def test_given_secrets_are_not_written_to_disk(tmp_path):
    given = {"SECRET_KEY": "a", "AUDIT_KEY": "b", "DATA_KEYS": "k1:c", "VAPID_PRIVATE_KEY": "d"}
    config.build(tmp_path, given)
    assert not (tmp_path / "secrets.json").exists()


def test_environment_is_read():
    env = {
        "DATABASE_URL": "postgres://u:p@db/guardpost",
        "TRUSTED_HOSTS": "a.example, b.example",
        "PROXY_FIX": "1",
        "SECURE_COOKIES": "true",
        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "SESSION_IDLE_MINUTES": "30",
        "BASE_URL": "https://guardpost.example",
        "TRAINING_VALIDITY_DAYS": "first_aid=365, fire_safety=180",
        "VAULT_RETAIN_MONTHS": "24",
    }
    found = config.from_environment(env)
    assert found["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u:p@db/guardpost"
    assert found["TRUSTED_HOSTS"] == ["a.example", "b.example"]
    assert found["PROXY_FIX"] == 1 and found["SECURE_COOKIES"] is True
    assert found["RATELIMIT_STORAGE_URI"].startswith("redis://")
    assert found["SESSION_IDLE_MINUTES"] == 30
    assert found["BASE_URL"] == "https://guardpost.example"
    assert found["TRAINING_VALIDITY_DAYS"] == {"first_aid": 365, "fire_safety": 180}
    assert found["VAULT_RETAIN_MONTHS"] == 24


def test_flask_commands_find_the_migrations_from_any_directory(tmp_path):
    env = dict(os.environ)
    env.update(
        FLASK_APP="app",
        DATABASE_URL=f"sqlite:///{tmp_path / 'elsewhere.db'}",
        SECRET_KEY="s",
        AUDIT_KEY="a",
        DATA_KEYS="k1:dGVzdC1kYXRhLWtleS10ZXN0LWRhdGEta2V5LTEyMzQ=",
        PYTHONPATH=str(ROOT),
    )

    def flask(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "flask", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    current = flask("db", "current")
    assert current.returncode == 0, current.stderr
    upgrade = flask("db", "upgrade")
    assert upgrade.returncode == 0, upgrade.stderr
    assert "Running upgrade" in upgrade.stderr
