"""Shared fixtures for the jobs runner: a small world with work falling due, and a real SMTP
server (aiosmtpd) that refuses one address."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller

from app.briefings import services as briefings
from app.db import new_uuid, utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import AlarmResponse
from app.maintenance import services as maintenance
from app.sites.models import Equipment
from tests import factories

#: The instant the tests run the jobs at (on a whole minute, like the loop's turns).
NOW = utcnow().replace(second=0, microsecond=0)
TODAY = NOW.astimezone(TAIPEI).date()
REFUSED = "bounce@example.com"


class Inbox:
    def __init__(self):
        self.messages: list[tuple[list[str], str]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == REFUSED:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
        return "250 OK"

    def recipients(self) -> list[str]:
        return sorted(r for rcpts, _body in self.messages for r in rcpts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    inbox.url = f"smtp://127.0.0.1:{port}"
    yield inbox
    controller.stop()


@pytest.fixture
def world(app, make_user):
    """A site with a guard, its supervisor and a manager; a second site nobody supervises."""
    site = factories.gen_site(name="信義商辦大樓")
    lonely = factories.gen_site(name="南港倉庫")
    guard = make_user("guard")
    supervisor = make_user("supervisor", email="lin@example.com")
    manager = make_user("manager", email="boss@example.com")
    factories.assign(guard, site)
    factories.assign(supervisor, site)
    db.session.commit()
    return {
        "site": site,
        "lonely": lonely,
        "guard": guard,
        "supervisor": supervisor,
        "manager": manager,
    }


def add_alarm(world, *, received_at):
    alarm = AlarmResponse(
        uuid=new_uuid(),
        site_id=world["site"].id,
        created_by_id=world["supervisor"].id,
        received_at=received_at,
    )
    db.session.add(alarm)
    db.session.commit()
    return alarm


def add_ticket(world, *, due_on):
    ticket = maintenance.open_ticket(
        world["site"],
        user=world["supervisor"],
        uuid=new_uuid(),
        problem="主機斷線",
        due_on=due_on,
        today=min(due_on, TODAY),
    )
    db.session.commit()
    return ticket


def add_equipment(site, *, due_on, interval_days=90):
    unit = Equipment(
        site_id=site.id,
        kind="control_panel",
        model="DSC",
        status="ok",
        maintenance_interval_days=interval_days,
        last_maintained_on=due_on - timedelta(days=interval_days),
    )
    db.session.add(unit)
    db.session.commit()
    return unit


def add_briefing(world, *, due_on):
    briefing = briefings.save_briefing(
        None,
        actor=world["supervisor"],
        kind="pre_duty",
        title="今日勤前教育",
        body="夜間巡邏加強後門",
        requires_ack=True,
        due_on=due_on,
        audience_kind="sites",
        site_ids={world["site"].id},
        user_ids=set(),
    )
    briefings.publish(briefing, actor=world["supervisor"])
    db.session.commit()
    return briefing
