"""A Hypothesis fuzzer: no value a user can type makes any page answer 500 (issue 10, item 2).

For each role it signs in to a small seeded world (tests/budget_world.py) and discovers, from
`app.url_map`, every route it can reach: the query-string arguments each view reads and the form
fields each POST reads are found by asking once with an empty request and recording what the
view looked at (the forms built, the keys read from `request.args` and `request.form`). Then
each Hypothesis example makes one pass over every POST (each form's fields filled with sensible
values except one or all, which get a hostile value: huge, negative or 1e23 integers, year-1 and
year-9999 dates, nan/inf/snan, 5000-character, NUL and other unicode strings) and every GET
(hostile query strings and path ids), so values stored by a POST are read back by the pages.

The test app propagates exceptions, so a "500" is an exception escaping a view: every one is
collected (method, url, the values sent, the innermost app frame) and listed in the failure.

Bounded: a fixed seed (FUZZ_SEED=random to explore) and two passes per role (a pass is some
250 requests), so `make test` stays quick; FUZZ_EXAMPLES=20 explores further.
"""

from __future__ import annotations

import logging
import os
import traceback
import uuid as uuid_lib
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict

import app.forms as app_forms
from app.auth import passwords
from app.auth.models import User, UserSession
from app.briefings.models import Briefing, BriefingAttachment
from app.extensions import db, limiter
from app.incidents.models import AlarmResponse, Incident
from app.inspections.models import ChecklistItem, ChecklistTemplate, Inspection
from app.maintenance.models import RepairTicket
from app.photos.models import Photo
from app.request_log import error_logger
from app.sites.models import Client, Equipment, Site
from tests.budget_world import World
from tests.factories import PASSWORD

#: Some 500 requests per role: minutes on a loaded 2-CPU machine, more than the suite default.
pytestmark = [pytest.mark.fuzz, pytest.mark.timeout(900)]

ROLES = ["guard", "supervisor", "manager", "admin", "client"]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2"))
DEBUG = bool(os.environ.get("FUZZ_DEBUG"))
POSTS_PER_FORM = 3
SEED = os.environ.get("FUZZ_SEED", "10")
#: Routes not fuzzed: static files, and signing out (the fuzzer would only sign back in).
SKIPPED = {"static", "auth.logout", "auth.login"}

# ------------------------------------------------------------------ hostile values

HUGE_INTS = [
    "-1",
    "0",
    "2147483647",
    "2147483648",
    "9223372036854775807",
    "9223372036854775808",
    str(10**23),
    "1e23",
    "-" + str(10**23),
    "99999999999999999999999999999999999999",
]
EXTREME_DATES = [
    "9999-12-31",
    "0001-01-01",
    "1-01-01",
    "1900-01-01",
    "2099-12-31",
    "2000-02-30",
    "10000-01-01",
    "0000-00-00",
]
SPECIAL_DECIMALS = [
    "nan",
    "NaN",
    "snan",
    "sNaN",
    "inf",
    "-inf",
    "Infinity",
    "-Infinity",
    "1e23",
    "-1e23",
    "1e308",
    "1e999",
    "1E+1000000",
    "0.000000000000000000000001",
    "123456789012345678901234567890.5",
]
HOSTILE_TEXT = [
    "x" * 5000,
    "字" * 5000,
    "a\x00b",
    "\x00",
    "\ud7ff\ufffd\U0001f600",
    "' OR 1=1 --",
    "<script>alert(1)</script>",
    " ",
    "\u202e\u200b",
]


def _extreme_first(values: list[str], rest):
    """Mostly the listed extremes (the values that break things), sometimes anything."""
    return st.one_of(st.sampled_from(values), st.sampled_from(values), rest)


ints = _extreme_first(HUGE_INTS, st.integers().map(str))
dates = _extreme_first(
    EXTREME_DATES, st.one_of(st.dates().map(date.isoformat), st.text(max_size=12))
)
datetimes = st.one_of(
    st.sampled_from(EXTREME_DATES).map(lambda d: d + "T00:00"),
    st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
    st.sampled_from(["9999-12-31T23:59", "0001-01-01T00:00", "9999-12-31T23:59:59"]),
)
decimals = _extreme_first(
    SPECIAL_DECIMALS,
    st.one_of(st.decimals(allow_nan=True, allow_infinity=True).map(str), st.floats().map(repr)),
)
texts = _extreme_first(HOSTILE_TEXT, st.text(max_size=60))
anything = st.one_of(ints, dates, datetimes, decimals, texts)


