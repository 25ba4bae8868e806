"""Demo data: one user per role, 3 clients, 8 sites in Taipei and New Taipei, assignments."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from app.auth import policy
from app.auth import services as auth_services
from app.auth.models import User
from app.briefings import services as briefing_services
from app.extensions import db
from app.privacy.models import NoticeAcknowledgement
from app.privacy.notice import current_version
from app.sites import services as site_services
from app.sites.models import Client, Equipment, Site
from app.vault import services as vault_services
from app.vault.models import ConfidentialRecord

#: Stated in README; every demo account uses it. Change it before any real use.
DEMO_PASSWORD = "taipei-101-demo"  # noqa: S105 (demo only, stated in README)

#: username, display name, role, client tax id (client users), site codes (field roles)
DEMO_USERS = [
    ("guard", "陳志明", "guard", None, ["TPE-0001", "TPE-0002", "NTP-0001"]),
    (
        "supervisor",
        "林雅婷",
        "supervisor",
        None,
        ["TPE-0001", "TPE-0002", "TPE-0003", "NTP-0001", "NTP-0002"],
    ),
    ("manager", "王建國", "manager", None, []),
    ("admin", "系統管理員", "admin", None, []),
    ("client", "黃淑芬", "client", "83045210", []),
]

DEMO_CLIENTS = [
    ("83045210", "信義商辦大樓管理委員會", "臺北市信義區松仁路100號", "02-2720-1234"),
    ("27505051", "大安連鎖藥局股份有限公司", "臺北市大安區忠孝東路四段200號", "02-2771-5678"),
    ("72979298", "板橋精密工業股份有限公司", "新北市板橋區文化路一段50號", "02-2960-4321"),
]

#: code, client tax id, name, address, latitude, longitude, system types
DEMO_SITES = [
    (
        "TPE-0001",
        "83045210",
        "信義商辦大樓 A 棟",
        "臺北市信義區松仁路100號",
        25.0330,
        121.5680,
        "intrusion,access,cctv,fire",
    ),
    (
        "TPE-0002",
        "83045210",
        "信義商辦大樓 B 棟",
        "臺北市信義區松仁路102號",
        25.0335,
        121.5685,
        "intrusion,access,cctv",
    ),
    (
        "TPE-0003",
        "27505051",
        "大安藥局忠孝店",
        "臺北市大安區忠孝東路四段200號",
        25.0416,
        121.5510,
        "intrusion,cctv,panic",
    ),
    (
        "TPE-0004",
        "27505051",
        "大安藥局師大店",
        "臺北市大安區師大路80號",
        25.0240,
        121.5290,
        "intrusion,cctv,panic",
    ),
    (
        "TPE-0005",
        "27505051",
        "大安藥局內湖店",
        "臺北市內湖區成功路四段60號",
        25.0830,
        121.5940,
        "intrusion,cctv",
    ),
    (
        "NTP-0001",
        "72979298",
        "板橋精密工業 總廠",
        "新北市板橋區文化路一段50號",
        25.0144,
        121.4638,
        "intrusion,access,cctv,fire",
    ),
    (
        "NTP-0002",
        "72979298",
        "板橋精密工業 倉庫",
        "新北市土城區中央路三段120號",
        24.9830,
        121.4480,
        "intrusion,cctv",
    ),
    (
        "NTP-0003",
        "72979298",
        "板橋精密工業 新莊辦公室",
        "新北市新莊區中正路500號",
        25.0360,
        121.4400,
        "intrusion,access",
    ),
]


#: kind, model, location, maintenance interval (days), last maintained on
DEMO_EQUIPMENT = [
    ("control_panel", "DSC PowerSeries Neo", "1F 管理室", 180, date(2026, 6, 1)),
    ("battery", "12V 7Ah", "1F 管理室", 365, date(2025, 10, 1)),
    ("detector", "PIR LC-100", "1F 大廳", 180, date(2026, 8, 15)),
    ("cctv", "Hikvision 4MP", "B1 停車場", 90, date(2026, 9, 1)),
]


DEMO_PLEDGE = (
    "保密切結書 Confidentiality pledge",
    "本人於任職期間及離職後，對於因職務知悉之客戶機密資訊（保全密碼、通話密語、鑰匙寄存、"
    "緊急聯絡人及個人資料）負保密義務，僅於執行職務必要範圍內使用，不得洩漏、複製或提供他人。\n\n"
    "I keep confidential, during and after my employment, the client information I learn at "
    "work (alarm codes, call-back passwords, deposited keys, key holders and personal data), use "
    "it only as my duties need, and never disclose, copy or pass it on.",
)

#: site code (or None with a client tax id), client tax id, category, label, value
DEMO_SECRETS = [
    (
        "TPE-0001",
        None,
        "key_holder",
        "緊急聯絡人 第一順位",
        {
            "name": "張美玲",
            "phones": ["0912-345-678", "(02) 2720-1234 #12"],
            "relation": "管委會主委",
            "calling_order": 1,
        },
    ),
    (
        "TPE-0001",
        None,
        "key_holder",
        "緊急聯絡人 第二順位",
        {"name": "李國華", "phones": ["0933-222-111"], "relation": "總幹事", "calling_order": 2},
    ),
    ("TPE-0001", None, "alarm_code", "主機設定/解除密碼", "4729#"),
    ("TPE-0001", None, "callback_password", "通話密語", "玉山日出"),
    (
        "TPE-0001",
        None,
        "access_instructions",
        "夜間進出",
        "由B1車道進入，警衛室左側感應門，卡片在鑰匙袋 K-01。",
    ),
    ("TPE-0002", None, "alarm_code", "B 棟主機密碼", "8315#"),
    (None, "83045210", "client_personnel", "管委會聯絡窗口", "黃淑芬 0921-555-888 財務委員"),
]


def _load_pledge(manager: User) -> bool:
    """A published confidentiality pledge: the vault opens only to those who acknowledged it."""
    if briefing_services.current_pledge() is not None:
        return False
    title, body = DEMO_PLEDGE
    pledge = briefing_services.save_briefing(
        None,
        actor=manager,
        kind="pledge",
        title=title,
        body=body,
        requires_ack=True,
        due_on=None,
        audience_kind="confidential",
        site_ids=set(),
        user_ids=set(),
    )
    briefing_services.publish(pledge, actor=manager)
    return True


def _load_secrets(manager: User, clients: dict, sites: dict) -> bool:
    """A few confidential records, encrypted like any other (needs DATA_KEYS)."""
    if db.session.scalar(select(ConfidentialRecord.id).limit(1)) is not None:
        return False
    for site_code, tax_id, category, label, value in DEMO_SECRETS:
        vault_services.create_record(
            user=manager,
            category=category,
            label=label,
            value=value,
            site=sites[site_code] if site_code else None,
            client=clients[tax_id] if tax_id else None,
        )
    return True


def load_demo() -> bool:
    """Create whatever demo data is missing; returns True if anything was created."""
    created = False
    clients = {}
    for tax_id, name, address, phone in DEMO_CLIENTS:
        client = db.session.scalar(select(Client).where(Client.tax_id == tax_id))
        if client is None:
            client = Client(
                tax_id=tax_id,
                name=name,
                address=address,
                main_phone=phone,
                contract_start_on=date(2026, 1, 1),
                contract_end_on=date(2027, 12, 31),
            )
            db.session.add(client)
            created = True
        clients[tax_id] = client
    db.session.flush()

    sites = {}
    for code, tax_id, name, address, lat, lon, systems in DEMO_SITES:
        site = db.session.scalar(select(Site).where(Site.code == code))
        if site is None:
            site = Site(
                code=code,
                client=clients[tax_id],
                name=name,
                address=address,
                latitude=lat,
                longitude=lon,
                system_types=systems,
            )
            db.session.add(site)
            created = True
        sites[code] = site
    db.session.flush()

    for site in sites.values():
        if not site.equipment:
            for kind, model, location, interval, last in DEMO_EQUIPMENT:
                db.session.add(
                    Equipment(
                        site=site,
                        kind=kind,
                        model=model,
                        location=location,
                        installed_on=date(2024, 3, 1),
                        maintenance_interval_days=interval,
                        last_maintained_on=last,
                    )
                )
            created = True
    db.session.flush()

    for username, display_name, role, client_tax_id, site_codes in DEMO_USERS:
        user = db.session.scalar(select(User).where(User.username == username))
        if user is None:
            user = auth_services.create_user(
                actor=None,
                username=username,
                display_name=display_name,
                role=role,
                password=DEMO_PASSWORD,
                client_id=clients[client_tax_id].id if client_tax_id else None,
                must_change_password=False,
            )
            if site_codes:
                site_services.set_user_sites(
                    user, actor=None, site_ids={sites[c].id for c in site_codes}
                )
            if policy.must_read_privacy_notice(user):
                # The demo's people have worked with the app for a while: they read the
                # collection notice long ago (a new user is shown it at his first sign-in).
                db.session.add(NoticeAcknowledgement(user_id=user.id, version=current_version()))
            created = True
    return created


def load_demo_vault(*, pledge: bool = True) -> bool:
    """The confidentiality pledge (unless `pledge` is False: the large demo writes its own)
    and a few confidential records of the demo sites; after load_demo()."""
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if manager is None:
        return False
    clients = {c.tax_id: c for c in db.session.scalars(select(Client))}
    sites = {s.code: s for s in db.session.scalars(select(Site))}
    created = _load_pledge(manager) if pledge else False
    return _load_secrets(manager, clients, sites) | created
