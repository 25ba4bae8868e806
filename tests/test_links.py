"""Links that leave the app: BASE_URL, else a trusted host, else none (never the Host sent)."""

from __future__ import annotations

import pytest

from app import links


def test_no_public_address_by_default_whatever_host_the_request_carries(app):
    with app.test_request_context("/", base_url="http://evil.example"):
        assert links.public_base_url() is None
        assert links.public_url("/s/x") is None


def test_base_url_wins(app):
    app.config["BASE_URL"] = "https://guardpost.example/"
    with app.test_request_context("/", base_url="http://evil.example"):
        assert links.public_url("/alarms/1") == "https://guardpost.example/alarms/1"
    assert links.public_base_url() == "https://guardpost.example"  # the jobs runner too


@pytest.mark.parametrize("app_config", [{"TRUSTED_HOSTS": ["guardpost.example", ".corp.tw"]}])
def test_a_trusted_host_is_used_and_nothing_else(app, app_config):
    with app.test_request_context("/", base_url="https://guardpost.example"):
        assert links.public_base_url() == "https://guardpost.example"
    with app.test_request_context("/", base_url="http://gp.corp.tw:8000"):
        assert links.public_base_url() == "http://gp.corp.tw:8000"
    assert links.public_base_url() is None  # no request: no host to trust
    # (a request for any other host is refused with 400 before a view runs: test_security)
