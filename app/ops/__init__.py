"""Operating the app: backup and restore, the health check and the Prometheus metrics.

Part of the application shell (it reads the jobs runner's state and every table), so nothing
below it imports it: create_app() registers its routes and commands.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    from app import request_log
    from app.ops import metrics
    from app.ops.cli import backup_command, restore_command
    from app.ops.routes import bp

    app.register_blueprint(bp)
    request_log.add_observer(app, metrics.observe_request)
    app.cli.add_command(backup_command, "backup")  # the name DESIGN.md §6 promises
    app.cli.add_command(backup_command, "db-backup")
    app.cli.add_command(restore_command, "restore")
