"""The vault's records: create, read, change, and the key ring's upkeep. Flush, never commit.

`read_value` only decrypts: whoever shows a value to a person writes the access-log row
first (SECURITY.md decision 7; the reveal service of issue 12 item 6).
"""

from __future__ import annotations

import functools
import json
import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any, ClassVar

from flask import Flask, current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, inspect, select, update
from sqlalchemy.exc import OperationalError

from app import audit
from app.auth import totp as auth_totp
from app.auth.models import TotpCredential
from app.db import Base, new_uuid, utcnow
from app.errors import DomainError
from app.extensions import db
from app.pagination import Page, paginate
from app.sites.models import Client, Site
from app.vault import crypto
from app.vault.access import log_access
from app.vault.models import (
    CATEGORIES,
    DEFAULT_SENSITIVITY,
    PURPOSES,
    SENSITIVITIES,
    ConfidentialRecord,
)

log = logging.getLogger(__name__)

LABEL_MAX = 200
TEXT_MAX = 2000
PHONES_MAX = 5


class VaultError(DomainError):
    messages: ClassVar = {
        "bad_value": _l("Choose from the list."),
        "label_required": _l("Give the record a label."),
        "label_too_long": _l("The label is too long (at most 200 characters)."),
        "value_required": _l("Enter the value."),
        "value_too_long": _l("The value is too long (at most 2000 characters)."),
        "name_required": _l("Enter the key holder's name."),
        "phone_required": _l("Enter at least one phone number (at most five)."),
        "bad_calling_order": _l("The calling order is a number from 1 to 99."),
        "purpose_required": _l("Choose why you need the value."),
        "purpose_text_required": _l("Say what you need the value for."),
    }


# ---------------------------------------------------------------- the key ring


@dataclass(frozen=True)
class EncryptedColumn:
    """One encrypted column: where it is, what its associated data names, where its key id is."""

    model: type[Base]
    #: The attribute holding the ciphertext.
    attribute: str
    #: The field name in the associated data (with the row's `uuid`).
    field: str
    #: The attribute holding the key id in clear.
    key_id_attribute: str = "key_id"


def encrypted_columns() -> list[EncryptedColumn]:
    """Every encrypted value in the database: rotation and the start-up check walk these.
    A new encrypted column is added here, or it is never rotated."""
    return [
        EncryptedColumn(ConfidentialRecord, "value_ciphertext", "value"),
        # Users' TOTP secrets (app/auth/totp.py), bound to the credential row's uuid.
        EncryptedColumn(TotpCredential, "secret_ciphertext", auth_totp.FIELD),
    ]


def key_ring(app: Flask | None = None) -> crypto.KeyRing:
    """The app's DATA_KEYS, parsed (once per distinct setting)."""
    return _parsed_ring((app or current_app).config.get("DATA_KEYS") or "")


_parsed_ring = functools.lru_cache(maxsize=8)(crypto.parse_key_ring)


def _seal_for_auth(plaintext: bytes, record_uuid: str, field: str) -> tuple[str, str]:
    ring = key_ring()
    token = crypto.encrypt(plaintext, ring=ring, record_uuid=record_uuid, field=field)
    return token, ring.current_id


def _open_for_auth(token: str, record_uuid: str, field: str) -> bytes:
    return crypto.decrypt(token, ring=key_ring(), record_uuid=record_uuid, field=field)


# auth sits below the vault: it keeps TOTP secrets with the vault's cipher, registered here.
auth_totp.CIPHER.update(seal=_seal_for_auth, open=_open_for_auth)


def _seal(record: ConfidentialRecord, value: str | dict[str, Any]) -> None:
    plaintext = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
    ring = key_ring()
    record.value_ciphertext = crypto.encrypt(
        plaintext, ring=ring, record_uuid=record.uuid, field="value"
    )
    record.key_id = ring.current_id


# ---------------------------------------------------------------- values


