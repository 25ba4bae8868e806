"""The production recipe, run for real (issue 15 item 6).

    .venv/bin/pytest deploy/test_recipe.py       # .ci/run does it after the PostgreSQL pass

Follows README's "Deploying on PostgreSQL with gunicorn" on this machine: Debian's nginx
(installed with apt-get when missing and run as root) terminates HTTPS with a self-signed
certificate made by README's openssl command, in front of gunicorn started with README's
command line; README's settings file (only the machine-specific values swapped, each named
in SWAPS), README's key generator, `db upgrade` and the jobs runner as README gives them;
PostgreSQL (a fresh database, dropped afterwards) and Redis for the sign-in throttling. The
site file is README's nginx block, which must equal deploy/nginx-guardpost.conf; only its
ports, host name, certificate and log paths are swapped, and it is included by a copy of
Debian's /etc/nginx/nginx.conf with its pid and log paths moved into a temporary folder, so
a system nginx is never touched. Everything listens on loopback ports picked free.

A client (the standard library's HTTPS, trusting only the test's certificate) connects from
127.0.0.2, so the address nginx sees differs from the one gunicorn sees (127.0.0.1), and it
writes a forged X-Forwarded-For on every request: the audit log must name 127.0.0.2. It signs
in, scans a site's QR URL, checks in, runs an inspection with a fault and a 2 MB photo (over
nginx's default body limit), signs, submits and reads report and photo back through nginx.
Checked on the way: secure cookies, one HSTS header, /healthz (also over HTTP/2), HTTP
redirected to HTTPS, a failed sign-in counted in Redis, the QR token kept out of nginx's
access log and the request id shared by nginx and the app. Not in `make test` (tests/ only).
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import uuid as uuid_lib
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from app.demo import DEMO_PASSWORD as PASSWORD

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SITE_FILE = ROOT / "deploy" / "nginx-guardpost.conf"
SECTION = "## Deploying on PostgreSQL with gunicorn"
CLIENT_ADDRESS = "127.0.0.2"  # the phone, as nginx sees it
FORGED_ADDRESS = "203.0.113.7"  # what the phone writes into X-Forwarded-For itself
HOST = "localhost"
REDIS_URL = os.environ.get("RECIPE_REDIS_URL", "redis://127.0.0.1:6379/0")
ADMIN_URL = os.environ.get("TEST_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/test"


# ---------------------------------------------------------------- README, read literally


def section() -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.index("\n## ", start + len(SECTION))
    return text[start:end]


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```$", section(), flags=re.S | re.M)


def block_with(language: str, marker: str) -> str:
    found = [b for b in blocks(language) if marker in b]
    assert len(found) == 1, f"README: one ```{language} block holding {marker!r} expected"
    return found[0]


def swap(text: str, old: str, new: str, *, where: str) -> str:
    """Replace `old` (which must be there: README changed otherwise, and so must this test)."""
    assert old in text, f"{where}: {old!r} not found: update deploy/test_recipe.py with README"
    return text.replace(old, new)


def command_line(block: str, start: str) -> str:
    lines = [line for line in block.splitlines() if line.startswith(start)]
    assert len(lines) == 1, f"README: one command starting {start!r} expected"
    return lines[0].split("  #")[0].strip()


# ---------------------------------------------------------------- the machine


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5).close()
    except Exception:
        return False
    return True


def redis_client():
    import redis

    return redis.Redis.from_url(REDIS_URL, socket_timeout=5)


def nginx_binary() -> str | None:
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin")
    if found or os.geteuid() != 0 or not shutil.which("apt-get"):
        return found
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "-y", "-q", "install", "nginx"], env=env, capture_output=True)
    return shutil.which("nginx", path="/usr/sbin:/usr/bin")


@dataclass
class Stack:
    tmp: Path
    https: int
    http: int
    app_port: int
    env: dict[str, str]
    database_url: str
    cert: Path
    #: The unknown user name of the failed sign-in (its throttling keys are deleted after).
    stranger: str = field(default_factory=lambda: f"recipe-{secrets.token_hex(6)}")
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"https://{HOST}:{self.https}"

    def log(self, name: str) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace") if path.exists() else ""

    def sql(self, query: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(self.database_url.replace("+psycopg", "")) as conn:
            return conn.execute(query, params).fetchall()


def run(command: str, stack_env: dict[str, str], env_file: Path, **kwargs):
    """A README command as README runs it: after `set -a && . /etc/guardpost/env && set +a`."""
    script = f"set -a && . {shlex.quote(str(env_file))} && set +a && {command}"
    return subprocess.run(
        ["bash", "-c", script], cwd=ROOT, env=stack_env, capture_output=True, text=True, **kwargs
    )


def start(stack: Stack, name: str, argv: list[str], **kwargs) -> subprocess.Popen:
    with open(stack.tmp / f"{name}.log", "wb") as log:  # the process keeps its own copy
        proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **kwargs
        )
    stack.processes[name] = proc
    return proc


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def site_file(stack: Stack) -> str:
    text = SITE_FILE.read_text()
    where = "deploy/nginx-guardpost.conf"
    for old, new in [
        ("listen 80;", f"listen 127.0.0.1:{stack.http};"),
        ("listen [::]:80;", f"listen [::1]:{stack.http};"),
        ("listen 443 ssl http2;", f"listen 127.0.0.1:{stack.https} ssl http2;"),
        ("listen [::]:443 ssl http2;", f"listen [::1]:{stack.https} ssl http2;"),
        ("server_name guardpost.example.com;", f"server_name {HOST};"),
        ("/etc/letsencrypt/live/guardpost.example.com/fullchain.pem", str(stack.cert)),
        ("/etc/letsencrypt/live/guardpost.example.com/privkey.pem", str(stack.tmp / "key.pem")),
        ("/var/log/nginx/guardpost.access.log", str(stack.tmp / "access.log")),
        ("proxy_pass http://127.0.0.1:8000;", f"proxy_pass http://127.0.0.1:{stack.app_port};"),
    ]:
        text = swap(text, old, new, where=where)
    return text


def nginx_conf(stack: Stack, site: Path) -> str:
    """Debian's own nginx.conf, with its pid, logs, temp folders and sites moved to tmp."""
    text = Path("/etc/nginx/nginx.conf").read_text()
    where = "/etc/nginx/nginx.conf"
    temp = "".join(
        f"\t{kind}_temp_path {stack.tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    if os.geteuid() != 0:
        text = swap(text, "user www-data;", "", where=where)
    for old, new in [
        ("pid /run/nginx.pid;", f"pid {stack.tmp / 'nginx.pid'};"),
        ("error_log /var/log/nginx/error.log;", f"error_log {stack.tmp / 'error.log'};"),
        ("access_log /var/log/nginx/access.log;", f"access_log {stack.tmp / 'other.log'};"),
        ("include /etc/nginx/sites-enabled/*;", f"{temp}\tinclude {site};"),
    ]:
        text = swap(text, old, new, where=where)
    return text


@pytest.fixture(scope="module")
def stack():
    if not answers(ADMIN_URL):
        pytest.skip(f"no PostgreSQL answers at {ADMIN_URL}")
    try:
        redis_client().ping()
    except Exception as exc:
        pytest.skip(f"no Redis answers at {REDIS_URL}: {exc}")
    nginx = nginx_binary()
    if not nginx:
        pytest.skip("nginx is not installed and could not be (apt-get install nginx, as root)")

    tmp = Path(tempfile.mkdtemp(prefix="guardpost-recipe-"))
    tmp.chmod(0o755)  # nginx's workers (www-data) write their temp folders in here
    name = f"recipe_{secrets.token_hex(4)}"
    admin = ADMIN_URL.replace("+psycopg", "")
    database_url = admin.rsplit("/", 1)[0] + "/" + name
    stack = Stack(tmp, free_port(), free_port(), free_port(), {}, database_url, tmp / "cert.pem")
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        build(stack, nginx)
        yield stack
    finally:
        for proc in reversed(stack.processes.values()):
            stop(proc, signal.SIGQUIT if proc is stack.processes.get("nginx") else signal.SIGTERM)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        for key in redis_client().scan_iter(match=f"*{stack.stranger}*"):
            redis_client().delete(key)
        if os.environ.get("RECIPE_KEEP"):
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def build(stack: Stack, nginx: str) -> None:
    tmp = stack.tmp
    # The certificate, by README's openssl command.
    openssl = block_with("sh", "openssl req")
    openssl = swap(openssl, "guardpost.example.com", HOST, where="README openssl")
    openssl = swap(openssl, "/etc/ssl/private/guardpost.key", str(tmp / "key.pem"), where="README")
    openssl = swap(openssl, "/etc/ssl/certs/guardpost.pem", str(stack.cert), where="README")
    subprocess.run(["bash", "-c", openssl], check=True, capture_output=True)

    # The settings file: README's, machine-specific values swapped, then README's keys.
    env_file = tmp / "env"
    settings = block_with("sh", "# /etc/guardpost/env")
    swaps = {
        "DATABASE_URL=postgresql://guardpost@/guardpost": f"DATABASE_URL={stack.database_url}",
        "TRUSTED_HOSTS=guardpost.example.com": f"TRUSTED_HOSTS={HOST}",
        "BASE_URL=https://guardpost.example.com": f"BASE_URL={stack.base}",
        "UPLOAD_DIR=/srv/guardpost-data/uploads": f"UPLOAD_DIR={tmp / 'uploads'}",
        "AUDIT_ANCHOR_DIR=/srv/guardpost-anchors": f"AUDIT_ANCHOR_DIR={tmp / 'anchors'}",
        "RATELIMIT_STORAGE_URI=redis://127.0.0.1:6379/0": f"RATELIMIT_STORAGE_URI={REDIS_URL}",
    }
    for old, new in swaps.items():
        settings = swap(settings, old, new, where="README settings")
    env_file.write_text(settings)
    env_file.chmod(0o600)
    keys = block_with("sh", "new_vapid_private_key")
    keys = swap(keys, ">> /etc/guardpost/env", f">> {shlex.quote(str(env_file))}", where="README")
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("FLASK_", "TEST_"))}
    base_env = {k: v for k, v in base_env.items() if k not in ENV_NAMES}
    base_env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{base_env.get('PATH', '')}"
    done = subprocess.run(["bash", "-c", keys], cwd=ROOT, env=base_env, capture_output=True)
    assert done.returncode == 0, done.stderr
    stack.env = base_env

    commands = block_with("sh", "db upgrade")
    assert "set -a && . /etc/guardpost/env && set +a" in commands
    upgrade = command_line(commands, ".venv/bin/flask --app app db upgrade")
    done = run(upgrade, base_env, env_file, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    done = run(".venv/bin/flask --app app demo", base_env, env_file, timeout=120)  # the data
    assert done.returncode == 0, done.stderr[-3000:]

    gunicorn = command_line(commands, ".venv/bin/gunicorn")
    unit = block_with("ini", "guardpost-web.service")
    assert f"ExecStart=/srv/guardpost/{gunicorn}" in unit, "README: unit and command differ"
    gunicorn = swap(gunicorn, "127.0.0.1:8000", f"127.0.0.1:{stack.app_port}", where="README")
    env_prefix = f"set -a && . {shlex.quote(str(env_file))} && set +a && exec "
    start(stack, "gunicorn", ["bash", "-c", env_prefix + gunicorn], env=base_env)
    jobs = command_line(commands, ".venv/bin/flask --app app jobs run")
    start(stack, "jobs", ["bash", "-c", env_prefix + jobs], env=base_env)

    site = tmp / "guardpost.conf"
    site.write_text(site_file(stack))
    conf = tmp / "nginx.conf"
    conf.write_text(nginx_conf(stack, site))
    argv = [nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")]
    checked = subprocess.run([*argv, "-t"], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    start(stack, "nginx", [*argv, "-g", "daemon off;"])

    deadline = time.monotonic() + 60
    while True:
        for name, proc in stack.processes.items():
            assert proc.poll() is None, f"{name} exited:\n{stack.log(name + '.log')[-3000:]}"
        try:
            if Browser(stack).get("/healthz").status == 200:
                break
        except OSError:
            pass
        assert time.monotonic() < deadline, "no answer from /healthz through nginx in 60 s"
        time.sleep(0.3)


#: Settings the test must not inherit from the shell that runs it.
ENV_NAMES = {
    "DATABASE_URL",
    "SECRET_KEY",
    "AUDIT_KEY",
    "DATA_KEYS",
    "VAPID_PRIVATE_KEY",
    "VAPID_PUBLIC_KEY",
    "BASE_URL",
    "TRUSTED_HOSTS",
    "PROXY_FIX",
    "SECURE_COOKIES",
    "RATELIMIT_STORAGE_URI",
    "UPLOAD_DIR",
    "AUDIT_ANCHOR_DIR",
    "SECOND_FACTOR_ROLES",
    "SMTP_URL",
}


# ---------------------------------------------------------------- a phone, over HTTPS


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def all(self, name: str) -> list[str]:
        return self.headers.get_all(name) or []


class Browser:
    """A phone's browser: its cookies, a Referer on every form post (the CSRF check over
    HTTPS wants one from this origin), from 127.0.0.2, with a forged X-Forwarded-For."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []
        self.context = ssl.create_default_context(cafile=str(stack.cert))
        self.page = "/"

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        raw = socket.create_connection(
            ("127.0.0.1", self.stack.https), timeout=30, source_address=(CLIENT_ADDRESS, 0)
        )
        conn = http.client.HTTPSConnection(HOST, self.stack.https, context=self.context)
        conn.sock = self.context.wrap_socket(raw, server_hostname=HOST)
        sent = {
            "Host": f"{HOST}:{self.stack.https}",
            "Accept-Language": "en",
            "User-Agent": "recipe-test",
            "X-Forwarded-For": FORGED_ADDRESS,
            "X-Request-ID": "forged-request-id",
            "Connection": "close",
            **(headers or {}),
        }
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            answer = conn.getresponse()
            response = Response(answer.status, answer.headers, answer.read())
        finally:
            conn.close()
        for header in response.all("Set-Cookie"):
            self.set_cookies.append(header)
            for name, morsel in SimpleCookie(header).items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response

    def get(self, path: str) -> Response:
        response = self.request("GET", path)
        if response.status == 200:
            self.page = path
        return response

    def post(self, path: str, fields: dict, files: dict | None = None) -> Response:
        headers = {"Referer": self.stack.base + self.page, "Origin": self.stack.base}
        if files:
            boundary = uuid_lib.uuid4().hex
            parts = []
            for name, value in fields.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                    f"{value}\r\n".encode()
                )
            for name, (filename, data, kind) in files.items():
                parts.append(
                    f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                    f'filename="{filename}"\r\nContent-Type: {kind}\r\n\r\n'.encode()
                    + data
                    + b"\r\n"
                )
            body = b"".join(parts) + f"--{boundary}--\r\n".encode()
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        else:
            body = urlencode(fields).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return self.request("POST", path, body, headers)


def csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def photo_jpeg() -> bytes:
    """A 2 MB JPEG (noise does not compress): over nginx's default 1 MB body limit."""
    from PIL import Image

    image = Image.frombytes("RGB", (1600, 1200), os.urandom(1600 * 1200 * 3))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90)
    return out.getvalue()


def signature_png() -> str:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (300, 100), "white")
    ImageDraw.Draw(image).line([(20, 80), (120, 20), (280, 70)], fill="black", width=4)
    out = io.BytesIO()
    image.save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()


def location_path(response: Response) -> str:
    assert response.status == 303, (response.status, response.text[:2000])
    url = urlsplit(response.headers["Location"])
    return url.path + (f"?{url.query}" if url.query else "")


# ---------------------------------------------------------------- the run


@pytest.fixture(scope="module")
def visit(stack):
    """Sign in (after one failed try), scan, check in, inspect with a photo, submit."""
    phone = Browser(stack)
    (audit_seq,) = stack.sql("SELECT coalesce(max(seq), 0) FROM audit_event")[0]
    stranger = stack.stranger
    page = phone.get("/login").text
    failed = phone.post(
        "/login", {"username": stranger, "password": "wrong", "csrf_token": csrf(page)}
    )
    assert failed.status in (200, 401, 422), failed.status
    page = phone.get("/login").text
    signed_in = phone.post(
        "/login", {"username": "supervisor", "password": PASSWORD, "csrf_token": csrf(page)}
    )
    assert location_path(signed_in) == "/", signed_in.text[:2000]
    home = phone.get("/")
    assert home.status == 200

    # The label on the wall: a site of the supervisor's with no draft of his running.
    site_id, token = stack.sql(
        """SELECT s.id, s.qr_token FROM site s
           JOIN site_assignment a ON a.site_id = s.id JOIN "user" u ON u.id = a.user_id
           WHERE u.username = 'supervisor' AND NOT EXISTS (
               SELECT 1 FROM inspection i WHERE i.site_id = s.id AND i.status = 'draft')
           ORDER BY s.code LIMIT 1"""
    )[0]
    landing = phone.get(f"/s/{token}")
    assert landing.status == 200, landing.status
    form = dict(re.findall(r'name="(csrf_token|uuid)"[^>]*value="([^"]*)"', landing.text))
    checked_in = phone.post(f"/s/{token}/check-in", form)
    card = phone.get(location_path(checked_in))
    assert card.status == 200

    inspection = str(uuid_lib.uuid4())
    started = phone.post(
        f"/sites/{site_id}/inspections", {"csrf_token": csrf(card.text), "uuid": inspection}
    )
    assert location_path(started) == f"/inspections/{inspection}"
    run_page = phone.get(f"/inspections/{inspection}").text
    token_value = csrf(run_page)
    items = re.findall(
        r'<article class="item item-todo" id="item-(\d+)".*?</article>', run_page, flags=re.S
    )
    articles = re.findall(
        r'(<article class="item item-todo" id="item-\d+".*?</article>)', run_page, flags=re.S
    )
    assert items, "no items on the run page"
    faulted = None
    for item, article in zip(items, articles, strict=True):
        action = f"/inspections/{inspection}/items/{item}"
        if 'value="pass"' in article:
            value = "fail" if faulted is None else "pass"
        elif 'type="number"' in article:
            low = re.search(r'data-min="([^"]+)"', article)
            high = re.search(r'data-max="([^"]+)"', article)
            value = (
                str((float(low.group(1)) + float(high.group(1))) / 2)
                if low and high
                else (low.group(1) if low else "1")
            )
        elif 'class="choice"' in article:
            value = re.findall(r'name="value" value="([^"]+)" class="choice"', article)[0]
        else:
            value = "All in order."
        saved = phone.post(action, {"csrf_token": token_value, "value": value})
        assert saved.status == 303, (item, value, saved.status, saved.text[:1000])
        if value == "fail":
            faulted = item
            noted = phone.post(action, {"csrf_token": token_value, "note": "Siren cover cracked."})
            assert noted.status == 303
            picture = photo_jpeg()
            assert len(picture) > 1024 * 1024
            sent = phone.post(
                f"{action}/photos",
                {"csrf_token": token_value, "photo_uuid": str(uuid_lib.uuid4())},
                files={"photo": ("fault.jpg", picture, "image/jpeg")},
            )
            assert sent.status == 303, (sent.status, sent.text[:1000])
    assert faulted is not None, "no pass/fail item to fail"
    submitted = phone.post(
        f"/inspections/{inspection}/submit",
        {"csrf_token": token_value, "signer_name": "林雅婷", "signature": signature_png()},
    )
    assert location_path(submitted) == f"/inspections/{inspection}", submitted.text[:3000]
    return {
        "phone": phone,
        "uuid": inspection,
        "site": site_id,
        "token": token,
        "who": stranger,
        "audit_seq": audit_seq,
    }


def test_readme_shows_the_site_file():
    assert block_with("nginx", "proxy_pass").strip() == SITE_FILE.read_text().strip(), (
        "README's nginx block and deploy/nginx-guardpost.conf differ"
    )


def curl_http2(stack: Stack, host: str, path: str) -> str:
    """HTTP version and status of a GET over HTTP/2 (a phone's browser speaks it to nginx),
    with the certificate checked except for a host it is not for."""
    done = subprocess.run(
        [
            *("curl", "-sS", "--http2", "-o", "/dev/null", "-w", "%{http_version} %{http_code}"),
            *(("--cacert", str(stack.cert)) if host == HOST else ("--insecure",)),
            *(
                "--resolve",
                f"{host}:{stack.https}:127.0.0.1",
                f"https://{host}:{stack.https}{path}",
            ),
        ],
        capture_output=True,
        text=True,
        timeout=30,
    )
    return done.stdout or done.stderr


def test_health_over_https_http2_and_http(stack):
    health = Browser(stack).get("/healthz")
    assert health.status == 200
    body = json.loads(health.text)
    assert body["db"] == "ok" and body["status"] == "ok"
    # The runner beside it has started a job; mail is off here (no SMTP_URL), as README says.
    assert body["jobs"]["stale"] is False and body["jobs"]["last_run"]
    assert body["mail"] == {"enabled": False}
    for quoted in ('{"db":"ok",', '"jobs":{"last_run":', '"mail":{"oldest_seconds":null,'):
        assert quoted in section()  # what README says it answers
    assert health.all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]
    conn = http.client.HTTPConnection("127.0.0.1", stack.http, timeout=10)
    conn.request("GET", "/login?next=%2F", headers={"Host": HOST})
    answer = conn.getresponse()
    assert answer.status == 301
    assert answer.headers["Location"] == f"https://{HOST}/login?next=%2F"
    conn.close()


