"""What the gunicorn harnesses share (bench/workers.py, load.py, chaos.py, speed.py).

A real `gunicorn 'app:create_app()'` on a free loopback port against a database (DATABASE_URL),
waited for at /healthz and stopped gracefully (or killed, for chaos); signed-in clients, one
session each (a blocking one for threads, an asyncio one for many virtual users); CPU figures
from /proc; the database arguments every harness takes; the year-scale data (bench/pages.py).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.demo import DEMO_PASSWORD as PASSWORD  # noqa: E402

DEFAULT_SQLITE = f"sqlite:///{ROOT / 'instance' / 'bench-large.db'}"
DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/h_bench_large"

#: name -> gunicorn arguments (bench/workers.py measures them against each other).
MODELS = {
    "sync-2": ["--worker-class", "sync", "--workers", "2"],
    "sync-4": ["--worker-class", "sync", "--workers", "4"],
    "gthread-1x4": ["--worker-class", "gthread", "--workers", "1", "--threads", "4"],
    "gthread-2x4": ["--worker-class", "gthread", "--workers", "2", "--threads", "4"],
}
#: The model the load, chaos and speed harnesses run: the best of bench/workers.py on both
#: databases (README, "Worker model results"), and the deployment's recipe.
DEFAULT_MODEL = "gthread-2x4"

#: The collection notice staff acknowledge at their first sign-in (app/privacy).
NOTICE = "/privacy/notice"
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
KINDS = {"sqlite": ["SQLite"], "postgres": ["PostgreSQL"], "both": ["SQLite", "PostgreSQL"]}


def add_database_args(parser: argparse.ArgumentParser) -> None:
    """--db, --sqlite-url and --postgres-url, as every harness takes them."""
    parser.add_argument("--db", choices=tuple(KINDS), default="sqlite")
    parser.add_argument("--sqlite-url", default=DEFAULT_SQLITE)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES)
    )


def add_harness_args(parser: argparse.ArgumentParser) -> None:
    """What load, chaos and speed all take: the databases, the worker model, --no-load."""
    add_database_args(parser)
    parser.add_argument("--model", choices=list(MODELS), default=DEFAULT_MODEL)
    parser.add_argument("--no-load", action="store_true", help="do not load the year if missing")


def databases(args) -> list[tuple[str, str]]:
    """[(label, url)] of the databases chosen by --db."""
    urls = {"SQLite": args.sqlite_url, "PostgreSQL": args.postgres_url}
    return [(kind, urls[kind]) for kind in KINDS[args.db]]


def ensure_year(url: str, factor: float = 1.0) -> None:
    """Migrate and load the year-scale demo into this database when it lacks it."""
    from pages import ensure_data, make_app

    ensure_data(make_app(url), factor)


def machine() -> str:
    """Cores, memory and load average: to print with every figure."""
    with open("/proc/meminfo") as fh:
        total_kb = int(fh.readline().split()[1])
    one, five, _ = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, {total_kb / 1024**2:.1f} GiB, "
        f"load average {one:.1f} (5 min {five:.1f})"
    )


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0-100) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    with open("/proc/stat") as fh:
        fields = [int(v) for v in fh.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants, from /proc."""
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as fh:
                    todo += [int(child) for child in fh.read().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def start_gunicorn(
    model: str, url: str, port: int, log, env: dict[str, str] | None = None
) -> subprocess.Popen:
    """gunicorn in a process group of its own (so chaos can kill master and workers at once)."""
    environment = dict(os.environ, DATABASE_URL=url, **(env or {}))
    command = [sys.executable, "-m", "gunicorn", *MODELS[model]]
    command += ["--bind", f"127.0.0.1:{port}", "--graceful-timeout", "10", "app:create_app()"]
    return subprocess.Popen(  # noqa: S603
        command, cwd=ROOT, env=environment, stdout=log, stderr=log, start_new_session=True
    )


def wait_healthy(proc: subprocess.Popen, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"gunicorn exited ({proc.returncode})")
        try:
            status, _ = Client(port).request("GET", "/healthz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer /healthz in time")


def stop_gunicorn(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # graceful: workers finish their request
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def kill_gunicorn(proc: subprocess.Popen) -> None:
    """kill -9 of the master and its workers (its own process group), no goodbye."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


class Client:
    """One signed-in user for threads: its own cookies, a fresh connection per request.

    `Connection: close` on every request, as nginx talks to its upstream by default (and
    sync workers close anyway), so no worker model gains from keep-alive here.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}

    def request(
        self, method: str, path: str, body: str | None = None, extra: dict | None = None
    ) -> tuple[int, bytes]:
        """(status, body as sent: not decompressed)."""
        headers = {"Connection": "close", "Accept-Language": "zh-TW", **(extra or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            self.headers = response.headers  # the last answer's, for callers that need them
            for header in response.headers.get_all("Set-Cookie") or ():
                for name, morsel in SimpleCookie(header).items():
                    if morsel["max-age"] == "0" or morsel.value == "":
                        self.cookies.pop(name, None)
                    else:
                        self.cookies[name] = morsel.value
            return response.status, data
        finally:
            conn.close()

    def login(self, username: str) -> None:
        status, page = self.request("GET", "/login")
        found = _CSRF.search(page.decode())
        if status != 200 or not found:
            raise SystemExit(f"no login form ({status})")
        form = {"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
        status, _ = self.request("POST", "/login", urlencode(form))
        if status != 303:
            raise SystemExit(f"login as {username} failed ({status})")
        status, _ = self.request("GET", "/")
        if status in (302, 303) and NOTICE in self.headers.get("Location", ""):
            # Staff read the collection notice once, at their first sign-in.
            body = urlencode({"csrf_token": found.group(1), "next": ""})
            status, _ = self.request("POST", NOTICE, body)
            if status != 303:
                raise SystemExit(f"{username}: notice not acknowledged ({status})")


class Step:
    """Latencies (ms) of one kind of request, and what went wrong with it."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.errors: dict[str, int] = {}
        #: Why requests were sent again (a status, or the transport error's name).
        self.retried: dict[str, int] = {}

    def error(self, what: str) -> None:
        self.errors[what] = self.errors.get(what, 0) + 1

    @property
    def retries(self) -> int:
        return sum(self.retried.values())


class AsyncUser:
    """A virtual user on asyncio + httpx: its own cookie jar, the outbox's way of sending.

    Writes go as the offline outbox sends them (static/js/outbox-core.js): `Accept:
    application/json`, the device uuid in `X-Object-UUID`, the CSRF token in `X-CSRFToken`.
    With `retry`, a request that got no answer or a 5xx is sent again, the same uuid and body,
    until `retry` seconds have passed: what the outbox does when the network or server fails.
    """

    def __init__(self, base: str, username: str, *, retry: float = 0.0, timeout: float = 30.0):
        import httpx

        self.httpx = httpx
        self.username = username
        self.retry = retry
        self.client = httpx.AsyncClient(
            base_url=base,
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept-Language": "zh-TW", "Connection": "close"},
            limits=httpx.Limits(max_keepalive_connections=0),
        )
        self.token = ""
        #: Every answer's body that mentions a locked database (must stay empty).
        self.locked: list[str] = []

    async def close(self) -> None:
        await self.client.aclose()

    async def login(self) -> None:
        page = await self.client.get("/login")
        found = _CSRF.search(page.text)
        if page.status_code != 200 or not found:
            raise RuntimeError(f"no login form ({page.status_code})")
        form = {"username": self.username, "password": PASSWORD, "csrf_token": found.group(1)}
        answer = await self.client.post("/login", data=form)
        if answer.status_code != 303:
            raise RuntimeError(f"login as {self.username} failed ({answer.status_code})")
        token = await self.client.get("/outbox/token", headers={"Accept": "application/json"})
        self.token = token.json()["csrf_token"]
        home = await self.client.get("/")
        if home.is_redirect and NOTICE in home.headers.get("location", ""):
            # Staff read the collection notice once, at their first sign-in.
            done = await self.client.post(NOTICE, data={"csrf_token": self.token, "next": ""})
            if done.status_code != 303:
                raise RuntimeError(f"{self.username}: notice not acknowledged ({done.status_code})")

    async def wrong_password(self) -> int:
        """A sign-in with a wrong password: the status of the answer (200, the form again)."""
        page = await self.client.get("/login")
        found = _CSRF.search(page.text)
        form = {
            "username": self.username,
            "password": "not-the-password",
            "csrf_token": found.group(1) if found else "",
        }
        return (await self.client.post("/login", data=form)).status_code

    async def send(
        self,
        step: Step,
        method: str,
        path: str,
        *,
        key: str | None = None,
        data: dict | None = None,
        files: dict | None = None,
        ok: tuple[int, ...] = (200, 303),
    ):
        """One request, timed into `step`; retried like the outbox when `retry` is set.

        Returns the response that ended it (None when none came). The latency recorded is
        that of the last attempt; each retry is counted."""
        headers = {}
        if method == "POST":
            headers = {"Accept": "application/json", "X-CSRFToken": self.token}
            if key:
                headers["X-Object-UUID"] = key
        deadline = time.monotonic() + self.retry
        while True:
            began = time.perf_counter()
            try:
                response = await self.client.request(
                    method, path, headers=headers, data=data, files=files
                )
            except self.httpx.TransportError as exc:
                response, failure = None, type(exc).__name__
            else:
                failure = None if response.status_code in ok else str(response.status_code)
                if failure and response.is_redirect:
                    failure += " to " + response.headers.get("location", "?").split("?")[0]
                if b"database is locked" in response.content:
                    self.locked.append(path)
            if failure is None:
                step.latencies.append((time.perf_counter() - began) * 1000)
                return response
            retryable = response is None or response.status_code >= 500
            if not retryable or time.monotonic() >= deadline:
                step.error(failure)
                return response
            step.retried[failure] = step.retried.get(failure, 0) + 1
            await asyncio.sleep(0.5)


#: The server's settings for every harness: managers sign in with a password only (a second
#: factor is one more step of the sign-in, which is not measured; config.py: "a test rig").
SERVER_ENV = {"SECOND_FACTOR_ROLES": ""}


class Server:
    """gunicorn of the chosen model against one database, for a `with` block."""

    def __init__(self, url: str, model: str, env: dict | None = None) -> None:
        self.url, self.model, self.env = url, model, {**SERVER_ENV, **(env or {})}
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in __exit__)
        self.proc = None

    def start(self) -> None:
        self.proc = start_gunicorn(self.model, self.url, self.port, self.log, self.env)
        wait_healthy(self.proc, self.port)

    def log_text(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def __enter__(self) -> Server:
        try:
            self.start()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            stop_gunicorn(self.proc)
        if exc and exc[0] is not None:
            sys.stderr.write(self.log_text()[-3000:])
        self.log.close()