def clean_value(category: str, value: Any) -> str | dict[str, Any]:
    """The value as stored: stripped text, or for a key holder its structure (name, phones,
    relation, calling order); VaultError naming what is missing."""
    if category != "key_holder":
        text = value.strip() if isinstance(value, str) else ""
        if not text:
            raise VaultError("value_required", field="value")
        if len(text) > TEXT_MAX:
            raise VaultError("value_too_long", field="value")
        return text
    value = value if isinstance(value, dict) else {}
    name = str(value.get("name") or "").strip()
    phones = [str(p).strip() for p in value.get("phones") or [] if str(p).strip()]
    relation = str(value.get("relation") or "").strip()
    try:
        calling_order = int(value.get("calling_order") or 0)
    except (TypeError, ValueError):
        calling_order = 0
    if not name:
        raise VaultError("name_required", field="name")
    if not phones or len(phones) > PHONES_MAX or any(len(p) > 40 for p in phones):
        raise VaultError("phone_required", field="phones")
    if not 1 <= calling_order <= 99:
        raise VaultError("bad_calling_order", field="calling_order")
    if len(name) > 100 or len(relation) > 100:
        raise VaultError("value_too_long", field="value")
    return {"name": name, "phones": phones, "relation": relation, "calling_order": calling_order}


def _clean_label(label: str) -> str:
    label = (label or "").strip()
    if not label:
        raise VaultError("label_required", field="label")
    if len(label) > LABEL_MAX:
        raise VaultError("label_too_long", field="label")
    return label


def _add_months(day: date, months: int) -> date:
    """`day` plus whole months, on the month's last day where the day does not exist."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for last in (31, 30, 29, 28):
        try:
            return day.replace(year=year, month=month, day=min(day.day, last))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - every month has a 28th


def default_retain_until(client: Client) -> date | None:
    """The client's contract end plus VAULT_RETAIN_MONTHS; None while the end is not known."""
    if client.contract_end_on is None:
        return None
    try:
        return _add_months(client.contract_end_on, current_app.config["VAULT_RETAIN_MONTHS"])
    except ValueError:  # beyond year 9999
        return date.max


def create_record(
    *,
    user,
    category: str,
    label: str,
    value: str | dict[str, Any],
    site: Site | None = None,
    client: Client | None = None,
    sensitivity: str | None = None,
    retain_until: date | None = None,
    uuid: str | None = None,
) -> ConfidentialRecord:
    """A new record of a site or (exclusively) a client, its value encrypted; audited
    without the value."""
    if (site is None) == (client is None):
        raise ValueError("a confidential record belongs to a site or a client, not both")
    if category not in CATEGORIES:
        raise VaultError("bad_value", field="category")
    sensitivity = sensitivity or DEFAULT_SENSITIVITY[category]
    if sensitivity not in SENSITIVITIES:
        raise VaultError("bad_value", field="sensitivity")
    owner_client = client or site.client
    record = ConfidentialRecord(
        uuid=uuid or new_uuid(),
        site=site,
        client=client,
        category=category,
        sensitivity=sensitivity,
        label=_clean_label(label),
        retain_until=retain_until or default_retain_until(owner_client),
        created_by_id=user.id,
    )
    _seal(record, clean_value(category, value))
    db.session.add(record)
    db.session.flush()
    audit.record(
        "vault.create",
        actor=user,
        target=f"confidential_record:{record.id}",
        detail={
            "category": category,
            "sensitivity": sensitivity,
            "site_id": record.site_id,
            "client_id": record.client_id,
            "key_id": record.key_id,
        },
    )
    return record


def read_value(record: ConfidentialRecord) -> str | dict[str, Any]:
    """The decrypted value (text, or a key holder's structure); crypto.DecryptionError when
    it does not authenticate for this record. Writes no access row: the caller does, first."""
    plaintext = crypto.decrypt(
        record.value_ciphertext, ring=key_ring(), record_uuid=record.uuid, field="value"
    )
    return json.loads(plaintext)


def change_value(
    record: ConfidentialRecord, *, user, value: str | dict[str, Any], label: str | None = None
) -> ConfidentialRecord:
    """Replace the value (and the label if given), encrypted under the current key; audited
    without either value."""
    _seal(record, clean_value(record.category, value))
    if label is not None:
        record.label = _clean_label(label)
    record.updated_at = utcnow()
    db.session.flush()
    audit.record(
        "vault.change",
        actor=user,
        target=f"confidential_record:{record.id}",
        detail={"key_id": record.key_id, "label_changed": label is not None},
    )
    return record


# ---------------------------------------------------------------- pages (issue 12 items 1, 4, 6)
# Each writes its access row (log_access) in the caller's transaction; the route commits once.