@pytest.mark.skipif(not shutil.which("curl"), reason="curl is not installed")
def test_http2_carries_the_host_to_the_app(stack):
    """Over HTTP/2 the host comes as :authority: nginx's $http_host must still carry it, so
    TRUSTED_HOSTS admits this host and refuses another one."""
    assert curl_http2(stack, HOST, "/healthz") == "2 200"
    assert curl_http2(stack, HOST, "/login") == "2 200"
    assert curl_http2(stack, "evil.localhost", "/login") == "2 400"


def test_inspection_read_back_through_nginx(stack, visit):
    phone = visit["phone"]
    report = phone.get(f"/inspections/{visit['uuid']}")
    assert report.status == 200 and "Inspection report" in report.text
    assert "Siren cover cracked." in report.text and "林雅婷" in report.text
    shown = re.search(r'class="report-photos">(.*?)</div>', report.text, flags=re.S)
    assert shown, "no photo in the report"
    photos = re.findall(r'src="(/photos/[0-9a-f-]{36})"', shown.group(1))
    assert len(photos) == 1, photos
    signature = re.search(r'src="(/photos/[0-9a-f-]{36})" alt="Signature of', report.text)
    assert signature, "no signature in the report"
    from PIL import Image

    for path in (photos[0], photos[0] + "/thumb", signature.group(1)):
        picture = phone.get(path)
        assert picture.status == 200 and picture.headers["Content-Type"].startswith("image/")
        assert Image.open(io.BytesIO(picture.body)).size[0] > 0
    rows = stack.sql("SELECT status, failed_count FROM inspection WHERE uuid = %s", visit["uuid"])
    assert rows == [("submitted", 1)]
    assert stack.sql("SELECT method FROM check_in ORDER BY id DESC LIMIT 1") == [("qr",)]


