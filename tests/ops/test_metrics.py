"""/metrics: Prometheus's text format, to the METRICS_TOKEN bearer or this machine only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.db import utcnow
from app.extensions import db
from app.jobs.models import JobState
from tests.querycount import count_queries

OUTSIDE = {"REMOTE_ADDR": "203.0.113.7"}


def _samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_from_this_machine(app, client):
    now = utcnow()
    db.session.add(
        JobState(
            name="late_alarms",
            next_run_at=now,
            last_started_at=now - timedelta(seconds=30),
            last_finished_at=now - timedelta(seconds=29),
            last_error="",
        )
    )
    db.session.commit()
    client.get("/healthz")
    client.get("/login")

    with count_queries() as count:
        response = client.get("/metrics")

    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"
    assert count() == 2, count.statements
    samples = _samples(response.text)
    healthz = (
        "guardpost_http_requests_total",
        (("endpoint", "ops.healthz"), ("method", "GET"), ("status", "200")),
    )
    assert samples[healthz] >= 1
    login = (("endpoint", "auth.login"), ("le", "+Inf"), ("method", "GET"))
    assert samples[("guardpost_http_request_duration_seconds_bucket", login)] >= 1
    assert samples[("guardpost_job_last_run_ok", (("job", "late_alarms"),))] == 1
    assert samples[("guardpost_jobs_runner_stale", ())] == 0
    assert samples[("guardpost_outbox_unsent", (("channel", "push"),))] == 0
    assert ("guardpost_outbox_unsent", (("channel", "mail"),)) not in samples, "mail is off"
    assert samples[("guardpost_audit_chain_length", ())] >= 0
    assert "/login" not in response.text, "endpoints, never paths"


def test_metrics_are_404_from_elsewhere(app, client):
    assert client.get("/metrics", environ_overrides=OUTSIDE).status_code == 404
    app.config["METRICS_TOKEN"] = "scrape-token-0123456789"
    assert client.get("/metrics", environ_overrides=OUTSIDE).status_code == 404
    wrong = {"Authorization": "Bearer scrape-token-wrong"}
    assert client.get("/metrics", environ_overrides=OUTSIDE, headers=wrong).status_code == 404


def test_metrics_with_the_token_from_anywhere(app, client):
    app.config["METRICS_TOKEN"] = "scrape-token-0123456789"
    right = {"Authorization": "Bearer scrape-token-0123456789"}
    response = client.get("/metrics", environ_overrides=OUTSIDE, headers=right)
    assert response.status_code == 200 and "guardpost_audit_chain_length" in response.text
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("header", ["X-Forwarded-For", "Forwarded", "X-Real-IP"])
def test_a_request_through_the_proxy_on_this_machine_is_not_this_machines(client, header):
    """nginx on the same host connects from 127.0.0.1 too: its forwarded header gives it away."""
    assert client.get("/metrics", headers={header: "203.0.113.7"}).status_code == 404


def test_a_signed_in_user_from_elsewhere_gets_404(make_user, login, client):
    login(make_user("admin"))
    assert client.get("/metrics", environ_overrides=OUTSIDE).status_code == 404
