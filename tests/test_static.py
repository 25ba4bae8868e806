"""Static delivery: compressed, immutable when versioned, and never touching session or database."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import brotli
import pytest

from app.static_files import IMMUTABLE, REVALIDATE, StaticFiles, content_version
from app.templating import static_url
from tests.querycount import count_queries

STATIC = Path(__file__).resolve().parent.parent / "static"
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}


def versioned(app, filename: str) -> str:
    with app.test_request_context():
        return static_url(filename)


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_a_static_file_is_compressed_when_the_browser_asks(app, client, encoding):
    url = versioned(app, "css/app.css")
    original = (STATIC / "css" / "app.css").read_bytes()
    response = client.get(url, headers={"Accept-Encoding": encoding})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in response.headers["Vary"]
    assert len(response.data) < len(original) / 2
    assert DECODE[encoding](response.data) == original
    assert response.mimetype == "text/css"


def test_a_static_file_is_sent_plain_to_a_browser_that_does_not_ask(app, client):
    url = versioned(app, "js/app.js")
    response = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in response.headers
    assert response.data == (STATIC / "js" / "app.js").read_bytes()


@pytest.mark.parametrize("encoding", ["gzip", "br"])
def test_html_pages_and_fragments_are_compressed_when_the_browser_asks(
    client, make_user, login, encoding
):
    page = client.get("/login?lang=en", headers={"Accept-Encoding": encoding})
    assert page.headers["Content-Encoding"] == encoding
    assert "Accept-Encoding" in page.headers["Vary"]
    assert "<html" in DECODE[encoding](page.data).decode()
    login(make_user("admin"))
    home = client.get("/admin/users", headers={"Accept-Encoding": encoding})
    assert home.status_code == 200 and home.headers["Content-Encoding"] == encoding
    assert "Guardpost" in DECODE[encoding](home.data).decode()
    plain = client.get("/admin/users", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and "Guardpost" in plain.text


def test_versioned_static_urls_are_immutable_and_others_revalidate(app, client):
    url = versioned(app, "css/app.css")
    version = re.search(r"\?v=(\w+)$", url).group(1)
    assert version == content_version((STATIC / "css" / "app.css").read_bytes())
    cached = client.get(url)
    assert cached.headers["Cache-Control"] == IMMUTABLE
    assert "immutable" in cached.headers["Cache-Control"]
    assert "max-age=31536000" in cached.headers["Cache-Control"]
    # No version, or one that is not this content's: the browser must ask again.
    for other in ("/static/css/app.css", "/static/css/app.css?v=0123456789"):
        response = client.get(other)
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == REVALIDATE, other
    again = client.get(url, headers={"If-None-Match": cached.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == IMMUTABLE


def test_every_file_the_service_worker_precaches_is_immutable(client):
    sw = client.get("/sw.js").text
    shell = re.findall(r'"([^"]+)"', re.search(r"const SHELL = (\[.*?\]);", sw).group(1))
    static = [url for url in shell if url.startswith("/static/")]
    assert len(static) >= 5
    for url in static:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == IMMUTABLE, url


def test_static_responses_set_no_cookie_do_not_vary_on_it_and_run_no_sql(
    app, client, make_user, login
):
    login(make_user("supervisor"))
    url = versioned(app, "css/app.css")
    with count_queries() as page_sql:
        page = client.get("/account")
    # A page of the same signed-in user does load the session row: the counter is live.
    assert page.status_code == 200 and page_sql() > 0
    assert "Cookie" in page.headers["Vary"]
    for path in (url, "/static/css/app.css", "/static/no-such-file.css"):
        with count_queries() as static_sql:
            response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert static_sql() == 0, path
        assert "Set-Cookie" not in response.headers, path
        assert "Cookie" not in response.headers.get("Vary", ""), path
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get("/static/no-such-file.css").status_code == 404


def test_static_files_accept_only_get_and_head(app, client):
    url = versioned(app, "js/app.js")
    head = client.head(url)
    assert head.status_code == 200 and head.data == b""
    assert client.post(url).status_code == 405


# ---------------------------------------------------------------- the layer on its own


def _downstream_app(calls):
    def application(environ, start_response):
        calls.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"from the app"]

    return application


def test_an_edited_file_is_served_at_once_with_its_new_version(tmp_path):
    from werkzeug.test import Client

    root = tmp_path / "static"
    root.mkdir()
    (root / "site.css").write_text("body { color: red; }\n" * 100)
    calls: list[str] = []
    layer = StaticFiles(_downstream_app(calls), str(root), "/static", tmp_path / "cache")
    client = Client(layer)
    first = client.get("/static/site.css", headers={"Accept-Encoding": "gzip"})
    old_version = content_version((root / "site.css").read_bytes())
    (root / "site.css").write_text("body { color: blue; } /* longer now */\n" * 100)
    new_version = content_version((root / "site.css").read_bytes())
    second = client.get(f"/static/site.css?v={new_version}", headers={"Accept-Encoding": "gzip"})
    assert gzip.decompress(first.data).startswith(b"body { color: red; }")
    assert gzip.decompress(second.data).startswith(b"body { color: blue; }")
    assert second.headers["Cache-Control"] == IMMUTABLE
    stale = client.get(f"/static/site.css?v={old_version}")
    assert stale.headers["Cache-Control"] == REVALIDATE  # the old URL never pins new bytes
    assert first.headers["ETag"] != second.headers["ETag"]
    # Compressed copies are kept by content hash, outside the static folder.
    assert not list(root.glob("*.gz")) and len(list((tmp_path / "cache").glob("*.gz"))) == 2
    assert calls == []


def test_nothing_outside_the_folder_is_served_and_other_paths_reach_the_app(tmp_path):
    from werkzeug.test import Client

    root = tmp_path / "static"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("not public")
    calls: list[str] = []
    client = Client(StaticFiles(_downstream_app(calls), str(root), "/static", tmp_path / "c"))
    for path in ("/static/../secret.txt", "/static/%2e%2e/secret.txt", "/static/", "/static/x"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert b"not public" not in response.data
    assert calls == []
    assert client.get("/login").data == b"from the app" and calls == ["/login"]