def test_cookies_are_secure_and_hsts_is_sent_once(stack, visit):
    phone = visit["phone"]
    assert any(name.startswith("__Host-") for name in phone.cookies), phone.cookies
    assert phone.set_cookies
    for header in phone.set_cookies:
        attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
        assert {"secure", "httponly", "samesite"} <= attributes, header
        if header.startswith("__Host-"):
            assert "domain" not in attributes and "; Path=/" in header, header
    home = phone.get("/")
    assert home.all("Strict-Transport-Security") == ["max-age=31536000; includeSubDomains"]


def test_the_audit_log_names_the_phone_not_the_proxy_nor_the_forgery(stack, visit):
    rows = stack.sql(
        "SELECT action, outcome, actor_name, ip FROM audit_event WHERE seq > %s ORDER BY seq",
        visit["audit_seq"],
    )
    assert [(action, outcome) for action, outcome, _name, _ip in rows] == [
        ("auth.login", "failure"),  # the stranger's try
        ("auth.login", "success"),
        ("inspection.started", "success"),
        ("inspection.submitted", "success"),
    ], rows
    assert all(ip == CLIENT_ADDRESS for *_rest, ip in rows), rows
    assert not any(ip == FORGED_ADDRESS for *_rest, ip in rows)
    sessions = stack.sql(
        'SELECT s.ip FROM user_session s JOIN "user" u ON u.id = s.user_id '
        "WHERE u.username = 'supervisor'"
    )
    assert (CLIENT_ADDRESS,) in sessions, sessions


