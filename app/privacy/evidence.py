"""The evidence pack: a ZIP mapping what Guardpost records to 施行細則 §12, for an audit.

CSV files in UTF-8 with a BOM (Excel in Taiwan opens them right), a bilingual README. Never a
confidential value and never a key: the vault's log holds labels and purposes, the key list
holds key ids and counts. Building it writes an audit event and a vault "export" row.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from app import audit, spreadsheet
from app.audit.services import AnchorFileError, last_anchor, verify_chain
from app.auth.models import User
from app.auth.roles import Role
from app.briefings.models import Acknowledgement, Briefing, TrainingAttendance, TrainingSession
from app.db import utcnow
from app.extensions import db
from app.privacy.models import (
    INCIDENT_STEPS,
    NoticeAcknowledgement,
    PermissionReview,
    PrivacyIncident,
)
from app.privacy.notice import current_version
from app.privacy.services import day_start
from app.sites.models import Site
from app.vault import services as vault_services
from app.vault.access import log_access
from app.vault.models import ConfidentialRecord, VaultAccess

BOM = spreadsheet.BOM
STAFF = (Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)

#: The items of 施行細則 §12 (個人資料保護法施行細則 第12條第2項), in order.
ARTICLE_12_ITEMS = (
    ("配置管理人員及相當資源", "Staff and resources assigned to manage personal data"),
    ("界定個人資料之範圍", "Defining the scope of personal data"),
    ("個人資料之風險評估及管理機制", "Risk assessment and management of personal data"),
    ("事故之預防、通報及應變機制", "Incident prevention, notification and response"),
    (
        "個人資料蒐集、處理及利用之內部管理程序",
        "Internal procedures for collecting, processing and using personal data",
    ),
    ("資料安全管理及人員管理", "Data security management and personnel management"),
    ("認知宣導及教育訓練", "Awareness and training"),
    ("設備安全管理", "Equipment security management"),
    ("資料安全稽核機制", "Data security audit mechanism"),
    ("使用紀錄、軌跡資料及證據保存", "Keeping usage records, trail data and evidence"),
    ("個人資料安全維護之整體持續改善", "Continuous improvement of personal data security"),
)

#: Which files answer which item (by index into ARTICLE_12_ITEMS).
ITEM_FILES = (
    ("staff.csv", "permission_reviews.csv"),
    ("notice_acknowledgements.csv", "README.txt §B"),
    ("permission_reviews.csv", "vault_access.csv"),
    ("privacy_incidents.csv",),
    ("vault_access.csv", "notice_acknowledgements.csv"),
    ("pledge_acknowledgements.csv", "staff.csv", "permission_reviews.csv"),
    ("training_summary.csv", "pledge_acknowledgements.csv"),
    ("keys_in_use.csv",),
    ("audit_chain.txt", "permission_reviews.csv"),
    ("vault_access.csv", "audit_chain.txt"),
    ("privacy_incidents.csv", "permission_reviews.csv"),
)


def _cell(value) -> str:
    """A cell a spreadsheet will not run as a formula (names and notes are typed by people)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return (
            value.astimezone().isoformat(timespec="seconds") if value.tzinfo else value.isoformat()
        )
    return spreadsheet.csv_cell(value)


def _csv(header: list[str], rows: Iterable[Iterable]) -> bytes:
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue().encode("utf-8")


