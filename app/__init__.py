"""Guardpost: create_app() builds the Flask application."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app import config as config_module
from app import db as db_module
from app import files
from app.config import ROOT


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, CLI and error handlers."""
    instance_path = Path((test_config or {}).get("INSTANCE_PATH") or ROOT / "instance")
    app = Flask(
        __name__,
        instance_path=str(instance_path),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_mapping(config_module.build(instance_path, test_config))
    # Owner-only on disk (SECURITY.md 9): the instance folder (the database, secrets, uploads
    # by default) 0700, the SQLite file 0600 from its creation on; uploads as they are written.
    files.private_folder(instance_path)
    db_module.create_sqlite_file(app.config["SQLALCHEMY_DATABASE_URI"])

    if app.config["PROXY_FIX"]:
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    from app import request_log, static_files

    # Static files are answered before Flask (no session, no database); the request log is
    # outermost, so every response, static ones too, gets its line and X-Request-ID.
    static_files.init_app(app)
    request_log.init_app(app)

    from app import args, device_requests, errors, i18n, ops, security, templating
    from app.arming.routes import bp as arming_bp
    from app.audit.cli import audit_cli
    from app.auth import login
    from app.auth.routes import bp as auth_bp
    from app.briefings.routes import bp as briefings_bp
    from app.cli import register_cli
    from app.company.routes import bp as company_bp
    from app.custody.routes import bp as custody_bp
    from app.dashboard.routes import bp as dashboard_bp
    from app.extensions import babel, csrf, db, limiter, migrate
    from app.incidents.routes import bp as incidents_bp
    from app.inspections.routes import bp as inspections_bp
    from app.main.routes import bp as main_bp
    from app.maintenance.routes import bp as maintenance_bp
    from app.notifications import push
    from app.notifications.cli import push_cli
    from app.notifications.routes import bp as notifications_bp
    from app.offboarding.routes import bp as offboarding_bp
    from app.photos.routes import bp as photos_bp
    from app.portal.routes import bp as portal_bp
    from app.privacy.routes import bp as privacy_bp
    from app.pwa.routes import bp as pwa_bp
    from app.records.routes import bp as records_bp
    from app.sites.routes import bp as sites_bp
    from app.vault import services as vault
    from app.vault.cli import keys_cli, vault_cli
    from app.vault.routes import bp as vault_bp

    # Before any route: every <int:...> in a path is an id that fits its column, or 404.
    app.url_map.converters["int"] = args.IdConverter
    app.before_request(args.refuse_nul)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    babel.init_app(app, locale_selector=i18n.select_locale)
    # First, so that even a CSRF or rate-limit refusal speaks the language asked for.
    app.before_request(i18n.remember_lang_choice)
    csrf.init_app(app)
    limiter.init_app(app)
    login.init_app(app)
    security.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    device_requests.init_app(app)  # after sign-in and CSRF: a replay is the same user's

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(pwa_bp)
    app.register_blueprint(sites_bp)
    app.register_blueprint(inspections_bp)
    app.register_blueprint(photos_bp)
    app.register_blueprint(incidents_bp)
    app.register_blueprint(maintenance_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(briefings_bp)
    app.register_blueprint(vault_bp)
    app.register_blueprint(custody_bp)
    app.register_blueprint(arming_bp)
    # Its before-request gate (the collection notice at first sign-in) runs after sign-in's.
    app.register_blueprint(privacy_bp)
    app.register_blueprint(offboarding_bp)
    app.register_blueprint(company_bp)
    app.register_blueprint(portal_bp)
    app.register_blueprint(records_bp)
    app.register_blueprint(dashboard_bp)

    app.cli.add_command(audit_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(vault_cli)
    app.cli.add_command(push_cli)
    ops.init_app(app)  # /healthz, /metrics, `flask backup` and `flask restore`
    register_cli(app)
    _import_models()
    # Refuse to start with a DATA_KEYS that does not parse, or that lacks a key which stored
    # values need (SECURITY.md 6): a clear message now, not an error on every reveal later.
    vault.key_ring(app)
    vault.require_stored_keys(app)
    push.init_app(app)  # the VAPID key pair parses and agrees with itself, or no start
    return app


def _import_models() -> None:
    """Every model module, so metadata (and Alembic) knows all tables."""
    import app.arming.models
    import app.audit.models
    import app.auth.models
    import app.briefings.models
    import app.company.models
    import app.custody.models
    import app.device_requests
    import app.incidents.models
    import app.inspections.models
    import app.jobs.models
    import app.maintenance.models
    import app.notifications.models
    import app.offboarding.models
    import app.photos.models
    import app.privacy.models
    import app.records.models
    import app.sites.models
    import app.vault.models  # noqa: F401
