"""/metrics in Prometheus's text format, with prometheus_client (the project's own client).

Requests are counted and timed by the request-log middleware (app/request_log.py), which
already sees every response's endpoint, status and duration: by endpoint (the Flask endpoint
name, never the path, which may carry a QR token), method and status. The rest is read from
the database at scrape time (two statements): each job's last start and finish and whether it
succeeded, the outboxes' backlog and the audit chain's length.

Several gunicorn workers: each process counts its own requests. Set PROMETHEUS_MULTIPROC_DIR
to an empty folder (emptied at every start) before the workers start, and every worker writes
its counts there and any of them answers /metrics with the sum (prometheus_client's
multiprocess mode). Without it a scrape sees only the worker that answered it.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from app.ops import health

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

#: Not in prometheus_client's global registry: each scrape builds its own (below).
REQUESTS = Counter(
    "guardpost_http_requests",
    "HTTP requests answered, by Flask endpoint, method and status.",
    ["endpoint", "method", "status"],
    registry=None,
)
LATENCY = Histogram(
    "guardpost_http_request_duration_seconds",
    "Time to build the response (the body of a streamed file excepted), by endpoint and method.",
    ["endpoint", "method"],
    registry=None,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def observe_request(endpoint: str | None, method: str, status: int, seconds: float) -> None:
    """Called by the request-log middleware once per response."""
    # Static files are answered before Flask, an unknown path has no rule: no endpoint.
    name = endpoint or "none"
    REQUESTS.labels(name, method, str(status)).inc()
    LATENCY.labels(name, method).observe(seconds)


class _DatabaseCollector:
    """The state read from the database for this scrape, as gauges."""

    def __init__(self, state: health.Health, jobs) -> None:
        self.state = state
        self.jobs = jobs

    def collect(self):
        state = self.state
        started = GaugeMetricFamily(
            "guardpost_job_last_started_timestamp_seconds",
            "When each job's last run started (Unix time).",
            labels=["job"],
        )
        finished = GaugeMetricFamily(
            "guardpost_job_last_finished_timestamp_seconds",
            "When each job's last run finished (Unix time).",
            labels=["job"],
        )
        succeeded = GaugeMetricFamily(
            "guardpost_job_last_run_ok",
            "1 when each job's last run succeeded, 0 when it failed.",
            labels=["job"],
        )
        for job in self.jobs:
            if job.last_started_at is not None:
                started.add_metric([job.name], job.last_started_at.timestamp())
            if job.last_finished_at is not None:
                finished.add_metric([job.name], job.last_finished_at.timestamp())
                succeeded.add_metric([job.name], 0.0 if job.last_error else 1.0)
        yield started
        yield finished
        yield succeeded
        yield GaugeMetricFamily(
            "guardpost_jobs_runner_last_run_timestamp_seconds",
            "The newest start of any job (Unix time; 0: never). A live runner starts one "
            "every minute.",
            value=state.jobs_last_run.timestamp() if state.jobs_last_run else 0.0,
        )
        yield GaugeMetricFamily(
            "guardpost_jobs_runner_stale",
            f"1 when no job has started for {int(health.STALE_AFTER.total_seconds() // 60)} "
            "minutes.",
            value=1.0 if state.jobs_stale else 0.0,
        )
        backlog = GaugeMetricFamily(
            "guardpost_outbox_unsent",
            "Messages still to be sent, by channel (mail, push; absent when it is off).",
            labels=["channel"],
        )
        oldest = GaugeMetricFamily(
            "guardpost_outbox_oldest_unsent_age_seconds",
            "Age of the oldest message still to be sent, by channel (0: none).",
            labels=["channel"],
        )
        for channel, box in (("mail", state.mail), ("push", state.push)):
            if box.enabled:
                backlog.add_metric([channel], box.unsent)
                oldest.add_metric([channel], box.oldest_seconds(state.now) or 0)
        yield backlog
        yield oldest
        yield GaugeMetricFamily(
            "guardpost_audit_chain_length",
            "Events in the audit chain (its newest sequence number).",
            value=state.audit_events,
        )


def exposition() -> bytes:
    """The text a scrape gets."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(_DatabaseCollector(health.read(), health.job_states()))
    return generate_latest(registry)