def hostile(kind: str):
    """Hostile values for a field of this kind, sometimes those of another kind."""
    own = {"int": ints, "date": dates, "datetime": datetimes, "decimal": decimals}.get(kind, texts)
    return st.one_of(own, own, own, anything)


# ------------------------------------------------------------------ discovery


class _Record:
    """What the current request looked at: its forms, the keys of its args and form."""

    def __init__(self) -> None:
        self.forms: list = []
        self.args: set[str] = set()
        self.form_keys: set[str] = set()


RECORD = _Record()


def _recording(kind: str):
    class Recording(ImmutableMultiDict):
        def _note(self, key):
            if isinstance(key, str):
                getattr(RECORD, kind).add(key)

        def get(self, key, *args, **kwargs):
            self._note(key)
            return super().get(key, *args, **kwargs)

        def getlist(self, key, *args, **kwargs):
            self._note(key)
            return super().getlist(key, *args, **kwargs)

        def __getitem__(self, key):
            self._note(key)
            return super().__getitem__(key)

        def __contains__(self, key):
            self._note(key)
            return super().__contains__(key)

    return Recording


def _field_kind(field) -> str:
    name = type(field).__name__
    if name in {"IntegerField", "IdListField"}:
        return "int"
    if name == "DateField":
        return "date"
    if name in {"DateTimeLocalField", "DateTimeField", "DeviceTimeField"}:
        return "datetime"
    if name in {"DecimalField", "FloatField", "ReadingField"}:
        return "decimal"
    if name in {"FileField", "MultipleFileField"}:
        return "file"
    if name in {"SelectField", "SelectMultipleField", "MultiCheckboxField", "RadioField"}:
        return "select"
    if name == "BooleanField":
        return "bool"
    if name == "UUIDField":
        return "uuid"
    if name == "PasswordField":
        return "password"
    return "text"


def _choices(field) -> list[str]:
    values = []
    for choice in field.choices or []:
        value = choice[0] if isinstance(choice, tuple | list) else choice
        values.append(str(value))
    return values


class Pools:
    """Ids that exist in the world, by the name a route or a field gives them."""

    def __init__(self) -> None:
        def ids(model, limit=4):
            return [str(i) for i in db.session.scalars(select(model.id).limit(limit))]

        guards = [str(i) for i in db.session.scalars(select(User.id).filter_by(role="guard"))]
        self.by_name = {
            "session_id": ids(UserSession),
            # Guards first: the people most forms take (training, briefings, dispatch).
            "user_id": guards + [i for i in ids(User, 8) if i not in guards],
            "guard_id": guards,
            "alarm_id": ids(AlarmResponse),
            "attachment_id": ids(BriefingAttachment) or ["1"],
            "briefing_id": ids(Briefing),
            "item_id": ids(ChecklistItem, 8),
            "template_id": ids(ChecklistTemplate),
            "client_id": ids(Client),
            "client": ids(Client),
            "equipment_id": ids(Equipment),
            "incident_id": ids(Incident),
            "incident": ids(Incident),
            "ticket_id": ids(RepairTicket),
            "site_id": ids(Site),
            "site": ids(Site),
            "step": ["dispatch", "arrive", "clear", "nope"],
            "token": list(db.session.scalars(select(Site.qr_token).limit(2))),
        }
        self.inspections = list(db.session.scalars(select(Inspection.uuid).limit(4)))
        self.photos = list(db.session.scalars(select(Photo.uuid).limit(2))) or [
            str(uuid_lib.uuid4())
        ]

    def path_value(self, endpoint: str, name: str) -> list[str]:
        if name == "uuid":
            return self.photos if endpoint.startswith("photos.") else self.inspections
        return self.by_name.get(name) or ["1"]


def good_value(field, pools: Pools):
    """A sensible value for the field (None: leave it out)."""
    kind = _field_kind(field)
    name = field.name
    today = date.today()
    if kind == "file" or kind == "password":
        return None if kind == "file" else "not-the-password-1"
    if name in pools.by_name and kind in {"int", "select"}:
        choices = _choices(field) if kind == "select" else []
        pool = [c for c in choices if c not in {"0", ""}] or pools.by_name[name]
        return st.sampled_from(pool)
    if kind == "select":
        choices = [c for c in _choices(field) if c != ""] or [""]
        return st.sampled_from(choices)
    return {
        "int": st.sampled_from(["1", "30", "90"]),
        "date": st.sampled_from([today.isoformat(), (today - timedelta(days=30)).isoformat()]),
        "datetime": st.just((today - timedelta(days=1)).isoformat() + "T10:00"),
        "decimal": st.sampled_from(["1", "2.5", "25.03"]),
        "bool": st.just("y"),
        "uuid": st.builds(lambda: str(uuid_lib.uuid4())),
        "text": st.sampled_from(["Checked", "TPE-0012", "12.8", "pass", "fail"]),
    }[kind]


