"""The load, chaos and speed harnesses (bench/) run for a moment against the small demo on
SQLite, so their code cannot rot unnoticed: each starts its real gunicorn, signs in, works and
prints its report. The figures are not judged here (bench/README.md has them).

Only with BENCH_SMOKE=1: five gunicorn starts, a migration and the demo take a minute or more
of wall time (almost four on a busy 2-core machine), too long for every `make test`."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(
    not os.environ.get("BENCH_SMOKE"), reason="the bench harnesses' smoke test: BENCH_SMOKE=1"
)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """A migrated SQLite database with `flask demo`, and the environment to run against it."""
    folder = tmp_path_factory.mktemp("bench")
    url = f"sqlite:///{folder / 'demo.db'}"
    env = dict(os.environ, DATABASE_URL=url, UPLOAD_DIR=str(folder / "uploads"))
    flask = [sys.executable, "-m", "flask", "--app", "app"]
    for command in (["db", "upgrade"], ["demo"]):
        subprocess.run([*flask, *command], cwd=ROOT, env=env, check=True, capture_output=True)
    return url, env


def harness(demo, script: str, *args: str) -> str:
    url, env = demo
    command = [sys.executable, f"bench/{script}", "--db", "sqlite", "--sqlite-url", url]
    done = subprocess.run(
        [*command, "--no-load", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_load_runs_every_role_without_errors(demo):
    out = harness(
        demo,
        "load.py",
        "--users",
        "10",
        "--think",
        "0.2",
        "--duration",
        "3",
        "--warmup",
        "0.5",
        "--steps",
        "2",
        "--step-duration",
        "1",
    )
    total = re.search(r"\| \*\*all\*\* \| (\d+) \|", out)
    assert total and int(total.group(1)) > 0, out
    # A request the harness gets wrong is answered with a status; a machine too busy to
    # answer in time (a timeout) is not the harness's fault.
    for line in out.splitlines():
        cells = line.split("|")
        if len(cells) == 9 and ": " in cells[-2]:  # a step's row with errors
            assert all("Timeout" in e for e in cells[-2].split(",")), line
    for step in ("answer", "guard check-in", "dashboard"):
        assert f"| {step} |" in out
    assert "capacity (no pauses" in out


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server")
def test_chaos_keeps_every_answered_submission(demo):
    out = harness(demo, "chaos.py", "--users", "6", "--think", "0.1", "--duration", "6")
    assert "**FAIL**" not in out
    assert out.count("| pass |") == 6, out
    assert "kill -9 of gunicorn" in out


def test_speed_reports_ratios_and_weight(demo):
    out = harness(demo, "speed.py", "--duration", "0.5", "--warmup", "0", "--rounds", "1")
    assert "| signed-in floor |" in out
    assert "Inspection page weight" in out
