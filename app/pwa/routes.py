"""/manifest.webmanifest, /sw.js (root scope) and /offline."""

from __future__ import annotations

import hashlib
import json

from flask import Blueprint, Response, render_template, request, url_for
from flask_babel import force_locale
from flask_babel import gettext as _

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
    "icons/icon-192.png",
    "icons/icon-512.png",
    "icons/icon-maskable-512.png",
]


def shell_urls() -> list[str]:
    return [static_url(name) for name in SHELL_FILES] + [static_url(vendor()["htmx"]["local"])]


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
    urls = [*shell_urls(), url_for("pwa.offline")]
    version = hashlib.sha256("\n".join(urls).encode()).hexdigest()[:12]
    body = render_template(
        "pwa/sw.js", version=version, urls=urls, offline_url=url_for("pwa.offline")
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