def client_site_ids(client_id: int) -> frozenset[int]:
    """The active sites of a client: who serves one of them sees the client's own records."""
    return frozenset(
        db.session.scalars(
            select(Site.id).where(Site.client_id == client_id, Site.is_active.is_(True))
        )
    )


def served_client_ids(site_ids) -> frozenset[int]:
    """The clients of the given (active) sites."""
    if not site_ids:
        return frozenset()
    return frozenset(
        db.session.scalars(
            select(Site.client_id)
            .where(Site.id.in_(sorted(site_ids)), Site.is_active.is_(True))
            .distinct()
        )
    )


def list_records(
    *,
    user,
    sensitivities: tuple[str, ...],
    site: Site | None = None,
    client: Client | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page:
    """One page of a site's or a client's records (masked: nothing is decrypted), of the
    sensitivities the user may see. The route writes (and commits) the "list" row first."""
    owner = (
        ConfidentialRecord.site_id == site.id
        if site is not None
        else ConfidentialRecord.client_id == client.id
    )
    stmt = (
        select(ConfidentialRecord)
        .where(owner, ConfidentialRecord.sensitivity.in_(sensitivities))
        .order_by(ConfidentialRecord.category, ConfidentialRecord.label, ConfidentialRecord.id)
    )
    return paginate(stmt, page=page, per_page=per_page)


def site_records_of(
    site: Site, *, category: str, sensitivities: tuple[str, ...]
) -> list[ConfidentialRecord]:
    """A site's records of one category, and its client's own ones (masked: nothing is
    decrypted), of the sensitivities the user may see: what another page offers to reveal,
    e.g. the call-back password on the alarm page."""
    if category not in CATEGORIES or not sensitivities:
        return []
    stmt = (
        select(ConfidentialRecord)
        .where(
            ConfidentialRecord.category == category,
            ConfidentialRecord.sensitivity.in_(sensitivities),
            (ConfidentialRecord.site_id == site.id)
            | (ConfidentialRecord.client_id == site.client_id),
        )
        .order_by(ConfidentialRecord.site_id.is_(None), ConfidentialRecord.label)
    )
    return list(db.session.scalars(stmt))


def add_record(*, user, **fields) -> ConfidentialRecord:
    """create_record, and its "create" access row."""
    record = create_record(user=user, **fields)
    log_access(user, "create", record=record)
    return record


def update_record(
    record: ConfidentialRecord,
    *,
    user,
    label: str,
    value: str | dict[str, Any] | None,
    sensitivity: str | None,
    retain_until: date | None,
) -> ConfidentialRecord:
    """Change the label, sensitivity and retention, and the value when a new one is given
    (None keeps it); a "change" access row, without any value."""
    sensitivity = sensitivity or DEFAULT_SENSITIVITY[record.category]
    if sensitivity not in SENSITIVITIES:
        raise VaultError("bad_value", field="sensitivity")
    label = _clean_label(label)
    if value is not None:
        change_value(record, user=user, value=value, label=label)
    record.label = label
    record.sensitivity = sensitivity
    owner_client = record.client or record.site.client
    record.retain_until = retain_until or default_retain_until(owner_client)
    record.updated_at = utcnow()
    db.session.flush()
    log_access(
        user,
        "change",
        record=record,
        purpose_text="value changed" if value is not None else "",
    )
    return record


def delete_record(record: ConfidentialRecord, *, user) -> None:
    """Delete a record (its ciphertext goes); the "delete" access row keeps its uuid and label."""
    log_access(user, "delete", record=record)
    audit.record(
        "vault.delete",
        actor=user,
        target=f"confidential_record:{record.id}",
        detail={"site_id": record.site_id, "client_id": record.client_id},
    )
    db.session.delete(record)
    db.session.flush()


@dataclass(frozen=True)
class Revealed:
    """What a reveal gives the page: the value, or the error that it did not decrypt."""

    value: str | dict[str, Any] | None
    is_error: bool = False


def clean_purpose(purpose: str, purpose_text: str) -> tuple[str, str]:
    if purpose not in PURPOSES:
        raise VaultError("purpose_required", field="purpose")
    purpose_text = (purpose_text or "").strip()
    if purpose == "other" and not purpose_text:
        raise VaultError("purpose_text_required", field="purpose_text")
    return purpose, purpose_text[:500]


def reveal_record(
    record: ConfidentialRecord, *, user, purpose: str, purpose_text: str = ""
) -> Revealed:
    """Decrypt the value for the person asking, and write the "reveal" row (outcome success,
    or error when the value does not decrypt). The caller commits and only then shows it."""
    purpose, purpose_text = clean_purpose(purpose, purpose_text)
    try:
        value = read_value(record)
    except crypto.DecryptionError as exc:
        log.warning("vault record %s did not decrypt: %s", record.uuid, exc)
        log_access(
            user,
            "reveal",
            record=record,
            purpose=purpose,
            purpose_text=purpose_text,
            outcome="error",
            reason="decrypt",
        )
        return Revealed(None, is_error=True)
    log_access(user, "reveal", record=record, purpose=purpose, purpose_text=purpose_text)
    return Revealed(value)


# ---------------------------------------------------------------- key upkeep


def keys_in_use() -> Counter[str]:
    """How many stored values each key id protects, over every encrypted column."""
    counts: Counter[str] = Counter()
    for column in encrypted_columns():
        key_id = getattr(column.model, column.key_id_attribute)
        for key, count in db.session.execute(select(key_id, func.count()).group_by(key_id)):
            counts[key] += count
    return counts


def missing_key_ids(app: Flask) -> list[str]:
    """Key ids that stored values name and DATA_KEYS lacks: one SELECT DISTINCT per encrypted
    column. Nothing while the tables do not exist yet (before `flask db upgrade`)."""
    ring = key_ring(app)
    missing: set[str] = set()
    with app.app_context(), db.engine.connect() as connection:
        for column in encrypted_columns():
            if not inspect(connection).has_table(column.model.__tablename__):
                continue
            key_id = getattr(column.model, column.key_id_attribute)
            used = connection.scalars(select(key_id).distinct())
            missing.update(key for key in used if key not in ring)
    return sorted(missing)


def require_stored_keys(app: Flask) -> None:
    """Refuse to start (RuntimeError naming the ids) when stored data needs a key the ring
    lacks, rather than fail on every value later. A database that cannot be reached now is
    let pass with a warning: each value still refuses to decrypt without its key."""
    try:
        missing = missing_key_ids(app)
    except OperationalError as exc:
        log.warning("data key check skipped, database unreachable: %s", exc.__class__.__name__)
        return
    if missing:
        ids = ", ".join(missing)
        raise RuntimeError(
            f"DATA_KEYS lacks key id(s) {ids}, which stored confidential values are encrypted "
            f"under. Add {ids} back to DATA_KEYS (after the current key); "
            "`flask keys rotate` then moves those values under the current key."
        )


def rotate_batch(
    column: EncryptedColumn, *, after_id: int = 0, limit: int = 500
) -> tuple[Counter[str], int | None]:
    """Re-encrypt under the current key up to `limit` values of `column` that are not, with
    ids above `after_id`. Returns the count per old key id and the last id looked at (None:
    nothing left). A value changed meanwhile (its ciphertext no longer the one read) is left:
    the change already sealed it under the current key."""
    ring = key_ring()
    model = column.model
    key_id = getattr(model, column.key_id_attribute)
    stored = getattr(model, column.attribute)
    rows = db.session.execute(
        select(model.id, model.uuid, key_id, stored)
        .where(key_id != ring.current_id, model.id > after_id)
        .order_by(model.id)
        .limit(limit)
    ).all()
    counts: Counter[str] = Counter()
    for row_id, row_uuid, old_key_id, token in rows:
        try:
            plaintext = crypto.decrypt(token, ring=ring, record_uuid=row_uuid, field=column.field)
        except crypto.DecryptionError as exc:
            raise crypto.DecryptionError(f"{model.__tablename__} {row_id}: {exc}") from None
        fresh = crypto.encrypt(plaintext, ring=ring, record_uuid=row_uuid, field=column.field)
        changed = db.session.execute(
            update(model)
            .where(model.id == row_id, stored == token)
            .values({column.attribute: fresh, column.key_id_attribute: ring.current_id})
            .execution_options(synchronize_session=False)
        ).rowcount
        if changed:
            counts[old_key_id] += 1
    return counts, (rows[-1][0] if rows else None)