def _dates_of(target) -> list[str]:
    return [n for n, kind, _f in target.fields if kind in ("date", "datetime")]


class Target:
    def __init__(self, rule, method: str) -> None:
        self.rule = rule
        self.method = method
        self.args: set[str] = set()
        self.fields: list = []  # (name, kind, form field or None)


def _url(rule, values: dict) -> str:
    url = rule.rule
    for name, value in values.items():
        for conv in ("int:", "uuid:", "path:", ""):
            url = url.replace(f"<{conv}{name}>", str(value))
    return url


def discover(client, app, user, pools: Pools, monkeypatch) -> list[Target]:
    """Every route this role can reach, with what it reads (asked once, empty-handed)."""
    original_init = app_forms.Form.__init__

    def recording_init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        RECORD.forms.append(self)

    base = app.request_class
    args_class, form_class = _recording("args"), _recording("form_keys")

    class RecordingRequest(base):
        @property
        def args(self):
            return args_class(super().args)

        @property
        def form(self):
            return form_class(super().form)

    monkeypatch.setattr(app_forms.Form, "__init__", recording_init)
    monkeypatch.setattr(app, "request_class", RecordingRequest)
    targets = []
    try:
        for rule in app.url_map.iter_rules():
            if rule.endpoint in SKIPPED:
                continue
            values = {n: pools.path_value(rule.endpoint, n)[0] for n in rule.arguments}
            for method in sorted(rule.methods & {"GET", "POST"}):
                for _attempt in range(2):
                    RECORD.__init__()
                    response = client.open(_url(rule, values), method=method)
                    status = response.status_code
                    if status in (302, 303) and "/login" in response.headers.get("Location", ""):
                        _sign_in(client, user)  # it revoked our own session: again, signed in
                        continue
                    break
                if status in (401, 403, 405) or (method == "GET" and status == 302):
                    continue
                target = Target(rule, method)
                target.args = set(RECORD.args) - {"lang"}
                seen = set()
                for form in RECORD.forms:
                    for field in form:
                        if field.name in seen or field.type == "CSRFTokenField":
                            continue
                        seen.add(field.name)
                        target.fields.append((field.name, _field_kind(field), field))
                for key in sorted(RECORD.form_keys - seen - {"csrf_token"}):
                    target.fields.append((key, "text", None))
                targets.append(target)
    finally:
        monkeypatch.setattr(app, "request_class", base)
        monkeypatch.setattr(app_forms.Form, "__init__", original_init)
    return targets


# ------------------------------------------------------------------ one request


