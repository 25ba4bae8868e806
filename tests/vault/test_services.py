"""Records: values sealed per record, read back, changed; defaults; nothing in clear."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from app.audit.models import AuditEvent
from app.extensions import db
from app.vault import crypto, services
from app.vault.models import ConfidentialRecord
from tests.factories import gen_client, gen_site, gen_user

KEY_HOLDER = {
    "name": "王小明",
    "phones": ["0912-345-678", "02-2720-1234"],
    "relation": "總務主任",
    "calling_order": 1,
}


def make(category="alarm_code", value="4711#", **fields) -> ConfidentialRecord:
    fields.setdefault("site", gen_site())
    return services.create_record(
        user=fields.pop("user", None) or gen_user("supervisor"),
        category=category,
        label=fields.pop("label", "主機密碼"),
        value=value,
        **fields,
    )


def stored(record: ConfidentialRecord) -> ConfidentialRecord:
    """The record as read back from the database after a commit."""
    db.session.commit()
    db.session.expire_all()
    return db.session.get(ConfidentialRecord, record.id)


def test_a_value_is_stored_encrypted_and_reads_back(app):
    record = stored(make(value="  4711#  "))
    assert record.value_ciphertext.startswith("gp1:k1:")
    assert "4711" not in record.value_ciphertext and record.key_id == "k1"
    assert services.read_value(record) == "4711#"


def test_two_records_with_equal_values_have_different_ciphertexts(app):
    site = gen_site()
    first, second = make(site=site), make(site=site)
    assert first.value_ciphertext != second.value_ciphertext
    assert services.read_value(first) == services.read_value(second) == "4711#"


def test_a_ciphertext_swapped_between_two_rows_is_refused(app):
    site = gen_site()
    first = make(site=site, value="1111#")
    second = make(site=site, value="2222#")
    db.session.commit()
    db.session.execute(
        update(ConfidentialRecord)
        .where(ConfidentialRecord.id == second.id)
        .values(value_ciphertext=first.value_ciphertext)
    )
    db.session.commit()
    with pytest.raises(crypto.DecryptionError):
        services.read_value(stored(second))
    assert services.read_value(stored(first)) == "1111#"


def test_a_flipped_byte_in_the_database_is_an_error(app):
    record = stored(make())
    head, body = record.value_ciphertext.rsplit(":", 1)
    flipped = body[:20] + ("A" if body[20] != "A" else "B") + body[21:]
    record.value_ciphertext = f"{head}:{flipped}"
    with pytest.raises(crypto.DecryptionError):
        services.read_value(stored(record))


def test_a_key_holders_structure_round_trips_inside_the_ciphertext(app):
    record = stored(make("key_holder", dict(KEY_HOLDER, calling_order="1"), label="第一順位"))
    assert services.read_value(record) == KEY_HOLDER
    columns = [str(getattr(record, c.key)) for c in ConfidentialRecord.__table__.columns]
    for secret in ("王小明", "0912-345-678", "總務主任", "phones"):
        assert not any(secret in column for column in columns)


@pytest.mark.parametrize(
    ("value", "key"),
    [
        (dict(KEY_HOLDER, name=" "), "name_required"),
        (dict(KEY_HOLDER, phones=[]), "phone_required"),
        (dict(KEY_HOLDER, phones=["1"] * 6), "phone_required"),
        (dict(KEY_HOLDER, calling_order="first"), "bad_calling_order"),
        ("王小明", "name_required"),
    ],
)
def test_a_key_holder_needs_a_name_a_phone_and_a_calling_order(app, value, key):
    with pytest.raises(services.VaultError) as refused:
        make("key_holder", value)
    assert refused.value.key == key


def test_a_text_value_and_a_label_are_required_and_bounded(app):
    for fields, key in [
        ({"value": "  "}, "value_required"),
        ({"value": "x" * 2001}, "value_too_long"),
        ({"label": " "}, "label_required"),
        ({"label": "x" * 201}, "label_too_long"),
        ({"category": "pin"}, "bad_value"),
        ({"sensitivity": "secret"}, "bad_value"),
    ]:
        with pytest.raises(services.VaultError) as refused:
            make(**fields)
        assert refused.value.key == key


@pytest.mark.parametrize(
    ("category", "sensitivity"),
    [
        ("alarm_code", "restricted"),
        ("callback_password", "restricted"),
        ("client_personnel", "restricted"),
        ("key_holder", "operational"),
        ("access_instructions", "operational"),
        ("other", "operational"),
    ],
)
def test_sensitivity_defaults_by_category(app, category, sensitivity):
    value = KEY_HOLDER if category == "key_holder" else "值"
    assert make(category, value).sensitivity == sensitivity
    assert make(category, value, sensitivity="restricted").sensitivity == "restricted"


def test_a_record_belongs_to_a_site_or_a_client_never_both_nor_neither(app):
    client = gen_client()
    assert make(site=None, client=client).client_id == client.id
    with pytest.raises(ValueError):
        make(site=gen_site(client), client=client)
    with pytest.raises(ValueError):
        make(site=None)
    record = make(site=gen_site(client))
    db.session.commit()
    record.client_id = client.id  # bypassing the service: the CHECK constraint refuses
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_retain_until_defaults_to_the_contract_end_plus_the_configured_months(app):
    client = gen_client(contract_end_on=date(2027, 1, 31))
    app.config["VAULT_RETAIN_MONTHS"] = 13
    assert make(site=gen_site(client)).retain_until == date(2028, 2, 29)
    assert make(site=None, client=client, retain_until=date(2030, 1, 1)).retain_until == date(
        2030, 1, 1
    )
    assert make(site=gen_site()).retain_until is None  # no contract end known


def test_changing_a_value_reseals_it_under_the_current_key(app):
    record = stored(make(value="1111#"))
    old = record.value_ciphertext
    app.config["DATA_KEYS"] = crypto.new_key_entry("k2") + "," + app.config["DATA_KEYS"]
    services.change_value(record, user=gen_user("supervisor"), value="2222#", label="新密碼")
    record = stored(record)
    assert record.key_id == "k2" and record.value_ciphertext != old
    assert record.label == "新密碼" and services.read_value(record) == "2222#"


def test_the_audit_rows_name_the_record_but_never_the_value(app):
    user = gen_user("supervisor")
    record = make(value="4711#", user=user)
    services.change_value(record, user=user, value="9876#")
    db.session.commit()
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.target == f"confidential_record:{record.id}")
    ).all()
    assert [e.action for e in events] == ["vault.create", "vault.change"]
    assert json.loads(events[0].detail)["category"] == "alarm_code"
    for event in events:
        assert "4711" not in event.detail and "9876" not in event.detail


def test_every_encrypted_column_is_registered(app):
    """A Text column named *_ciphertext that rotation does not know would never be rotated."""
    registered = {(c.model.__tablename__, c.attribute) for c in services.encrypted_columns()}
    found = {
        (table.name, column.name)
        for table in db.metadata.sorted_tables
        for column in table.columns
        if "ciphertext" in column.name or "encrypted" in column.name
    }
    assert found and found <= registered
