"""/manifest.webmanifest, /sw.js (root scope) and /offline."""

from __future__ import annotations

import hashlib
import json
import re

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from app import i18n
from app.auth.login import public
from app.templating import static_url, vendor

bp = Blueprint("pwa", __name__)

THEME_COLOUR = "#0f3d5e"
#: Static files of the app shell; the service worker precaches their versioned URLs.
SHELL_FILES = [
    "css/app.css",
    "js/app.js",
    "js/vendor-fallback.js",
    "js/outbox-core.js",
    "js/outbox.js",
    "js/inspection.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/icon-maskable-512.png",
]


#: What the outbox keeps when it cannot reach the server (issue 11): the endpoints of field
#: work a phone creates, by the kind of item the unsent page names. Each takes a device uuid
#: (header X-Object-UUID) and answers JSON (app/device_requests.py).
OUTBOX_ENDPOINTS = {
    "inspections.answer": "answer",
    "inspections.answer_photo": "photo",
    "inspections.submit": "submit",
    "maintenance.repair_from_item": "repair",
    "maintenance.repair_new": "repair",
    "incidents.incident_new": "incident",
    "incidents.incident_update": "incident_update",
    "incidents.incident_photo": "incident_photo",
    "incidents.alarm_new": "alarm",
    "incidents.alarm_step": "alarm_step",
    "sites.check_in": "check_in",
    "sites.code_check_in": "check_in",
    "sites.check_in_location": "check_in_location",
    "briefings.acknowledge": "acknowledge",
}


def shell_urls() -> list[str]:
    return [static_url(name) for name in SHELL_FILES] + [
        static_url(vendor()[name]["local"]) for name in ("htmx", "idb", "signature_pad")
    ]


def outbox_routes() -> list[dict]:
    """The outbox's endpoints as path patterns the service worker matches."""
    found = []
    for rule in current_app.url_map.iter_rules():
        kind = OUTBOX_ENDPOINTS.get(rule.endpoint)
        if kind is not None and "POST" in (rule.methods or ()):
            pattern = "^" + re.sub(r"<[^>]+>", "[^/]+", rule.rule) + "$"
            found.append({"kind": kind, "pattern": pattern})
    return found


@bp.get("/manifest.webmanifest")
@public
def manifest():
    """The web app manifest in the user's language (?locale=, else as pages choose it)."""
    # ?locale= and not ?lang=: ?lang= is a choice the session remembers, and a manifest
    # fetched in the background must not write the cookie.
    locale = i18n.parse_lang(request.args.get("locale")) or i18n.select_locale()
    with force_locale(locale):
        texts = {
            "name": _("Guardpost security supervision"),
            "short_name": "Guardpost",
            "description": _(
                "Site inspections, briefings and control records for system security teams."
            ),
        }
    body = {
        **texts,
        "lang": i18n.SUPPORTED.get(locale, "zh-Hant-TW"),
        "dir": "ltr",
        "id": "/",
        "start_url": url_for("main.home", source="pwa"),
        "scope": "/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOUR,
        "background_color": "#f5f7fa",
        "icons": [
            {"src": static_url("icons/icon-192.png"), "sizes": "192x192", "type": "image/png"},
            {"src": static_url("icons/icon-512.png"), "sizes": "512x512", "type": "image/png"},
            {
                "src": static_url("icons/icon-maskable-512.png"),
                "sizes": "512x512",
                "type": "image/png",
                "purpose": "maskable",
            },
        ],
    }
    response = Response(
        json.dumps(body, ensure_ascii=False, indent=2), mimetype="application/manifest+json"
    )
    response.headers["Cache-Control"] = "no-cache"
    if "locale" not in request.args:  # chosen from the cookie or the browser's languages
        response.vary.update(("Cookie", "Accept-Language"))
    return response


@bp.get("/sw.js")
@public
def service_worker():
    """The service worker, at root scope; its cache name changes whenever a shell file does."""
    urls = [*shell_urls(), url_for("pwa.offline"), url_for("pwa.outbox_saved")]
    # SERVICE_WORKER_RELEASE: a new release's worker even when no shell file changed.
    marker = [*urls, str(current_app.config.get("SERVICE_WORKER_RELEASE", ""))]
    version = hashlib.sha256("\n".join(marker).encode()).hexdigest()[:12]
    body = render_template(
        "pwa/sw.js",
        version=version,
        urls=urls,
        offline_url=url_for("pwa.offline"),
        outbox_url=url_for("pwa.outbox"),
        saved_url=url_for("pwa.outbox_saved"),
        idb_url=static_url(vendor()["idb"]["local"]),
        core_url=static_url("js/outbox-core.js"),
        routes=outbox_routes(),
        icon_url=static_url("icons/icon-192.png"),
    )
    response = Response(body, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response


@bp.get("/offline")
@public
def offline():
    """Shown by the service worker when a page cannot be loaded; holds no user data."""
    response = Response(render_template("pwa/offline.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/outbox")
@public
def outbox():
    """The unsent page: what this phone holds that the server has not acknowledged. Its list
    is drawn from the phone's own outbox (IndexedDB) by outbox.js; the page holds none of it,
    and the service worker keeps it for offline use."""
    response = Response(render_template("pwa/outbox.html"))
    response.headers["X-Offline"] = "keep"
    return response


@bp.get("/outbox/saved")
@public
def outbox_saved():
    """ "Saved on this phone", in both languages and with nothing of any user's: the service
    worker shows it after keeping a form when the unsent page is not on the phone yet."""
    response = Response(render_template("pwa/saved.html"))
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/outbox/token")
def outbox_token():
    """A fresh CSRF token and the signed-in user, for the outbox to resend with (401 when
    signed out: the items wait for the sign-in)."""
    response = jsonify(csrf_token=generate_csrf(), user=current_user.id)
    response.headers["Cache-Control"] = "no-store"
    return response