def _utc(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Pack:
    data: bytes
    filename: str
    files: list[str]


def _vault_access(start: datetime, end: datetime) -> bytes:
    rows = db.session.execute(
        select(VaultAccess, Site.code)
        .outerjoin(Site, Site.id == VaultAccess.site_id)
        .where(VaultAccess.at >= start, VaultAccess.at < end)
        .order_by(VaultAccess.at, VaultAccess.id)
        .execution_options(yield_per=500)
    )
    header = [
        "at_utc", "username", "role", "action", "outcome", "reason", "purpose", "purpose_text",
        "site", "client_id", "record_uuid", "record_label", "ip", "user_agent", "audit_seq",
    ]  # fmt: skip
    return _csv(
        header,
        (
            [
                _utc(a.at),
                a.user_name,
                a.role,
                a.action,
                a.outcome,
                a.reason,
                a.purpose,
                a.purpose_text,
                code or "",
                a.client_id or "",
                a.record_uuid,
                a.record_label,
                a.ip,
                a.user_agent,
                a.audit_seq or "",
            ]
            for a, code in rows
        ),
    )


def _staff() -> bytes:
    """Every staff account, its role and state, and whether it acknowledged the current
    notice and pledge (the people who handle personal data, and their undertakings)."""
    from app.briefings.services import current_pledge

    pledge = current_pledge()
    notice_ids = set(
        db.session.scalars(
            select(NoticeAcknowledgement.user_id).where(
                NoticeAcknowledgement.version == current_version()
            )
        )
    )
    pledge_ids = (
        set(
            db.session.scalars(
                select(Acknowledgement.user_id).where(
                    Acknowledgement.briefing_id == pledge.id,
                    Acknowledgement.version == pledge.version,
                )
            )
        )
        if pledge
        else set()
    )
    users = db.session.scalars(
        select(User).where(User.role.in_(STAFF)).order_by(User.role, User.username)
    )
    header = ["username", "name", "role", "active", "notice_current", "pledge_current"]
    return _csv(
        header,
        (
            [
                u.username,
                u.display_name,
                u.role,
                "yes" if u.is_active else "no",
                "yes" if u.id in notice_ids else "no",
                "yes" if u.id in pledge_ids else "no",
            ]
            for u in users
        ),
    )


def _pledge_acknowledgements() -> bytes:
    rows = db.session.execute(
        select(Acknowledgement, Briefing.title, User.username, User.role)
        .join(Briefing, Briefing.id == Acknowledgement.briefing_id)
        .join(User, User.id == Acknowledgement.user_id)
        .where(Briefing.kind == "pledge")
        .order_by(Acknowledgement.at, Acknowledgement.id)
    )
    header = ["at_utc", "username", "role", "pledge", "pledge_id", "version"]
    return _csv(
        header,
        (
            [_utc(a.at), name, role, title, a.briefing_id, a.version]
            for a, title, name, role in rows
        ),
    )


def _notice_acknowledgements() -> bytes:
    rows = db.session.execute(
        select(NoticeAcknowledgement, User.username, User.role)
        .join(User, User.id == NoticeAcknowledgement.user_id)
        .order_by(NoticeAcknowledgement.at, NoticeAcknowledgement.id)
    )
    header = ["at_utc", "username", "role", "notice_version", "ip"]
    return _csv(header, ([_utc(a.at), name, role, a.version, a.ip] for a, name, role in rows))


def _permission_reviews() -> bytes:
    rows = db.session.execute(
        select(PermissionReview, Site.code, Site.name)
        .join(Site, Site.id == PermissionReview.site_id)
        .order_by(PermissionReview.reviewed_at, PermissionReview.id)
    )
    header = ["reviewed_at_utc", "site", "site_name", "reviewer", "people", "note"]
    return _csv(
        header,
        (
            [_utc(r.reviewed_at), code, name, r.reviewer_name, r.people_count, r.note]
            for r, code, name in rows
        ),
    )


def _incidents() -> bytes:
    closer = aliased(User)
    rows = db.session.execute(
        select(PrivacyIncident, closer.username)
        .outerjoin(closer, closer.id == PrivacyIncident.closed_by_id)
        .order_by(PrivacyIncident.discovered_at, PrivacyIncident.id)
    )
    header = [
        "id", "discovered_at_utc", "status", "summary", "data_categories", "subjects_count",
        "containment", "cause", "subjects_notified_at_utc", "subjects_notice",
        "authority_notified_at_utc", "authority", "improvements",
        *[f"{step}_not_applicable_because" for step in INCIDENT_STEPS],
        "closed_at_utc", "closed_by",
    ]  # fmt: skip
    return _csv(
        header,
        (
            [
                i.id,
                _utc(i.discovered_at),
                i.status,
                i.summary,
                i.data_categories,
                "" if i.subjects_count is None else i.subjects_count,
                i.containment,
                i.cause,
                _utc(i.subjects_notified_at),
                i.subjects_notice,
                _utc(i.authority_notified_at),
                i.authority,
                i.improvements,
                *[i.na_reason(step) for step in INCIDENT_STEPS],
                _utc(i.closed_at),
                closed_by or "",
            ]
            for i, closed_by in rows
        ),
    )


def _training(first: date, last: date) -> bytes:
    attendees = (
        select(TrainingAttendance.session_id, func.count().label("n"))
        .group_by(TrainingAttendance.session_id)
        .subquery()
    )
    rows = db.session.execute(
        select(TrainingSession, attendees.c.n)
        .outerjoin(attendees, attendees.c.session_id == TrainingSession.id)
        .where(TrainingSession.held_on >= first, TrainingSession.held_on <= last)
        .order_by(TrainingSession.held_on, TrainingSession.id)
    )
    header = ["held_on", "topic", "hours", "trainer", "attendees", "has_evidence"]
    return _csv(
        header,
        (
            [
                s.held_on.isoformat(),
                s.topic,
                s.hours,
                s.trainer,
                n or 0,
                "yes" if s.evidence_photo_id else "no",
            ]
            for s, n in rows
        ),
    )


def _keys_in_use() -> bytes:
    """Key ids only: how many values each protects, whether the ring has it, which is current."""
    ring = vault_services.key_ring()
    counts = dict(
        db.session.execute(
            select(ConfidentialRecord.key_id, func.count()).group_by(ConfidentialRecord.key_id)
        ).all()
    )
    ids = list(ring.keys) + sorted(k for k in counts if k not in ring)
    header = ["key_id", "encrypted_values", "in_key_ring", "current"]
    return _csv(
        header,
        (
            [
                key_id,
                counts.get(key_id, 0),
                "yes" if key_id in ring else "no",
                "yes" if key_id == ring.current_id else "no",
            ]
            for key_id in ids
        ),
    )


def _audit_chain() -> tuple[bytes, bool]:
    """Verify the chain in a session of its own (verify_chain empties the session it uses,
    which would detach the signed-in user of this request)."""
    with current_app.app_context():
        try:
            anchor = last_anchor()
            anchor_note = ""
        except AnchorFileError as exc:
            anchor, anchor_note = None, str(exc)
        result = verify_chain(anchor=anchor)
        db.session.remove()
    lines = [
        "Audit chain verification / 稽核軌跡鏈驗證",
        f"checked_at_utc: {_utc(utcnow())}",
        f"rows: {result.count}",
        f"intact: {'yes' if result.is_intact else 'NO'}",
    ]
    if not result.is_intact:
        lines += [f"first_bad_seq: {result.first_bad_seq}", f"reason: {result.reason}"]
    if result.anchor is not None:
        lines.append(f"anchor: seq {result.anchor.seq} of {result.anchor.when}")
    else:
        lines.append("anchor: none written yet (flask audit anchor)")
    if anchor_note:
        lines.append(f"anchor_file_error: {anchor_note}")
    return (BOM + "\r\n".join(lines) + "\r\n").encode("utf-8"), result.is_intact


def _readme(first: date, last: date, *, user, intact: bool) -> bytes:
    lines = [
        "Guardpost — 個人資料保護 證據包 / Personal data protection evidence pack",
        "",
        f"產出時間 Generated (UTC): {_utc(utcnow())}",
        f"產出人 Generated by: {user.display_name} ({user.username})",
        f"期間 Period: {first.isoformat()} – {last.isoformat()} (Asia/Taipei)",
        f"稽核軌跡鏈 Audit chain intact: {'是 yes' if intact else '否 NO — see audit_chain.txt'}",
        "",
        "本證據包不含任何機密資料之內容，亦不含任何金鑰。",
        "This pack holds no confidential value and no key: labels, purposes and key ids only.",
        "",
        "A. 個人資料保護法施行細則第12條第2項各款 與本證據包檔案之對應",
        "   Items of Enforcement Rules Art. 12 (2) and the files that evidence them",
        "",
    ]
    for n, ((zh, en), files) in enumerate(zip(ARTICLE_12_ITEMS, ITEM_FILES, strict=True), 1):
        lines.append(f"{n:>2}. {zh} / {en}")
        lines.append(f"    → {', '.join(files)}")
    lines += [
        "",
        "B. 檔案說明 Files",
        "",
        "vault_access.csv — 機密資料存取紀錄（期間內）：誰、何時、何事、目的、結果、位址。",
        "    Access log of confidential information (in the period): who, when, what, purpose,",
        "    outcome, address. Each row names its audit-chain row (audit_seq).",
        "pledge_acknowledgements.csv — 保密切結之簽署紀錄 / confidentiality pledge",
        "    acknowledgements.",
        "notice_acknowledgements.csv — 個資法第8條告知之確認紀錄 / Art. 8 collection notice",
        f"    acknowledgements (current version {current_version()}).",
        "staff.csv — 人員、角色、是否已確認現行告知與保密切結 / staff, roles, current notice and",
        "    pledge acknowledged.",
        "permission_reviews.csv — 各案場機密資料存取權限之定期檢視 / periodic reviews of who may",
        "    access each site's confidential information.",
        "privacy_incidents.csv — 個資事故登記及處理步驟 / personal-data incident register.",
        "training_summary.csv — 期間內之教育訓練 / training sessions held in the period.",
        "audit_chain.txt — 稽核軌跡（HMAC 鏈）驗證結果 / audit chain (HMAC) verification result.",
        "keys_in_use.csv — 欄位加密金鑰代號及其保護之筆數（不含金鑰）/ field-encryption key ids",
        "    and how many values each protects (no keys).",
        "",
        "The notice tells staff what is recorded about them: check-in time and the location their",
        "phone reported, photos they take, the access log of confidential information, sign-in",
        "records (time, address, device) and training records.",
        "告知內容：簽到時間及手機回報之位置、所拍攝之照片、機密資料存取紀錄、登入紀錄（時間、位址、",
        "裝置）及教育訓練紀錄。",
        "",
        "時間欄位為 UTC（ISO 8601）。CSV 為 UTF-8（含 BOM）。",
        "Times are UTC (ISO 8601). CSV files are UTF-8 with a BOM.",
    ]
    return (BOM + "\r\n".join(lines) + "\r\n").encode("utf-8")


FILES = (
    "README.txt",
    "vault_access.csv",
    "pledge_acknowledgements.csv",
    "notice_acknowledgements.csv",
    "staff.csv",
    "permission_reviews.csv",
    "privacy_incidents.csv",
    "training_summary.csv",
    "audit_chain.txt",
    "keys_in_use.csv",
)


def build_pack(*, user, first: date, last: date) -> Pack:
    """The evidence pack for [first, last] (Taiwan days); audited, and logged as a vault
    export, in the caller's transaction (commit it before sending the file)."""
    if last < first:
        first, last = last, first
    start, end = day_start(first), day_start(last + timedelta(days=1))
    chain, intact = _audit_chain()
    contents = {
        "vault_access.csv": _vault_access(start, end),
        "pledge_acknowledgements.csv": _pledge_acknowledgements(),
        "notice_acknowledgements.csv": _notice_acknowledgements(),
        "staff.csv": _staff(),
        "permission_reviews.csv": _permission_reviews(),
        "privacy_incidents.csv": _incidents(),
        "training_summary.csv": _training(first, last),
        "audit_chain.txt": chain,
        "keys_in_use.csv": _keys_in_use(),
    }
    contents["README.txt"] = _readme(first, last, user=user, intact=intact)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in FILES:
            archive.writestr(name, contents[name])
    period = {"from": first.isoformat(), "to": last.isoformat()}
    log_access(
        user,
        "export",
        purpose="audit",
        purpose_text=f"evidence pack {period['from']}..{period['to']}",
    )
    audit.record(
        "privacy.evidence_pack",
        actor=user,
        target="privacy:evidence_pack",
        detail={**period, "files": list(FILES), "audit_chain_intact": intact},
    )
    filename = f"guardpost-evidence-{first.isoformat()}-{last.isoformat()}.zip"
    return Pack(buffer.getvalue(), filename, list(FILES))
