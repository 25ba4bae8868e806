"""The key ring's upkeep: `flask keys rotate` and `check`, and the refusal to start."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.vault import crypto, services
from app.vault.models import ConfidentialRecord
from tests.conftest import BASE_CONFIG, make_app
from tests.factories import gen_site, gen_user

K1 = BASE_CONFIG["DATA_KEYS"]  # "k1:…", the suite's ring
K0 = crypto.new_key_entry("k0")
K2 = crypto.new_key_entry("k2")


def add_records(app, ring: str, *values: str) -> list[ConfidentialRecord]:
    """Records sealed under `ring`'s first key, committed."""
    app.config["DATA_KEYS"] = ring
    user, site = gen_user("supervisor"), gen_site()
    records = [
        services.create_record(user=user, site=site, category="other", label="備註", value=v)
        for v in values
    ]
    db.session.commit()
    return records


def fresh(records: list[ConfidentialRecord]) -> list[ConfidentialRecord]:
    db.session.expire_all()
    return [db.session.get(ConfidentialRecord, r.id) for r in records]


def test_rotation_reseals_every_old_value_under_the_new_key_and_counts_per_key(app, runner):
    old = add_records(app, f"{K0},{K1}", "甲 0912-345-678", "乙")
    old += add_records(app, K1, "丙")
    current = add_records(app, f"{K2},{K1},{K0}", "丁")
    before = {r.id: r.value_ciphertext for r in old + current}

    result = runner.invoke(args=["keys", "rotate", "--batch-size", "1"])

    assert result.exit_code == 0, result.output
    assert "re-encrypted 3 values under k2: k0 2, k1 1" in result.output
    rotated = fresh(old + current)
    assert [r.key_id for r in rotated] == ["k2"] * 4
    assert [r.value_ciphertext == before[r.id] for r in rotated] == [False, False, False, True]
    app.config["DATA_KEYS"] = K2  # the old keys can go now
    assert [services.read_value(r) for r in rotated] == ["甲 0912-345-678", "乙", "丙", "丁"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "vault.keys_rotated"))
    assert '"count": 3' in event.one().detail

    again = runner.invoke(args=["keys", "rotate"])
    assert again.exit_code == 0 and "re-encrypted 0 values" in again.output


def test_keys_check_lists_the_ids_in_use_and_whether_the_ring_has_each(app, runner):
    add_records(app, f"{K0},{K1}", "甲", "乙")
    add_records(app, K1, "丙")
    app.config["DATA_KEYS"] = f"{K2},{K1},{K0}"
    result = runner.invoke(args=["keys", "check"])
    assert result.exit_code == 0, result.output
    assert "current key: k2" in result.output
    assert "k0: 2 values, in ring" in result.output and "k1: 1 values, in ring" in result.output

    app.config["DATA_KEYS"] = f"{K2},{K1}"
    result = runner.invoke(args=["keys", "check"])
    assert result.exit_code == 1
    assert "k0: 2 values, MISSING from DATA_KEYS" in result.output
    assert services.missing_key_ids(app) == ["k0"]


def test_the_app_refuses_to_start_when_stored_values_need_a_missing_key(
    app, database_url, tmp_path
):
    add_records(app, f"{K0},{K1}", "甲")
    with pytest.raises(RuntimeError, match=r"lacks key id.*k0") as refused:
        make_app(tmp_path / "a", database_url, DATA_KEYS=f"{K2},{K1}")
    assert K0.partition(":")[2] not in str(refused.value)
    started = make_app(tmp_path / "b", database_url, DATA_KEYS=f"{K2},{K0}")
    with started.app_context():
        db.engine.dispose()


def test_the_app_refuses_to_start_with_a_ring_that_does_not_parse(app, database_url, tmp_path):
    with pytest.raises(crypto.KeyRingError, match="32 bytes"):
        make_app(tmp_path, database_url, DATA_KEYS="k1:c2hvcnQ=")


def test_the_start_up_check_passes_over_a_database_not_migrated_yet(tmp_path):
    started = make_app(tmp_path, f"sqlite:///{tmp_path / 'empty.db'}", DATA_KEYS=K2)
    with started.app_context():
        assert services.missing_key_ids(started) == []
        db.engine.dispose()


def test_rotation_stops_at_a_value_that_does_not_decrypt_and_names_its_row(app, runner):
    good, bad, later = add_records(app, f"{K0},{K1}", "甲", "乙", "丙")
    head, body = bad.value_ciphertext.rsplit(":", 1)
    bad.value_ciphertext = f"{head}:{body[:-6]}AAAAAA"
    db.session.commit()
    app.config["DATA_KEYS"] = f"{K2},{K0}"

    result = runner.invoke(args=["keys", "rotate", "--batch-size", "1"])

    assert result.exit_code == 1
    assert f"stopped: confidential_record {bad.id}:" in result.output
    assert "re-encrypted 1 before it" in result.output
    assert [r.key_id for r in fresh([good, bad, later])] == ["k2", "k0", "k0"]
