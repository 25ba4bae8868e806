"""The permission table: every route in app.url_map, for every role. A new route without an
entry here fails the suite, and so does an entry whose route is gone."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import func, select

from app.arming import services as arming
from app.audit.models import AuditEvent
from app.auth.models import UserSession
from app.briefings.models import (
    Briefing,
    BriefingAttachment,
    BriefingSite,
    TrainingAttendance,
    TrainingSession,
)
from app.company import images as company_images
from app.custody.models import KeyBag
from app.db import new_uuid, utcnow
from app.extensions import db
from app.i18n import taipei_now_input
from app.incidents.models import AlarmResponse
from app.inspections.models import Answer
from app.maintenance.models import RepairTicket
from app.photos.models import Photo
from app.privacy.models import PrivacyIncident
from app.sites.models import CheckIn, Equipment
from app.vault import services as vault
from tests import factories

KEY_HOLDER = {"name": "王大明", "phones": ["0912-000-111"], "relation": "店長", "calling_order": 1}

ANONYMOUS = "anonymous"
ROLES = ["guard", "supervisor", "manager", "admin", "client"]
EVERYONE = frozenset([ANONYMOUS, *ROLES])
SIGNED_IN = frozenset(ROLES)
ADMIN = frozenset(["admin"])


FIELD = frozenset(["guard", "supervisor"])
SUPERVISOR_MANAGER = frozenset(["supervisor", "manager"])
MANAGER = frozenset(["manager"])
SUPERVISOR = frozenset(["supervisor"])
NOBODY = frozenset()
REGISTRY = frozenset(["manager", "admin"])
#: Roles without a vault (403 whatever the object), and those that may not keep records.
NO_VAULT = frozenset(["admin", "client"])
KEEPS = NO_VAULT | {"guard"}
#: Who reads access logs (supervisors their sites'), and who is refused them outright.
LOGS = frozenset(["supervisor", "manager", "admin"])
NO_LOGS = frozenset(["guard", "client"])
STAFF = frozenset(["guard", "supervisor", "manager", "admin"])
#: Who may set up second factors (TOTP, passkeys, recovery codes).
FACTORS = frozenset(["supervisor", "manager", "admin"])
#: Who gets push notifications on the phone (dispatches, late alarms, keys, briefings).
PUSH = frozenset(["guard", "supervisor", "manager"])
#: Client users (業主): the portal of their own client's sites.
CLIENT = frozenset(["client"])
#: Who reads control-record sheets (clients: only released ones of their own client).
SHEETS = frozenset(["supervisor", "manager", "client"])


@dataclass(frozen=True)
class Entry:
    method: str
    #: May name {target} (another user), {target_session}, {own_session}, {site} (assigned to
    #: the acting guard or supervisor), {other_site} (not assigned), {token}, {other_token},
    #: {client}, {equipment}, {uuid} (a fresh one), {check_in} (another's, without location).
    path: str
    allowed: frozenset
    data: tuple = ()
    #: True: the path names an object, and to a role that may not see it, it does not exist —
    #: 404 and a denied audit row. False: the route itself is refused — 403.
    hidden: bool = False
    #: Roles that see the object but may not do this to it: 403.
    forbidden: frozenset = frozenset()
    #: A machine's route with its own bearer token: no session opens it, everyone gets 401.
    token_auth: bool = False

    def denied_status(self, role: str) -> int:
        return 404 if self.hidden and role not in self.forbidden else 403


TABLE: dict[str, Entry] = {
    "static": Entry("GET", "/static/css/app.css", EVERYONE),
    "main.home": Entry("GET", "/", SIGNED_IN),
    "ops.healthz": Entry("GET", "/healthz", EVERYONE),
    # Open from this machine (the test client's 127.0.0.1) or to METRICS_TOKEN; from anywhere
    # else 404, whoever is signed in (tests/ops/test_metrics.py).
    "ops.metrics": Entry("GET", "/metrics", EVERYONE),
    "auth.login": [Entry("GET", "/login", EVERYONE), Entry("POST", "/login", EVERYONE)],
    "auth.logout": Entry("POST", "/logout", SIGNED_IN),
    "auth.account": Entry("GET", "/account", SIGNED_IN),
    "auth.revoke_own_session": Entry("POST", "/account/sessions/{own_session}/revoke", SIGNED_IN),
    "auth.change_password": [
        Entry("GET", "/account/password", SIGNED_IN),
        Entry("POST", "/account/password", SIGNED_IN),
    ],
    "auth.step_up": [
        Entry("GET", "/account/step-up", SIGNED_IN),
        Entry("POST", "/account/step-up", SIGNED_IN),
    ],
    "auth.step_up_passkey_options": Entry("POST", "/account/step-up/passkey/options", SIGNED_IN),
    "auth.step_up_passkey": Entry("POST", "/account/step-up/passkey", SIGNED_IN),
    "auth.second_factor": [
        Entry("GET", "/login/second-factor", EVERYONE),
        Entry("POST", "/login/second-factor", EVERYONE),
    ],
    "auth.passkey_sign_in_options": Entry("POST", "/login/passkey/options", EVERYONE),
    "auth.passkey_sign_in": Entry("POST", "/login/passkey", EVERYONE),
    "auth.security": Entry("GET", "/account/security", FACTORS),
    "auth.totp_enrol": [
        Entry("GET", "/account/security/totp", FACTORS),
        Entry("POST", "/account/security/totp", FACTORS),
    ],
    "auth.totp_disable": Entry("POST", "/account/security/totp/disable", FACTORS),
    "auth.recovery_codes": Entry("POST", "/account/security/recovery-codes", FACTORS),
    "auth.passkey_register_options": Entry("POST", "/account/passkeys/options", FACTORS),
    "auth.passkey_register": Entry("POST", "/account/passkeys", FACTORS),
    "auth.passkey_remove": Entry("POST", "/account/passkeys/{own_passkey}/remove", FACTORS),
    "auth.users": Entry("GET", "/admin/users", ADMIN),
    "auth.user_new": [
        Entry("GET", "/admin/users/new", ADMIN),
        Entry("POST", "/admin/users/new", ADMIN),
    ],
    "auth.user_edit": [
        Entry("GET", "/admin/users/{target}", ADMIN),
        Entry("POST", "/admin/users/{target}", ADMIN),
    ],
    "auth.user_set_active": Entry("POST", "/admin/users/{target}/active", ADMIN),
    "auth.user_reset_password": Entry("POST", "/admin/users/{target}/reset-password", ADMIN),
    "auth.user_revoke_session": Entry(
        "POST", "/admin/users/{target}/sessions/{target_session}/revoke", ADMIN
    ),
    "auth.user_revoke_all": Entry("POST", "/admin/users/{target}/sessions/revoke-all", ADMIN),
    "sites.user_sites": Entry("POST", "/admin/users/{target}/sites", ADMIN),
    "sites.clients": Entry("GET", "/clients", REGISTRY),
    # The logo and seal: the admin uploads, previews and removes them (the world has both).
    "company.image": [
        Entry("GET", "/admin/company/logo", ADMIN),
        Entry("GET", "/admin/company/seal", ADMIN),
    ],
    "company.upload_image": Entry("POST", "/admin/company/seal", ADMIN),
    "company.remove_image": Entry("POST", "/admin/company/logo/remove", ADMIN),
    "company.settings": [
        Entry("GET", "/admin/company", ADMIN),
        Entry("POST", "/admin/company", ADMIN, data=(("date_calendar", "roc"),)),
    ],
    "sites.client_new": [
        Entry("GET", "/clients/new", ADMIN),
        Entry("POST", "/clients/new", ADMIN),
    ],
    "sites.client_edit": [
        Entry("GET", "/clients/{client}", REGISTRY),
        Entry("POST", "/clients/{client}", ADMIN),
    ],
    "offboarding.client": Entry("GET", "/clients/{client}/offboarding", MANAGER),
    "offboarding.export": Entry("POST", "/clients/{client}/offboarding/export", MANAGER),
    "offboarding.purge": Entry(
        "POST", "/clients/{client}/offboarding/purge", MANAGER, (("confirmation", "x"),)
    ),
    "sites.sites": Entry("GET", "/sites", FIELD | REGISTRY),
    "sites.site_new": [
        Entry("GET", "/sites/new", ADMIN),
        Entry("POST", "/sites/new", ADMIN),
    ],
    "sites.site_edit": [
        Entry("GET", "/sites/{site}/edit", ADMIN),
        Entry("POST", "/sites/{site}/edit", ADMIN),
    ],
    "main.site_card": [
        Entry("GET", "/sites/{site}", FIELD | REGISTRY, hidden=True),
        Entry("GET", "/sites/{other_site}", REGISTRY, hidden=True),
    ],
    "sites.site_users": Entry("POST", "/sites/{site}/users", ADMIN),
    "sites.bulk_assign": [
        Entry("GET", "/sites/bulk-assign", ADMIN),
        Entry("POST", "/sites/bulk-assign", ADMIN),
    ],
    "sites.equipment_new": [
        Entry("GET", "/sites/{site}/equipment/new", ADMIN),
        Entry("POST", "/sites/{site}/equipment/new", ADMIN),
    ],
    "sites.equipment_edit": [
        Entry("GET", "/equipment/{equipment}", ADMIN),
        Entry("POST", "/equipment/{equipment}", ADMIN),
    ],
    "sites.qr_svg": Entry("GET", "/sites/{site}/qr.svg", REGISTRY),
    "sites.qr_png": Entry("GET", "/sites/{site}/qr.png", REGISTRY),
    "sites.qr_rotate": Entry("POST", "/sites/{site}/qr/rotate", ADMIN),
    "sites.labels_sheet": Entry("GET", "/sites/labels?site={site}", REGISTRY),
    "sites.scan_landing": [
        Entry("GET", "/s/{token}", FIELD | {"manager"}, hidden=True),
        Entry("GET", "/s/{other_token}", frozenset(["manager"]), hidden=True),
    ],
    "sites.check_in": [
        Entry(
            "POST", "/s/{token}/check-in", FIELD | {"manager"}, (("uuid", "{uuid}"),), hidden=True
        ),
        Entry(
            "POST",
            "/s/{other_token}/check-in",
            frozenset(["manager"]),
            (("uuid", "{uuid}"),),
            hidden=True,
        ),
    ],
    "sites.code_check_in_page": [
        Entry("GET", "/sites/{site}/check-in", FIELD | {"manager"}, hidden=True),
        Entry("GET", "/sites/{other_site}/check-in", frozenset(["manager"]), hidden=True),
    ],
    "sites.code_check_in": [
        Entry(
            "POST",
            "/sites/{site}/check-in",
            FIELD | {"manager"},
            (("uuid", "{uuid}"),),
            hidden=True,
        ),
        Entry(
            "POST",
            "/sites/{other_site}/check-in",
            frozenset(["manager"]),
            (("uuid", "{uuid}"),),
            hidden=True,
        ),
    ],
    # One's own check-in only (tests/sites/test_check_in.py): another's does not exist.
    "sites.check_in_location": Entry(
        "POST", "/check-ins/{check_in}/location", NOBODY, (("latitude", "25"),), hidden=True
    ),
    "sites.scanner": Entry("GET", "/scan", FIELD | {"manager"}),
    "sites.scan_code": Entry("POST", "/scan/code", FIELD | {"manager"}, (("code", "NOPE-1"),)),
    "sites.check_ins": Entry("GET", "/check-ins", FIELD | {"manager"}),
    "inspections.checklists": Entry("GET", "/checklists", REGISTRY),
    "inspections.checklist": Entry("GET", "/checklists/1", REGISTRY),
    "inspections.checklist_preview": Entry("GET", "/checklists/1/preview", REGISTRY),
    "inspections.item_new": [
        Entry("GET", "/checklists/1/items/new", REGISTRY),
        Entry("POST", "/checklists/1/items/new", REGISTRY),
    ],
    "inspections.item_edit": [
        Entry("GET", "/checklist-items/1", REGISTRY),
        Entry("POST", "/checklist-items/1", REGISTRY),
    ],
    "inspections.item_move": Entry("POST", "/checklist-items/1/move", REGISTRY),
    "inspections.item_retire": Entry("POST", "/checklist-items/1/retire", REGISTRY),
    "inspections.start": [
        Entry("POST", "/sites/{site}/inspections", SUPERVISOR_MANAGER, hidden=True),
        Entry("POST", "/sites/{other_site}/inspections", MANAGER, hidden=True),
    ],
    "inspections.inspections": Entry("GET", "/inspections", SUPERVISOR_MANAGER),
    # {draft} and {submitted} were run at {site} by another supervisor: only he answers.
    "inspections.inspection": [
        Entry("GET", "/inspections/{draft}", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/inspections/{foreign}", MANAGER, hidden=True),
    ],
    "inspections.answer": Entry(
        "POST",
        "/inspections/{draft}/items/1",
        NOBODY,
        (("value", "pass"),),
        hidden=True,
        forbidden=SUPERVISOR_MANAGER,
    ),
    "inspections.answer_photo": Entry(
        "POST",
        "/inspections/{draft}/items/1/photos",
        NOBODY,
        hidden=True,
        forbidden=SUPERVISOR_MANAGER,
    ),
    "inspections.submit": Entry(
        "POST", "/inspections/{draft}/submit", NOBODY, hidden=True, forbidden=SUPERVISOR_MANAGER
    ),
    "inspections.amend": Entry(
        "POST",
        "/inspections/{submitted}/amend",
        MANAGER,
        (("item_id", "1"), ("value", "pass"), ("reason", "typo")),
        hidden=True,
        forbidden=frozenset(["supervisor"]),
    ),
    "photos.photo": [
        Entry("GET", "/photos/{photo}", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/photos/{training_photo}", NOBODY, hidden=True),
    ],
    "photos.thumb": [
        Entry("GET", "/photos/{photo}/thumb", SUPERVISOR_MANAGER, hidden=True),
        # Training evidence filed under {site}: served by its session's route only.
        Entry("GET", "/photos/{training_photo}/thumb", NOBODY, hidden=True),
    ],
    "incidents.incidents": Entry("GET", "/incidents", FIELD | MANAGER),
    "incidents.incident_new": [
        Entry("GET", "/incidents/new", FIELD | MANAGER),
        Entry("POST", "/incidents/new", FIELD | MANAGER),
    ],
    "incidents.incident": [
        Entry("GET", "/incidents/{incident}", FIELD | MANAGER, hidden=True),
        Entry("GET", "/incidents/{foreign_incident}", MANAGER, hidden=True),
    ],
    "incidents.incident_update": Entry(
        "POST",
        "/incidents/{incident}/updates",
        SUPERVISOR_MANAGER,
        (("note", "checked"),),
        hidden=True,
        forbidden=frozenset(["guard"]),
    ),
    "incidents.incident_notified": Entry(
        "POST",
        "/incidents/{incident}/notified",
        SUPERVISOR_MANAGER,
        (("who", "client"),),
        hidden=True,
        forbidden=frozenset(["guard"]),
    ),
    "incidents.incident_police_case_number": Entry(
        "POST",
        "/incidents/{incident}/police-case-number",
        SUPERVISOR_MANAGER,
        (("case_number", "1151126-0007"),),
        hidden=True,
        forbidden=frozenset(["guard"]),
    ),
    # Sharing with the client (issue 14 item 4): managers decide what the client reads.
    "incidents.incident_share": Entry(
        "POST",
        "/incidents/{incident}/share",
        MANAGER,
        (("client_summary", "後門遭破壞，已報警處理。"),),
        hidden=True,
        forbidden=FIELD,
    ),
    "incidents.incident_unshare": Entry(
        "POST", "/incidents/{incident}/unshare", MANAGER, hidden=True, forbidden=FIELD
    ),
    "incidents.incident_photo": Entry(
        "POST",
        "/incidents/{incident}/photos",
        SUPERVISOR_MANAGER,
        hidden=True,
        forbidden=frozenset(["guard"]),
    ),
    "incidents.alarms": Entry("GET", "/alarms", FIELD | MANAGER),
    "incidents.alarm_new": [
        Entry("GET", "/alarms/new", SUPERVISOR_MANAGER),
        Entry("POST", "/alarms/new", SUPERVISOR_MANAGER),
    ],
    "incidents.alarm_figures": Entry("GET", "/alarms/figures", SUPERVISOR_MANAGER),
    "dashboard.dashboard": Entry("GET", "/dashboard", SUPERVISOR_MANAGER),
    "dashboard.exports": Entry("GET", "/exports", SUPERVISOR_MANAGER),
    "dashboard.export": Entry("GET", "/exports/incidents.csv", SUPERVISOR_MANAGER),
    "incidents.alarm": Entry("GET", "/alarms/{alarm}", SUPERVISOR_MANAGER, hidden=True),
    "incidents.alarm_step": Entry(
        "POST", "/alarms/{alarm}/arrive", SUPERVISOR_MANAGER, hidden=True
    ),
    "maintenance.repairs": Entry("GET", "/repairs", SUPERVISOR_MANAGER),
    "maintenance.repair_new": [
        Entry("GET", "/repairs/new", SUPERVISOR_MANAGER),
        Entry("POST", "/repairs/new", SUPERVISOR_MANAGER),
    ],
    "maintenance.repair_from_item": Entry(
        "POST", "/inspections/{submitted}/items/1/repair", SUPERVISOR_MANAGER, hidden=True
    ),
    "maintenance.repair": Entry("GET", "/repairs/{ticket}", SUPERVISOR_MANAGER, hidden=True),
    "maintenance.repair_status": Entry(
        "POST",
        "/repairs/{ticket}/status",
        SUPERVISOR_MANAGER,
        (("status", "dispatched"),),
        hidden=True,
    ),
    "maintenance.maintenance": Entry("GET", "/maintenance", SUPERVISOR_MANAGER),
    "maintenance.maintenance_done": [
        Entry("GET", "/equipment/{equipment}/maintenance", SUPERVISOR_MANAGER, hidden=True),
        Entry("POST", "/equipment/{equipment}/maintenance", SUPERVISOR_MANAGER, hidden=True),
    ],
    "notifications.notifications": Entry("GET", "/notifications", SIGNED_IN),
    "notifications.unread": Entry("GET", "/notifications/unread", SIGNED_IN),
    "notifications.mark_read": Entry("POST", "/notifications/read", SIGNED_IN),
    "notifications.push_settings": Entry("GET", "/account/push", PUSH),
    "notifications.push_subscribe": Entry(
        "POST",
        "/account/push/subscribe",
        PUSH,
        data=(
            ("endpoint", "https://fcm.googleapis.com/fcm/send/{uuid}"),
            ("p256dh", factories.PUSH_P256DH),
            ("auth", factories.PUSH_AUTH),
        ),
    ),
    "notifications.push_topics": Entry(
        "POST", "/account/push/topics", PUSH, data=(("dispatch", "y"),)
    ),
    "notifications.push_test": Entry("POST", "/account/push/test", PUSH),
    # {other_push_device}: the target guard's phone; nobody else may remove it.
    "notifications.push_remove": [
        Entry("POST", "/account/push/devices/{own_push_device}/delete", PUSH),
        Entry(
            "POST",
            "/account/push/devices/{other_push_device}/delete",
            NOBODY,
            hidden=True,
            forbidden=frozenset(["admin", "client"]),
        ),
    ],
    "briefings.briefings": Entry("GET", "/briefings", FIELD | MANAGER),
    # {briefing}: published to the guards of {site} by another supervisor.
    "briefings.briefing": Entry(
        "GET", "/briefings/{briefing}", frozenset(["guard", "manager"]), hidden=True
    ),
    "briefings.acknowledge": Entry(
        "POST", "/briefings/{briefing}/ack", frozenset(["guard", "manager"]), hidden=True
    ),
    "briefings.briefing_new": [
        Entry("GET", "/briefings/new", SUPERVISOR_MANAGER),
        Entry("POST", "/briefings/new", SUPERVISOR_MANAGER),
    ],
    "briefings.briefing_edit": [
        Entry("GET", "/briefings/{briefing}/edit", MANAGER, hidden=True),
        Entry("POST", "/briefings/{briefing}/edit", MANAGER, hidden=True),
    ],
    "briefings.briefing_status": Entry(
        "POST", "/briefings/{briefing}/status", MANAGER, hidden=True
    ),
    "briefings.progress": Entry("GET", "/briefings/{briefing}/progress", MANAGER, hidden=True),
    "briefings.remind": Entry("POST", "/briefings/{briefing}/remind", MANAGER, hidden=True),
    "briefings.acknowledgements_csv": Entry(
        "GET", "/briefings/{briefing}/acknowledgements.csv", MANAGER, hidden=True
    ),
    "briefings.attachment": Entry(
        "POST", "/briefings/{briefing}/attachments", MANAGER, hidden=True
    ),
    "briefings.attachment_file": Entry(
        "GET", "/briefing-files/{briefing_file}", frozenset(["guard", "manager"]), hidden=True
    ),
    "briefings.training": Entry("GET", "/training", FIELD | MANAGER),
    "briefings.training_new": [
        Entry("GET", "/training/new", SUPERVISOR_MANAGER),
        Entry("POST", "/training/new", SUPERVISOR_MANAGER),
    ],
    "briefings.training_csv": Entry("GET", "/training/export.csv", SUPERVISOR_MANAGER),
    "briefings.training_month": Entry("GET", "/training/month", SUPERVISOR_MANAGER),
    "briefings.training_month_csv": Entry("GET", "/training/month.csv", SUPERVISOR_MANAGER),
    # Evidence follows the training session, not the site it was filed under: {training}
    # (a guard of {site}, filed under {other_site}), {other_training} (a guard of {other_site},
    # filed under {site}), {own_training} (the acting user attended; the anonymous: {training}).
    "briefings.training_evidence": [
        Entry("GET", "/training/{training}/evidence", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/training/{other_training}/evidence", MANAGER, hidden=True),
        Entry("GET", "/training/{own_training}/evidence", FIELD | MANAGER, hidden=True),
    ],
    # The vault (issue 12): {record} is operational, {restricted_record} restricted, both of
    # {site}; {other_record} of {other_site}; {client} is both sites' client, {other_client}
    # another's. Admins and clients have no vault (403); an owner not served does not exist.
    "vault.site_records": [
        Entry("GET", "/sites/{site}/vault", FIELD | MANAGER, hidden=True, forbidden=NO_VAULT),
        Entry("GET", "/sites/{other_site}/vault", MANAGER, hidden=True, forbidden=NO_VAULT),
    ],
    "vault.client_records": [
        Entry("GET", "/clients/{client}/vault", FIELD | MANAGER, hidden=True, forbidden=NO_VAULT),
        Entry("GET", "/clients/{other_client}/vault", MANAGER, hidden=True, forbidden=NO_VAULT),
    ],
    "vault.record": [
        Entry("GET", "/vault/{record}", FIELD | MANAGER, hidden=True, forbidden=NO_VAULT),
        Entry(
            "GET",
            "/vault/{restricted_record}",
            SUPERVISOR_MANAGER,
            hidden=True,
            forbidden=NO_VAULT | {"guard"},
        ),
        Entry("GET", "/vault/{other_record}", MANAGER, hidden=True, forbidden=NO_VAULT),
    ],
    "vault.site_record_new": [
        Entry("GET", "/sites/{site}/vault/new", SUPERVISOR_MANAGER, hidden=True, forbidden=KEEPS),
        Entry(
            "POST",
            "/sites/{site}/vault/new",
            SUPERVISOR_MANAGER,
            (("category", "other"), ("label", "x"), ("value", "y")),
            hidden=True,
            forbidden=KEEPS,
        ),
        Entry("GET", "/sites/{other_site}/vault/new", MANAGER, hidden=True, forbidden=NO_VAULT),
    ],
    "vault.client_record_new": [
        Entry(
            "GET", "/clients/{client}/vault/new", SUPERVISOR_MANAGER, hidden=True, forbidden=KEEPS
        ),
        Entry(
            "POST",
            "/clients/{client}/vault/new",
            SUPERVISOR_MANAGER,
            (("category", "other"), ("label", "x"), ("value", "y")),
            hidden=True,
            forbidden=KEEPS,
        ),
    ],
    "vault.record_edit": [
        Entry("GET", "/vault/{record}/edit", SUPERVISOR_MANAGER, hidden=True, forbidden=KEEPS),
        Entry(
            "POST",
            "/vault/{record}/edit",
            SUPERVISOR_MANAGER,
            (("label", "x"),),
            hidden=True,
            forbidden=KEEPS,
        ),
        Entry("GET", "/vault/{other_record}/edit", MANAGER, hidden=True, forbidden=NO_VAULT),
    ],
    "vault.record_delete": Entry(
        "POST", "/vault/{record}/delete", SUPERVISOR_MANAGER, hidden=True, forbidden=KEEPS
    ),
    "vault.reveal": [
        Entry(
            "POST",
            "/vault/{record}/reveal",
            FIELD | MANAGER,
            (("purpose", "audit"),),
            hidden=True,
            forbidden=NO_VAULT,
        ),
        Entry(
            "POST",
            "/vault/{restricted_record}/reveal",
            SUPERVISOR_MANAGER,
            (("purpose", "audit"),),
            hidden=True,
            forbidden=KEEPS,
        ),
        Entry(
            "POST",
            "/vault/{other_record}/reveal",
            MANAGER,
            (("purpose", "audit"),),
            hidden=True,
            forbidden=NO_VAULT,
        ),
    ],
    "vault.record_log": [
        Entry("GET", "/vault/{record}/access-log", LOGS, hidden=True, forbidden=NO_LOGS),
        Entry("GET", "/vault/{other_record}/access-log", REGISTRY, hidden=True, forbidden=NO_LOGS),
    ],
    "vault.site_log": [
        Entry("GET", "/sites/{site}/vault/access-log", LOGS, hidden=True, forbidden=NO_LOGS),
        Entry(
            "GET", "/sites/{other_site}/vault/access-log", REGISTRY, hidden=True, forbidden=NO_LOGS
        ),
        Entry(
            "GET",
            "/sites/{site}/vault/access-log?format=csv",
            LOGS,
            hidden=True,
            forbidden=NO_LOGS,
        ),
    ],
    "vault.client_log": [
        Entry("GET", "/clients/{client}/vault/access-log", LOGS, hidden=True, forbidden=NO_LOGS),
        Entry(
            "GET",
            "/clients/{other_client}/vault/access-log",
            REGISTRY,
            hidden=True,
            forbidden=NO_LOGS,
        ),
    ],
    "vault.user_log": Entry("GET", "/users/{target}/vault-access-log", REGISTRY),
    # Personal data (issue 12 items 7, 9): the notice for staff; the rest for managers.
    "privacy.notice": Entry("GET", "/privacy/notice", STAFF),
    "privacy.acknowledge_notice": Entry("POST", "/privacy/notice", STAFF),
    "privacy.overview": Entry("GET", "/privacy", MANAGER),
    "privacy.site_access": Entry("GET", "/privacy/sites/{other_site}", MANAGER),
    "privacy.mark_reviewed": Entry(
        "POST", "/privacy/sites/{other_site}/reviewed", MANAGER, (("note", "ok"),)
    ),
    "privacy.incidents": Entry("GET", "/privacy/incidents", MANAGER),
    "privacy.incident_new": [
        Entry("GET", "/privacy/incidents/new", MANAGER),
        Entry(
            "POST",
            "/privacy/incidents/new",
            MANAGER,
            (("discovered_at", "2026-01-05T10:00"), ("summary", "A list was mislaid")),
        ),
    ],
    "privacy.incident": Entry("GET", "/privacy/incidents/{privacy_incident}", MANAGER),
    "privacy.incident_edit": [
        Entry("GET", "/privacy/incidents/{privacy_incident}/edit", MANAGER),
        Entry(
            "POST",
            "/privacy/incidents/{privacy_incident}/edit",
            MANAGER,
            (("discovered_at", "2026-01-05T10:00"), ("summary", "Corrected")),
        ),
    ],
    "privacy.incident_step": Entry(
        "POST",
        "/privacy/incidents/{privacy_incident}/steps/cause",
        MANAGER,
        (("cause-cause", "A drawer left unlocked"),),
    ),
    "privacy.incident_close": Entry("POST", "/privacy/incidents/{privacy_incident}/close", MANAGER),
    "privacy.evidence_pack": [
        Entry("GET", "/privacy/evidence", MANAGER),
        Entry(
            "POST", "/privacy/evidence", MANAGER, (("first", "2026-01-01"), ("last", "2026-12-31"))
        ),
    ],
    "pwa.manifest": Entry("GET", "/manifest.webmanifest", EVERYONE),
    "pwa.service_worker": Entry("GET", "/sw.js", EVERYONE),
    "pwa.offline": Entry("GET", "/offline", EVERYONE),
    # The unsent page holds nothing of the server's (its list is the phone's own outbox);
    # a signed-out user must still see what waits. The token is the outbox's, signed in.
    "pwa.outbox": Entry("GET", "/outbox", EVERYONE),
    "pwa.outbox_token": Entry("GET", "/outbox/token", SIGNED_IN),
    "pwa.outbox_saved": Entry("GET", "/outbox/saved", EVERYONE),
    # Key custody (issue 12 item 2): supervisors of the site and managers; only managers
    # register bags; guards, admins and clients never see them (404, a denied access row).
    # {bag} is at {site}, {other_bag} at {other_site}.
    "custody.site_keys": [
        Entry("GET", "/sites/{site}/keys", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/sites/{other_site}/keys", MANAGER, hidden=True),
    ],
    "custody.site_keys_summary": Entry(
        "GET", "/sites/{site}/keys/summary", SUPERVISOR_MANAGER, hidden=True
    ),
    "custody.bag_new": [
        Entry("GET", "/sites/{site}/keys/new", MANAGER, hidden=True, forbidden=SUPERVISOR),
        Entry(
            "POST",
            "/sites/{site}/keys/new",
            MANAGER,
            (("bag_number", "K-99"), ("contents", "大門鑰匙"), ("seal_number", "S-1")),
            hidden=True,
            forbidden=SUPERVISOR,
        ),
    ],
    "custody.bag_edit": [
        Entry("GET", "/keys/{bag}/edit", MANAGER, hidden=True, forbidden=SUPERVISOR),
        Entry(
            "POST",
            "/keys/{bag}/edit",
            MANAGER,
            (("bag_number", "K-98"), ("contents", "大門鑰匙"), ("status", "in")),
            hidden=True,
            forbidden=SUPERVISOR,
        ),
    ],
    "custody.bag": [
        Entry("GET", "/keys/{bag}", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/keys/{other_bag}", MANAGER, hidden=True),
    ],
    "custody.take_out": Entry(
        "POST",
        "/keys/{bag}/take-out",
        SUPERVISOR_MANAGER,
        (("uuid", "{uuid}"), ("purpose", "maintenance")),
        hidden=True,
    ),
    "custody.put_back": Entry(
        "POST", "/keys/{bag}/return", SUPERVISOR_MANAGER, (("seal_number", "S-2"),), hidden=True
    ),
    "custody.inspection_keys": Entry(
        "GET", "/inspections/{draft}/keys", SUPERVISOR_MANAGER, hidden=True
    ),
    # Only the inspector of the draft checks seals (the actor never is): 403 to those who see it.
    "custody.seal_check": Entry(
        "POST",
        "/inspections/{draft}/keys/{bag}/seal",
        NOBODY,
        (("result", "intact"),),
        hidden=True,
        forbidden=SUPERVISOR_MANAGER,
    ),
    # Arm/disarm records (issue 13 item 4): the site's supervisors and managers read and record
    # them; the administrator keeps the opening hours; managers connect the monitoring centre,
    # whose API answers only its bearer token (401 to any session).
    "arming.site_events": [
        Entry("GET", "/sites/{site}/arming", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/sites/{other_site}/arming", MANAGER, hidden=True),
    ],
    "arming.event_new": [
        Entry("GET", "/sites/{site}/arming/new", SUPERVISOR_MANAGER, hidden=True),
        Entry(
            "POST",
            "/sites/{site}/arming/new",
            SUPERVISOR_MANAGER,
            (("kind", "arm"), ("occurred_at", "{recent}")),
            hidden=True,
        ),
    ],
    "arming.opening_hours": [
        Entry("GET", "/sites/{site}/hours", SUPERVISOR_MANAGER | ADMIN, hidden=True),
        Entry(
            "POST",
            "/sites/{site}/hours",
            ADMIN,
            (("is_monitored", "y"), ("d0_opens", "09:00"), ("d0_closes", "18:00")),
            hidden=True,
            forbidden=SUPERVISOR_MANAGER,
        ),
    ],
    "arming.csv_template": Entry("GET", "/arming/import/template.csv", SUPERVISOR_MANAGER),
    "arming.csv_import": [
        Entry("GET", "/arming/import", SUPERVISOR_MANAGER),
        Entry("POST", "/arming/import", SUPERVISOR_MANAGER),
    ],
    "arming.csv_confirm": Entry(
        "POST", "/arming/import/confirm", SUPERVISOR_MANAGER, (("upload", "{uuid}"),)
    ),
    "arming.integrations": Entry("GET", "/arming/integrations", MANAGER),
    "arming.integration_new": [
        Entry("GET", "/arming/integrations/new", MANAGER),
        Entry(
            "POST",
            "/arming/integrations/new",
            MANAGER,
            (("name", "監控中心"), ("site_ids", "{site}")),
        ),
    ],
    "arming.integration_revoke": Entry(
        "POST", "/arming/integrations/{integration}/revoke", MANAGER
    ),
    "arming.api_events": Entry("POST", "/api/v1/arming/events", NOBODY, token_auth=True),
    # The client's portal (issue 14 item 4): the client user's own client's sites ({site} and
    # {other_site}); {foreign_site} is another client's, so it does not exist for him. Staff
    # have no portal (403).
    "portal.site": [
        Entry("GET", "/portal/sites/{site}", CLIENT, hidden=True, forbidden=STAFF),
        Entry("GET", "/portal/sites/{other_site}", CLIENT, hidden=True, forbidden=STAFF),
        Entry("GET", "/portal/sites/{foreign_site}", NOBODY, hidden=True, forbidden=STAFF),
    ],
    # Control-record sheets: {sheet} prepared at {site}, {approved_sheet} approved there,
    # {released_sheet} released to {client}; {other_sheet} of {other_site}; {foreign_sheet}
    # released to another client. A client reads only his own client's released sheets.
    "records.sheets": Entry("GET", "/records", SHEETS),
    "records.prepare": [
        Entry("GET", "/records/new", SUPERVISOR_MANAGER),
        Entry(
            "POST", "/records/new", SUPERVISOR_MANAGER, (("site", "{site}"), ("month", "2026-10"))
        ),
    ],
    "records.sheet": [
        Entry("GET", "/records/{sheet}", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/records/{released_sheet}", SHEETS, hidden=True),
        Entry("GET", "/records/{other_sheet}", MANAGER, hidden=True),
        Entry("GET", "/records/{foreign_sheet}", MANAGER, hidden=True),
    ],
    "records.sheet_pdf": [
        Entry("GET", "/records/{released_sheet}.pdf", SHEETS, hidden=True),
        Entry("GET", "/records/{sheet}.pdf", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/records/{foreign_sheet}.pdf", MANAGER, hidden=True),
    ],
    # The logo on a sheet (a prepared one shows the current logo) and the seal, only on one that
    # stands approved: whoever may read the sheet.
    "records.sheet_logo": [
        Entry("GET", "/records/{sheet}/logo", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/records/{released_sheet}/logo", SHEETS, hidden=True),
        Entry("GET", "/records/{foreign_sheet}/logo", MANAGER, hidden=True),
    ],
    "records.sheet_seal": [
        Entry("GET", "/records/{approved_sheet}/seal", SUPERVISOR_MANAGER, hidden=True),
        Entry("GET", "/records/{released_sheet}/seal", SHEETS, hidden=True),
        Entry("GET", "/records/{foreign_sheet}/seal", MANAGER, hidden=True),
    ],
    "records.remarks": [
        Entry(
            "POST",
            "/records/{sheet}/remarks",
            SUPERVISOR_MANAGER,
            (("remarks", "ok"),),
            hidden=True,
        ),
        Entry("POST", "/records/{other_sheet}/remarks", MANAGER, (("remarks", "ok"),), hidden=True),
    ],
    "records.approve": Entry(
        "POST", "/records/{sheet}/approve", MANAGER, hidden=True, forbidden=SUPERVISOR
    ),
    "records.return_sheet": Entry(
        "POST",
        "/records/{sheet}/return",
        MANAGER,
        (("comment", "請補充"),),
        hidden=True,
        forbidden=SUPERVISOR,
    ),
    "records.release": Entry(
        "POST", "/records/{approved_sheet}/release", MANAGER, hidden=True, forbidden=SUPERVISOR
    ),
    "records.correct": Entry(
        "POST",
        "/records/{released_sheet}/correct",
        MANAGER,
        (("reason", "更正"),),
        hidden=True,
        forbidden=frozenset(["supervisor", "client"]),
    ),
    "records.acknowledge": [
        Entry(
            "POST",
            "/records/{released_sheet}/acknowledge",
            frozenset(["client"]),
            hidden=True,
            forbidden=SUPERVISOR_MANAGER,
        ),
        Entry(
            "POST", "/records/{foreign_sheet}/acknowledge", NOBODY, hidden=True, forbidden=MANAGER
        ),
    ],
}


def test_every_route_has_an_entry_and_every_entry_a_route(app):
    routes = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert routes - TABLE.keys() == set(), "add these routes to the permission table"
    assert TABLE.keys() - routes == set(), "these entries name routes that no longer exist"


def entries(endpoint: str) -> list[Entry]:
    value = TABLE[endpoint]
    return value if isinstance(value, list) else [value]


CASES = [(endpoint, n) for endpoint in sorted(TABLE) for n in range(len(entries(endpoint)))]


def test_every_method_of_every_route_has_an_entry(app):
    for rule in app.url_map.iter_rules():
        tested = {entry.method for entry in entries(rule.endpoint)}
        assert tested <= rule.methods, f"{rule.endpoint}: {tested - rule.methods} not accepted"
        untested = rule.methods - {"HEAD", "OPTIONS"} - tested
        assert not untested, f"{rule.endpoint}: add entries for {untested}"


def _training(attendee, filed_under, like: Photo) -> TrainingSession:
    """A first-aid session attended by `attendee`, its evidence filed under the site
    `filed_under` (as the recorder's first site); the file is `like`'s (no decoding here)."""
    evidence = Photo(
        uuid=new_uuid(),
        owner_id=like.owner_id,
        site_id=filed_under.id,
        kind="training",
        sha256=like.sha256,
        path=like.path,
        thumb_path=like.thumb_path,
        width=like.width,
        height=like.height,
        size_bytes=like.size_bytes,
    )
    db.session.add(evidence)
    db.session.flush()
    session = TrainingSession(
        topic="first_aid",
        held_on=utcnow().date(),
        hours=8,
        created_by_id=like.owner_id,
        evidence_photo_id=evidence.id,
    )
    db.session.add(session)
    db.session.flush()
    db.session.add(TrainingAttendance(session_id=session.id, user_id=attendee.id))
    db.session.flush()
    return session


def _sheets(site, other, preparer) -> dict:
    """Control-record sheets of last month in each state the table needs (see the TABLE)."""
    from app.i18n import taipei_today
    from app.records import services as records

    today = taipei_today()
    manager = factories.gen_user("manager")
    company_images.upload(actor=manager, kind="logo", data=factories.png_bytes())
    company_images.upload(actor=manager, kind="seal", data=factories.png_bytes())
    month = date(2026, 10, 1)
    sheet = records.prepare(user=preparer, month=month, today=today, remarks="", site=site)
    approved = records.prepare(
        user=preparer, month=date(2026, 9, 1), today=today, remarks="", site=site
    )
    records.approve(approved, user=manager)
    released = records.prepare(
        user=preparer, month=date(2026, 8, 1), today=today, remarks="", site=site
    )
    records.approve(released, user=manager)
    records.release(released, user=manager)
    other_sheet = records.prepare(user=preparer, month=month, today=today, remarks="", site=other)
    foreign_site = factories.gen_site()
    foreign = records.prepare(user=manager, month=month, today=today, remarks="", site=foreign_site)
    records.approve(foreign, user=manager)
    records.release(foreign, user=manager)
    return {
        "sheet": sheet.id,
        "approved_sheet": approved.id,
        "released_sheet": released.id,
        "other_sheet": other_sheet.id,
        "foreign_sheet": foreign.id,
    }


def build_world(make_user, *, sheets: bool = True) -> dict:
    """Objects the paths name; the acting field user is assigned to {site} only. Sheets (each
    computes a month's figures) are made only when asked: only the records entries name them."""
    factories.use_checklist_version(1)  # the paths name version 1's item 1
    site = factories.gen_site()
    other = factories.gen_site(client=site.client)
    equipment = Equipment(site_id=site.id, kind="battery")
    db.session.add(equipment)
    inspector = factories.gen_user("supervisor")
    factories.assign(inspector, site)
    draft = factories.gen_inspection(site, inspector)
    submitted = factories.gen_inspection(site, inspector, status="submitted")
    foreign = factories.gen_inspection(other, factories.gen_user("manager"))
    photo = factories.gen_photo(inspector, site)
    failed = Answer(inspection_id=submitted.id, item_id=1, value="fail", is_pass=False, note="x")
    db.session.add(failed)
    incident = factories.gen_incident(site, inspector)
    foreign_incident = factories.gen_incident(other, factories.gen_user("manager"))
    alarm = AlarmResponse(
        uuid=new_uuid(), site_id=site.id, created_by_id=inspector.id, received_at=utcnow()
    )
    db.session.add(alarm)
    briefing = Briefing(
        kind="pre_duty",
        title="今日勤前教育",
        body="注意門禁",
        author_id=inspector.id,
        status="published",
        audience="sites",
        published_at=utcnow(),
    )
    db.session.add(briefing)
    db.session.flush()
    db.session.add(BriefingSite(briefing_id=briefing.id, site_id=site.id))
    briefing_file = BriefingAttachment(
        briefing_id=briefing.id, path="attachments/x.pdf", filename="x.pdf"
    )
    db.session.add(briefing_file)
    pdf = Path(current_app.config["UPLOAD_DIR"]) / "attachments" / "x.pdf"
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(b"%PDF-1.4\n%%EOF\n")
    ticket = RepairTicket(
        uuid=new_uuid(), site_id=site.id, problem="broken", reported_by_id=inspector.id
    )
    db.session.add(ticket)
    check_in = CheckIn(
        uuid=new_uuid(), site_id=site.id, user_id=inspector.id, method="qr", verdict="no_fix"
    )
    db.session.add(check_in)
    site_guard, other_guard = factories.gen_user("guard"), factories.gen_user("guard")
    factories.assign(site_guard, site)
    factories.assign(other_guard, other)
    privacy_incident = PrivacyIncident(
        discovered_at=utcnow(), summary="A key-holder list was mislaid", created_by_id=None
    )
    db.session.add(privacy_incident)
    training = _training(site_guard, other, photo)
    other_training = _training(other_guard, site, photo)
    record = vault.create_record(
        user=inspector, site=site, category="key_holder", label="第一順位", value=KEY_HOLDER
    )
    restricted = vault.create_record(
        user=inspector, site=site, category="alarm_code", label="主機", value="1234"
    )
    other_record = vault.create_record(
        user=inspector, site=other, category="other", label="後門", value="門在左邊"
    )
    bag = KeyBag(
        site_id=site.id,
        bag_number="K-01",
        contents="後門鑰匙",
        seal_number="S-1",
        created_by_id=inspector.id,
    )
    other_bag = KeyBag(
        site_id=other.id,
        bag_number="K-01",
        contents="後門鑰匙",
        seal_number="S-1",
        created_by_id=inspector.id,
    )
    db.session.add_all([bag, other_bag])
    other_client = factories.gen_client()
    foreign_site = factories.gen_site(client=other_client)
    integration, _token = arming.create_integration(
        user=factories.gen_user("manager"), name="監控中心", site_ids={site.id}
    )
    sheets = _sheets(site, other, inspector) if sheets else {}
    if not sheets:  # the settings page's previews (the sheets' world uploads its own)
        admin = factories.gen_user("admin")
        company_images.upload(actor=admin, kind="logo", data=factories.png_bytes())
        company_images.upload(actor=admin, kind="seal", data=factories.png_bytes())
    db.session.commit()
    return {
        **sheets,
        "integration": integration.id,
        "recent": (taipei_now_input() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "record": record.id,
        "restricted_record": restricted.id,
        "other_record": other_record.id,
        "other_client": other_client.id,
        "foreign_site": foreign_site.id,
        "bag": bag.uuid,
        "other_bag": other_bag.uuid,
        "privacy_incident": privacy_incident.id,
        "training": training.id,
        "own_training": training.id,  # replaced by one the actor attended, once he exists
        "other_training": other_training.id,
        "training_photo": other_training.evidence.uuid,
        "photo_obj": photo,
        "briefing": briefing.id,
        "briefing_file": briefing_file.id,
        "incident": incident.id,
        "foreign_incident": foreign_incident.id,
        "alarm": alarm.id,
        "ticket": ticket.id,
        "draft": draft.uuid,
        "submitted": submitted.uuid,
        "foreign": foreign.uuid,
        "photo": photo.uuid,
        "site": site.id,
        "other_site": other.id,
        "token": site.qr_token,
        "other_token": other.qr_token,
        "client": site.client_id,
        "equipment": equipment.id,
        "check_in": check_in.uuid,
        "site_obj": site,
        "other_site_obj": other,
    }


def _denials() -> int:
    return db.session.scalar(
        select(func.count(AuditEvent.seq)).where(AuditEvent.outcome == "denied")
    )


def _session_id(user) -> int:
    return db.session.scalar(
        select(UserSession.id).where(UserSession.user_id == user.id).order_by(UserSession.id.desc())
    )


def _ids_for(app, make_user, login, world: dict, target, role: str):
    """The path's ids as `role` sees them, and a test client signed in as `role`."""
    client = app.test_client()
    ids = {
        **world,
        "target": target.id,
        "target_session": _session_id(target),
        "uuid": uuid.uuid4(),
        "other_push_device": world["other_push_device"],
    }
    if role != ANONYMOUS:
        extra = {"client_id": world["client"]} if role == "client" else {}
        actor = make_user(role, **extra)
        if role in FIELD:
            factories.assign(actor, world["site_obj"])
            db.session.commit()
        login(actor, test_client=client)
        ids["own_session"] = _session_id(actor)
        ids["own_training"] = _training(actor, world["other_site_obj"], world["photo_obj"]).id
        ids["own_passkey"] = factories.gen_passkey(actor).id
        ids["own_push_device"] = factories.gen_push_device(actor).id
    else:
        ids["own_session"] = ids["target_session"]
        ids["own_passkey"] = factories.gen_passkey(target).id
        ids["own_push_device"] = factories.gen_push_device(target).id
    db.session.commit()
    return client, ids


def _world_and_target(app, make_user, login, entry: Entry) -> tuple[dict, object]:
    app.config["BASE_URL"] = "http://localhost"  # QR images are made only with a public address
    world = build_world(make_user, sheets="sheet}" in entry.path)
    target = make_user("guard")
    login(target, test_client=app.test_client())
    world["other_push_device"] = factories.gen_push_device(target).id
    db.session.commit()
    return world, target


def _check(app, make_user, login, world, target, endpoint: str, entry: Entry, role: str) -> None:
    client, ids = _ids_for(app, make_user, login, world, target, role)
    path = entry.path.format(**ids)
    data = {key: value.format(**ids) for key, value in entry.data}

    denials_before = _denials()
    response = client.open(path, method=entry.method, data=data)

    status = response.status_code
    if entry.token_auth:
        assert status == 401, f"{endpoint} opens only to its bearer token: {status}"
        return
    went_to_login = status == 302 and "/login" in response.headers.get("Location", "")
    if role in entry.allowed:
        assert status < 400 and not went_to_login, f"{role} should reach {endpoint}: {status}"
    elif role == ANONYMOUS:
        assert went_to_login, f"anonymous should be sent to login from {endpoint}: {status}"
    else:
        expected = entry.denied_status(role)
        assert status == expected, f"{role} must get {expected} from {endpoint}: {status}"
        if expected == 404:
            assert _denials() == denials_before + 1, (
                f"{endpoint}: a hidden object's denial is audited"
            )


#: A GET changes nothing another role's request depends on, so one world serves all six roles
#: (the world is most of a case's time). A POST may change it: each role allowed it gets its
#: own world, and the roles refused share one (a refusal changes nothing but the audit log,
#: whose denials are counted before and after; a refusal that wrongly went through fails its
#: own check first).
READS = [(e, n) for e, n in CASES if entries(e)[n].method == "GET"]
WRITES = [(e, n) for e, n in CASES if entries(e)[n].method != "GET"]


def _allowed_to_write(entry: Entry) -> list[str]:
    return [] if entry.token_auth else [r for r in [ANONYMOUS, *ROLES] if r in entry.allowed]


WRITES_ALLOWED = [(e, n, r) for e, n in WRITES for r in _allowed_to_write(entries(e)[n])]
WRITES_REFUSED = [(e, n) for e, n in WRITES if len(_allowed_to_write(entries(e)[n])) <= len(ROLES)]


@pytest.mark.parametrize(("endpoint", "n"), READS)
def test_permission_table_reads(app, client, make_user, login, endpoint, n):
    """(`client` makes the app's test clients isolated ones, as every role's here is.)"""
    entry = entries(endpoint)[n]
    world, target = _world_and_target(app, make_user, login, entry)
    for role in [ANONYMOUS, *ROLES]:
        _check(app, make_user, login, world, target, endpoint, entry, role)


@pytest.mark.parametrize(("endpoint", "n", "role"), WRITES_ALLOWED)
def test_permission_table(app, client, make_user, login, endpoint, n, role):
    entry = entries(endpoint)[n]
    world, target = _world_and_target(app, make_user, login, entry)
    _check(app, make_user, login, world, target, endpoint, entry, role)


@pytest.mark.parametrize(("endpoint", "n"), WRITES_REFUSED)
def test_permission_table_refusals(app, client, make_user, login, endpoint, n):
    entry = entries(endpoint)[n]
    refused = [r for r in [ANONYMOUS, *ROLES] if r not in _allowed_to_write(entry)]
    world, target = _world_and_target(app, make_user, login, entry)
    for role in refused:
        _check(app, make_user, login, world, target, endpoint, entry, role)


@pytest.mark.parametrize(
    ("endpoint", "n"),
    [
        (e, n)
        for e, n in CASES
        if ANONYMOUS not in entries(e)[n].allowed and not entries(e)[n].token_auth
    ],
)
def test_anonymous_htmx_and_json_requests_get_401_with_hx_redirect(client, endpoint, n):
    entry = entries(endpoint)[n]
    placeholders = dict.fromkeys(
        ("target", "target_session", "own_session", "site", "other_site", "client", "equipment"), 1
    ) | dict.fromkeys(
        (
            "incident",
            "foreign_incident",
            "alarm",
            "ticket",
            "briefing",
            "briefing_file",
            "training",
            "other_training",
            "own_training",
            "record",
            "restricted_record",
            "other_record",
            "other_client",
            "foreign_site",
            "privacy_incident",
            "own_passkey",
            "integration",
            "own_push_device",
            "other_push_device",
            "sheet",
            "approved_sheet",
            "released_sheet",
            "other_sheet",
            "foreign_sheet",
        ),
        1,
    )
    placeholders |= dict.fromkeys(
        (
            "token",
            "other_token",
            "uuid",
            "draft",
            "submitted",
            "foreign",
            "photo",
            "training_photo",
            "check_in",
            "bag",
            "other_bag",
        ),
        "x",
    )
    path = entry.path.format(**placeholders)
    for headers in (
        {"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/users"},
        {"Accept": "application/json"},
    ):
        response = client.open(path, method=entry.method, headers=headers)
        assert response.status_code == 401
        assert response.headers["HX-Redirect"].startswith("/login")
    htmx = client.open(
        path,
        method=entry.method,
        headers={"HX-Request": "true", "HX-Current-URL": "http://localhost/admin/users?q=x"},
    )
    assert htmx.headers["HX-Redirect"] == "/login?next=/admin/users?q%3Dx"