def test_the_failed_sign_in_is_counted_in_redis(stack, visit):
    keys = [k.decode() for k in redis_client().scan_iter(match=f"*{visit['who']}*")]
    assert keys, "no rate-limit key in Redis for the failed sign-in"
    assert any(CLIENT_ADDRESS in key for key in keys), keys


def test_nginx_log_keeps_the_qr_token_out_and_shares_the_request_id(stack, visit):
    phone = visit["phone"]
    answer = phone.get("/healthz")
    request_id = answer.headers["X-Request-ID"]
    assert request_id != "forged-request-id"
    deadline = time.monotonic() + 5  # nginx writes the line once the answer has gone
    while request_id not in (access := stack.log("access.log")):
        assert time.monotonic() < deadline, f"{request_id} not in nginx's log:\n{access[-2000:]}"
        time.sleep(0.1)
    assert "/s/<token>" in access and visit["token"] not in access
    assert CLIENT_ADDRESS in access
    assert "[emerg]" not in stack.log("error.log")
    # gunicorn's workers and the jobs runner are still up.
    for name in ("gunicorn", "jobs", "nginx"):
        assert stack.processes[name].poll() is None, stack.log(name + ".log")[-2000:]


def test_the_jobs_runner_took_its_turns(stack, visit):
    deadline = time.monotonic() + 30
    while not stack.sql("SELECT 1 FROM job_state LIMIT 1"):
        assert time.monotonic() < deadline, stack.log("jobs.log")[-2000:]
        time.sleep(0.5)


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-v"]))
