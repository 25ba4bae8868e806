"""Browser security: headers, cookies, CSRF, trusted hosts, error pages that leak nothing."""

from __future__ import annotations

import re

import pytest

from tests.conftest import make_app

HTML_PAGES = ["/login", "/offline", "/nope-not-here"]


@pytest.mark.parametrize("path", HTML_PAGES)
def test_every_html_response_carries_the_security_headers(client, path):
    response = client.get(path)
    csp = response.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]+)", csp).group(1)
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


def test_csp_script_src_names_the_exact_cdn_files_not_the_whole_host(app, client):
    from urllib.parse import urlsplit

    from app.templating import vendor

    cdn_files = {lib["cdn"] for lib in vendor().values()}
    page = client.get("/login")
    csp = page.headers["Content-Security-Policy"]
    sources = re.search(r"script-src ([^;]+)", csp).group(1).split()
    assert set(sources) == {"'self'", *cdn_files}
    for source in sources[1:]:
        path = urlsplit(source).path
        assert source.startswith("https://") and path.endswith(".js") and path.count("/") >= 3
    # Every script the page loads from elsewhere is one of those files (the fallback is 'self').
    loaded = re.findall(r'<script src="(https?://[^"]+)"', page.text)
    assert loaded and set(loaded) <= cdn_files


def test_hsts_over_https(client):
    response = client.get("/login", base_url="https://localhost")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_authenticated_pages_are_never_stored_and_vary_on_htmx(client, make_user, login):
    login(make_user("admin"))
    for path in ("/", "/account", "/admin/users"):
        response = client.get(path)
        assert response.headers["Cache-Control"] == "no-store"
        assert "HX-Request" in response.headers["Vary"]


def test_versioned_static_files_are_cacheable(client):
    response = client.get("/static/css/app.css?v=1")
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert "Set-Cookie" not in response.headers  # tests/test_static.py has the rest


def set_cookie(response, name: str) -> str:
    return next(c for c in response.headers.getlist("Set-Cookie") if c.startswith(f"{name}="))


def test_session_cookie_is_httponly_and_lax(client, make_user, login):
    response = login(make_user())
    cookie = set_cookie(response, "guardpost")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.parametrize("app_config", [{"SECURE_COOKIES": True}])
def test_production_cookie_is_secure_with_host_prefix(client, make_user, login, app_config):
    response = login(make_user())
    for name in ("__Host-guardpost", "__Host-guardpost-device"):  # the session; the device
        cookie = set_cookie(response, name)
        assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
        assert "HttpOnly" in cookie


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_state_changes_need_a_csrf_token(client, make_user, app_config):
    user = make_user()
    refused = client.post(
        "/login?lang=en", data={"username": user.username, "password": "correct-horse-battery"}
    )
    assert refused.status_code == 400
    assert "The form has expired" in refused.text
    page = client.get("/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
    ok = client.post(
        "/login",
        data={"username": user.username, "password": "correct-horse-battery", "csrf_token": token},
    )
    assert ok.status_code == 303
    # The login started a new session, so the page after it carries a new token for htmx.
    home = client.get("/").text
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)"', home).group(1)
    assert client.post("/logout").status_code == 400
    assert client.post("/logout", headers={"X-CSRFToken": meta}).status_code == 303


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["guardpost.example"]}])
def test_untrusted_host_is_refused(client, app_config):
    assert client.get("/healthz", base_url="http://evil.example").status_code == 400
    assert client.get("/healthz", base_url="http://guardpost.example").status_code == 200


def test_error_pages_are_generic_and_leak_nothing(app, client, make_user, login):
    @app.get("/boom-for-test")
    def boom():
        raise RuntimeError("database password is hunter2")

    boom.is_public = True
    response = client.get("/boom-for-test?lang=en")
    assert response.status_code == 500
    assert "hunter2" not in response.text and "Traceback" not in response.text
    assert "Something went wrong" in response.text
    fragment = client.get("/boom-for-test?lang=en", headers={"HX-Request": "true"})
    assert fragment.status_code == 500
    assert "<html" not in fragment.text and "Something went wrong" in fragment.text


def test_404_page_and_fragment(client, make_user, login):
    login(make_user())
    page = client.get("/no/such/page?lang=en")
    assert page.status_code == 404 and "<html" in page.text and "Not found" in page.text
    fragment = client.get("/no/such/page?lang=en", headers={"HX-Request": "true"})
    assert fragment.status_code == 404 and "<html" not in fragment.text


def test_403_page_for_a_role_without_access(client, make_user, login):
    login(make_user("guard"))
    response = client.get("/admin/users?lang=en")
    assert response.status_code == 403 and "Not allowed" in response.text


def test_user_text_is_inert_where_shown(client, make_user, login):
    evil = '<script>alert(1)</script><img src=x onerror=alert(2)> hx-get="/logout"'
    make_user("guard", display_name=evil)
    login(make_user("admin"))
    page = client.get("/admin/users").text
    assert "<script>alert(1)" not in page and "<img src=x" not in page
    assert "&lt;script&gt;" in page


def test_proxy_fix_trusts_the_forwarded_scheme_only_when_configured(tmp_path, database_url):
    plain = make_app(tmp_path / "a", database_url)
    proxied = make_app(tmp_path / "b", database_url, PROXY_FIX=1)
    headers = {"X-Forwarded-Proto": "https"}
    assert (
        "Strict-Transport-Security"
        not in plain.test_client().get("/login", headers=headers).headers
    )
    assert (
        "Strict-Transport-Security" in proxied.test_client().get("/login", headers=headers).headers
    )