def _where(error: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/app/" in f.filename]
    frame = frames[-1] if frames else traceback.extract_tb(error.__traceback__)[-1]
    return f"{frame.filename.rsplit('/app/', 1)[-1]}:{frame.lineno} {frame.name}"


def _short(value) -> str:
    text = repr(value)
    return text if len(text) < 60 else text[:40] + f"...({len(str(value))} chars)"


class Errors(logging.Handler):
    """Exceptions that escaped a view: the app logs each one (app/errors.py) and answers 500."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.last: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.last = record.exc_info[1]


ERRORS = Errors()


def send(client, failures: dict, method: str, url: str, *, query=None, data=None) -> int:
    ERRORS.last = None
    try:
        response = client.open(url, method=method, query_string=query, data=data)
        status = response.status_code
        if status in (302, 303) and "/login" in response.headers.get("Location", ""):
            status = -1  # signed out (the fuzzer revoked its own session): sign back in
    except Exception as error:  # propagated (PROPAGATE_EXCEPTIONS)
        ERRORS.last, status = error, 500
    if DEBUG:
        print(method, url[:60], status, {k: _short(v)[:30] for k, v in (data or {}).items()})
    if status >= 500:
        error = ERRORS.last
        where = _where(error) if error else ""
        name = type(error).__name__ if error else str(status)
        key = (method, url.split("?")[0] if not error else "", name, where)
        if key not in failures:
            sent = {k: _short(v) for k, v in (query or data or {}).items()}
            failures[key] = f"{where} {name}: {str(error)[:120]}\n    {method} {url} {sent}"
        db.session.rollback()
    return status


# ------------------------------------------------------------------ the test


def _sign_in(client, user: User) -> None:
    """Sign (back) in: the fuzzer may have changed the account (reset, deactivated)."""
    db.session.rollback()
    user = db.session.get(User, user.id)
    user.is_active = True
    user.must_change_password = False
    user.password_hash = passwords.hash_password(PASSWORD)
    for name in ("failed_logins", "locked_until"):
        if hasattr(user, name):
            setattr(user, name, 0 if name == "failed_logins" else None)
    db.session.commit()
    limiter.reset()
    response = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert response.status_code in (302, 303), response.status_code


@pytest.mark.parametrize("role", ROLES)
def test_no_value_a_user_can_type_makes_a_500(app, client, role, monkeypatch):
    error_logger.addHandler(ERRORS)
    try:
        _fuzz(app, client, role, monkeypatch)
    finally:
        error_logger.removeHandler(ERRORS)


def _fuzz(app, client, role, monkeypatch):
    world = World().grow(1)
    user = world.users[role]
    other = world.users["admin" if role != "admin" else "guard"]
    _sign_in(app.test_client(), other)  # a session of someone else's, to revoke
    _sign_in(client, user)
    pools = Pools()
    own = {str(i) for i in db.session.scalars(select(UserSession.id).filter_by(user_id=user.id))}
    pools.by_name["session_id"] = [i for i in pools.by_name["session_id"] if i not in own] or ["1"]
    targets = discover(client, app, user, pools, monkeypatch)
    posts = [t for t in targets if t.method == "POST"]
    gets = [t for t in targets if t.method == "GET"]
    assert len(gets) > 5, [t.rule.rule for t in targets]
    failures: dict = {}

    def path_values(data, target):
        values = {}
        for name in target.rule.arguments:
            good = st.sampled_from(pools.path_value(target.rule.endpoint, name))
            if name in ("uuid", "token", "step"):
                values[name] = data.draw(st.one_of(good, good, good, st.text(min_size=1)))
            else:
                bad = st.sampled_from([str(2**31), str(2**63), str(10**23), "99999"])
                values[name] = data.draw(st.one_of(good, good, good, bad))
        return {
            k: v.replace("/", "_").replace("?", "_").replace("#", "_") or "x"
            for k, v in values.items()
        }

    @seed(None if SEED == "random" else int(SEED))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(st.data())
    def one_pass(data):
        rounds = [(t, "drawn") for t in posts for _ in range(POSTS_PER_FORM)]
        rounds += [(t, "far dates") for t in posts if _dates_of(t)]
        for target, mode in rounds:
            names = [n for n, kind, _f in target.fields if kind != "file"]
            typed = [n for n, kind, _f in target.fields if kind in ("int", "date", "decimal")]
            choice = [None, "*", *names, *typed, *typed, *_dates_of(target)]
            bad = data.draw(st.sampled_from(choice), label="hostile field")
            form = {}
            for name, kind, field in target.fields:
                if kind == "file":
                    continue
                good = good_value(field, pools) if field is not None else st.just("1")
                if good is None:
                    continue
                if mode == "far dates" and name in _dates_of(target):
                    # Every date at once at the far end, the rest sensible: what a page
                    # must still show if it was ever stored.
                    far = data.draw(st.sampled_from(["9999-12-31", "0001-01-01"]), label=name)
                    form[name] = far if kind == "date" else far + "T00:00"
                elif mode == "drawn" and (bad == "*" or bad == name):
                    form[name] = data.draw(hostile(kind), label=name)
                elif not isinstance(good, str):
                    form[name] = data.draw(good, label=name)
                else:
                    form[name] = good
            url = _url(target.rule, path_values(data, target))
            if send(client, failures, "POST", url, data=form) == -1:
                _sign_in(client, user)
        for target in gets:
            query = {}
            for name in sorted(target.args):
                good = st.sampled_from(pools.by_name.get(name) or ["1", date.today().isoformat()])
                query[name] = data.draw(st.one_of(good, anything), label=name)
            url = _url(target.rule, path_values(data, target))
            if send(client, failures, "GET", url, query=query) == -1:
                _sign_in(client, user)

    one_pass()
    assert not failures, f"{len(failures)} requests answered 500:\n" + "\n".join(
        sorted(failures.values())
    )
