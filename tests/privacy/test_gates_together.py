"""The two first-sign-in gates together: a manager with neither a second factor nor the
notice acknowledged sets up the factor first, then reads the notice; never a loop."""

from __future__ import annotations

import pytest

from tests.factories import gen_totp


@pytest.fixture
def app_config():
    return {"SECOND_FACTOR_ROLES": ["manager", "admin"]}


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_factor_first_then_the_notice(app, client, make_user, login, role):
    user = make_user(role, notice_acknowledged=False)
    login(user)
    home = client.get("/")
    assert home.status_code == 302 and "/account/security" in home.headers["Location"]
    security = client.get("/account/security")
    assert security.status_code == 200  # not sent on to the notice
    from app.extensions import db

    gen_totp(user)
    db.session.commit()
    after = client.get("/")
    assert after.status_code == 302 and "/privacy/notice" in after.headers["Location"]
    assert client.get(after.headers["Location"]).status_code == 200  # the notice itself opens
