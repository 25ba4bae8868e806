"""Issue 11: a Hypothesis state machine plays a phone's outbox against the real endpoints.

The phone makes check-ins and answers (each with its device uuid and the device time it was
made at), sends them, loses responses (the request arrived, the answer did not: it stays
queued and is sent again), sends twice, and loses its session (signs in again). An item leaves
the outbox only on a 2xx that echoes its uuid. Throughout: no check-in twice, no claim twice;
at the end, once everything is sent: every check-in once, and each item's answer is the one
given last on the phone, whatever order they arrived in.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import func, select

from app.device_requests import DeviceRequest
from app.extensions import db
from app.inspections.models import Answer, Inspection
from app.inspections.services import active_template
from app.sites.models import CheckIn
from tests import factories

pytestmark = pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": False}])

HEADERS = {"Accept": "application/json"}


def test_the_outbox_loses_and_duplicates_nothing(app, client, make_user):
    """`client`: so that app.test_client() gives isolated clients (each request its own g)."""

    class Phone(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            site = factories.gen_site()
            user = make_user("supervisor")
            factories.assign(user, site)
            db.session.commit()
            # Plain values: a server restart drops the session these objects were loaded in.
            self.site_id, self.username = site.id, user.username
            self.client = app.test_client()
            self.signed_in = False
            self.sign_in()
            self.inspection = str(uuid.uuid4())
            started = self.client.post(
                f"/sites/{self.site_id}/inspections", data={"uuid": self.inspection}
            )
            assert started.status_code == 303
            self.items = [i.id for i in active_template().live_items if i.kind != "number"][:3]
            self.queue: list[dict] = []  # the outbox
            self.sent: list[dict] = []  # acknowledged (left the outbox)
            self.clock = datetime.now(UTC) - timedelta(hours=1)

        def sign_in(self):
            response = self.client.post(
                "/login", data={"username": self.username, "password": factories.PASSWORD}
            )
            assert response.status_code == 303
            self.signed_in = True

        def _made(self, entry: dict) -> None:
            self.clock += timedelta(seconds=1)
            entry["key"] = str(uuid.uuid4())
            entry["made"] = self.clock
            self.queue.append(entry)

        @rule()
        def check_in(self):
            entry = {"kind": "check_in", "url": f"/sites/{self.site_id}/check-in"}
            self._made(entry)
            entry["data"] = {
                "uuid": entry["key"],
                "scanned_at": str(int(entry["made"].timestamp() * 1000)),
            }

        @rule(which=st.integers(0, 2), value=st.sampled_from(["pass", "fail"]))
        def answer(self, which, value):
            item = self.items[which]
            entry = {
                "kind": "answer",
                "item": item,
                "value": value,
                "url": f"/inspections/{self.inspection}/items/{item}",
            }
            self._made(entry)
            entry["data"] = {"value": value, "note": "n", "device_time": entry["made"].isoformat()}

        def _post(self, entry):
            return self.client.post(
                entry["url"], data=entry["data"], headers={**HEADERS, "X-Object-UUID": entry["key"]}
            )

        def _acknowledge(self, entry, response) -> None:
            if not self.signed_in:
                assert response.status_code in (401, 302, 303)
                return
            assert response.status_code == 200, response.get_data(as_text=True)
            assert response.headers["X-Object-UUID"] == entry["key"]
            self.queue.remove(entry)
            self.sent.append(entry)

        @precondition(lambda self: self.queue)
        @rule(data=st.data())
        def send(self, data):
            entry = data.draw(st.sampled_from(self.queue))
            self._acknowledge(entry, self._post(entry))

        @precondition(lambda self: self.queue)
        @rule(data=st.data())
        def lost_response(self, data):
            self._post(data.draw(st.sampled_from(self.queue)))  # arrived; the answer did not

        @precondition(lambda self: self.queue)
        @rule(data=st.data())
        def duplicate_send(self, data):
            entry = data.draw(st.sampled_from(self.queue))
            first, second = self._post(entry), self._post(entry)
            if self.signed_in:
                assert first.status_code == second.status_code == 200
                assert second.headers.get("X-Replay") == "1"
                assert second.get_json() == first.get_json()
            self._acknowledge(entry, second)

        @rule()
        def server_restarts(self):
            """Every connection dropped; what the server knows is only what it committed."""
            db.session.remove()
            db.engine.dispose()

        @precondition(lambda self: self.signed_in)
        @rule()
        def session_expires(self):
            self.client.post("/logout")
            self.signed_in = False

        @precondition(lambda self: not self.signed_in)
        @rule()
        def sign_in_again(self):
            self.sign_in()

        def _check_ins(self) -> list[str]:
            db.session.expire_all()
            return db.session.scalars(
                select(CheckIn.uuid).where(CheckIn.site_id == self.site_id)
            ).all()

        @invariant()
        def nothing_twice(self):
            uuids = self._check_ins()
            assert len(uuids) == len(set(uuids))
            acknowledged = {e["key"] for e in self.sent if e["kind"] == "check_in"}
            assert acknowledged <= set(uuids)  # what left the outbox is on the server
            made = {e["key"] for e in self.sent + self.queue if e["kind"] == "check_in"}
            assert set(uuids) <= made

        def teardown(self):
            if not self.signed_in:
                self.sign_in()
            while self.queue:
                entry = self.queue[0]
                self._acknowledge(entry, self._post(entry))
            uuids = self._check_ins()
            made = sorted(e["key"] for e in self.sent if e["kind"] == "check_in")
            assert sorted(uuids) == made
            inspection = db.session.scalar(
                select(Inspection).where(Inspection.uuid == self.inspection)
            )
            stored = {a.item_id: a.value for a in inspection.answers}
            latest = {}
            for entry in sorted(self.sent, key=lambda e: e["made"]):
                if entry["kind"] == "answer":
                    latest[entry["item"]] = entry["value"]
            assert stored == latest
            keys = {e["key"] for e in self.sent}
            claimed = db.session.scalar(
                select(func.count())
                .select_from(DeviceRequest)
                .where(DeviceRequest.uuid.in_(keys or {""}))
            )
            assert claimed == len(keys)
            assert db.session.scalar(
                select(func.count())
                .select_from(Answer)
                .where(Answer.inspection_id == inspection.id)
            ) == len(latest)

    run_state_machine_as_test(
        Phone,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
