"""Manifest, service worker and offline page."""

from __future__ import annotations

import re


def test_manifest_is_installable(client):
    response = client.get("/manifest.webmanifest")
    assert response.mimetype == "application/manifest+json"
    manifest = response.json
    assert manifest["name"].startswith("Guardpost") and "保全" in manifest["name"]
    assert manifest["display"] == "standalone"
    assert manifest["start_url"].startswith("/")
    assert manifest["theme_color"].startswith("#")
    sizes = {(icon["sizes"], icon.get("purpose", "any")) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        assert client.get(icon["src"]).status_code == 200


def test_service_worker_is_served_at_root_scope_and_precaches_only_the_shell(client):
    response = client.get("/sw.js")
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/"
    assert response.headers["Cache-Control"] == "no-cache"
    shell = re.search(r"const SHELL = (\[.*?\]);", response.text).group(1)
    urls = re.findall(r'"([^"]+)"', shell)
    assert "/offline" in urls and "/outbox/saved" in urls
    static = [u for u in urls if u not in ("/offline", "/outbox/saved")]
    assert static and all(u.startswith("/static/") and "?v=" in u for u in static)
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_service_worker_version_changes_with_the_shell(app, client, tmp_path):
    import shutil

    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)  # a copy: the test never touches the checkout
    first = re.search(r"guardpost-shell-(\w+)", client.get("/sw.js").text).group(1)
    with (static / "css" / "app.css").open("a", encoding="utf-8") as fh:
        fh.write("\n/* changed */\n")
    second = re.search(r"guardpost-shell-(\w+)", client.get("/sw.js").text).group(1)
    assert first != second


def test_offline_page_holds_nothing_personal(client, make_user, login):
    login(make_user("supervisor", display_name="林督導"))
    page = client.get("/offline").text
    assert "林督導" not in page
    assert "csrf" not in page.lower()
    assert "You are offline" in page and "網路" in page


def test_every_page_registers_the_service_worker(client):
    page = client.get("/login").text
    assert 'data-sw="/sw.js"' in page
    assert '<link rel="manifest" href="/manifest.webmanifest?locale=zh-Hant-TW">' in page


def test_manifest_speaks_english_when_asked(client):
    manifest = client.get("/manifest.webmanifest?locale=en").json
    assert manifest["lang"] == "en" and manifest["dir"] == "ltr"
    assert "保全" not in manifest["name"] and "Guardpost" in manifest["name"]
    assert "保全" not in manifest["description"] and "security" in manifest["description"]
    assert manifest["short_name"] == "Guardpost"
    assert manifest["id"] == "/"  # one installed app whatever its language


def test_manifest_speaks_chinese_when_asked(client):
    manifest = client.get("/manifest.webmanifest?locale=zh-TW").json
    assert manifest["lang"] == "zh-Hant-TW" and manifest["dir"] == "ltr"
    assert "保全" in manifest["name"] and "保全" in manifest["description"]
    assert manifest["id"] == "/"


def test_manifest_without_a_locale_follows_the_user_and_varies(client, make_user, login):
    response = client.get("/manifest.webmanifest", headers={"Accept-Language": "en-US,en"})
    assert response.json["lang"] == "en"
    vary = {v.strip() for v in response.headers.get("Vary", "").split(",")}
    assert {"Accept-Language", "Cookie"} <= vary
    login(make_user("guard", locale="zh_Hant_TW"))
    chinese = client.get("/manifest.webmanifest", headers={"Accept-Language": "en-US,en"})
    assert chinese.json["lang"] == "zh-Hant-TW"


def test_the_manifest_link_names_the_page_language(client):
    english = client.get("/login?lang=en").text
    assert '<link rel="manifest" href="/manifest.webmanifest?locale=en">' in english
    chinese = client.get("/login?lang=zh-TW").text
    assert '<link rel="manifest" href="/manifest.webmanifest?locale=zh-Hant-TW">' in chinese


def test_fetching_the_manifest_writes_no_cookie(client):
    client.get("/login")
    response = client.get("/manifest.webmanifest?locale=en")
    assert "Set-Cookie" not in response.headers


def test_offline_retry_reloads_the_address_it_stands_in_for(client):
    """The service worker serves this page as the answer to the failed navigation, so an empty
    href reloads the page that failed (tests/e2e/test_offline.py drives it in Chromium)."""
    page = client.get("/offline").text
    retry = re.search(r'<a class="button" href="([^"]*)">重試 · Try again</a>', page)
    assert retry is not None and retry.group(1) == ""
    sw = client.get("/sw.js").text
    assert "? SAVED_URL : OFFLINE_URL" in sw and "caches.match(fallback)" in sw
