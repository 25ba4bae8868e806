"""Demo data: one user per role, 3 clients, 8 sites in Taipei and New Taipei, assignments."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from app import phones
from app.arming import services as arming_services
from app.arming.models import OpeningHours
from app.auth import policy
from app.auth import services as auth_services
from app.auth.models import User
from app.briefings import services as briefing_services
from app.db import new_uuid, utcnow
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents import services as alarms
from app.incidents.models import AlarmResponse, Incident
from app.maintenance import services as repairs
from app.maintenance.models import RepairTicket
from app.privacy.models import NoticeAcknowledgement
from app.privacy.notice import current_version
from app.records import services as records
from app.sites import services as site_services
from app.sites.models import CheckIn, Client, Equipment, Site
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

#: code, client tax id, name, address on one line (DEMO_SITE_PLACES has it in parts), latitude,
#: longitude, system types
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


#: Each demo site's address the Taiwan way and its local police and fire stations (issue 13,
#: item 6): postal code, city, district, street; police station, its phone; fire station, its
#: phone. DEMO VALUES: the station names are plausible for the district and marked 示範 on
#: every page, the numbers are made up in the right format — not a station's real number.
DEMO_SITE_PLACES = {
    "TPE-0001": (
        "110",
        "臺北市",
        "信義區",
        "松仁路100號",
        "信義分局 三張犁派出所（示範）",
        "(02) 2729-5757",
        "信義消防分隊（示範）",
        "(02) 2723-4119",
    ),
    "TPE-0002": (
        "110",
        "臺北市",
        "信義區",
        "松仁路102號",
        "信義分局 三張犁派出所（示範）",
        "(02) 2729-5757",
        "信義消防分隊（示範）",
        "(02) 2723-4119",
    ),
    "TPE-0003": (
        "106",
        "臺北市",
        "大安區",
        "忠孝東路四段200號",
        "大安分局 仁愛路派出所（示範）",
        "(02) 2771-0110",
        "大安消防分隊（示範）",
        "(02) 2775-0119",
    ),
    "TPE-0004": (
        "106",
        "臺北市",
        "大安區",
        "師大路80號",
        "大安分局 龍泉街派出所（示範）",
        "(02) 2363-0110",
        "大安消防分隊（示範）",
        "(02) 2775-0119",
    ),
    "TPE-0005": (
        "114",
        "臺北市",
        "內湖區",
        "成功路四段60號",
        "內湖分局 內湖派出所（示範）",
        "(02) 2791-0110",
        "內湖消防分隊（示範）",
        "(02) 2792-0119",
    ),
    "NTP-0001": (
        "220",
        "新北市",
        "板橋區",
        "文化路一段50號",
        "板橋分局 後埔派出所（示範）",
        "(02) 2960-0110 分機 21",
        "板橋消防分隊（示範）",
        "(02) 2961-0119",
    ),
    "NTP-0002": (
        "236",
        "新北市",
        "土城區",
        "中央路三段120號",
        "土城分局 清水派出所（示範）",
        "(02) 2260-0110",
        "土城消防分隊（示範）",
        "(02) 2267-0119",
    ),
    "NTP-0003": (
        "242",
        "新北市",
        "新莊區",
        "中正路500號",
        "新莊分局 中平派出所（示範）",
        "(02) 2992-0110",
        "新莊消防分隊（示範）",
        "(02) 2991-0119",
    ),
}

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


#: Opening hours of demo sites (others stay unmonitored): per weekday Monday..Sunday,
#: (opens, closes) or None for closed all day.
OFFICE = [(time(8, 30), time(18, 0))] * 5 + [(time(9, 0), time(12, 0)), None]
SHOP = [(time(9, 0), time(22, 0))] * 7
DEMO_HOURS = {"TPE-0001": OFFICE, "TPE-0002": OFFICE, "TPE-0003": SHOP}
#: Days of arm/disarm history the demo has (the card shows 30); three days ago TPE-0001 was
#: left unarmed, and last night TPE-0002 was disarmed at 02:14 (the jobs runner notifies it).
DEMO_ARM_DAYS = 35


def _load_arming(sites: dict, admin: User, manager: User) -> bool:
    """Opening hours, three weeks of arm/disarm events and the monitoring centre's integration
    (its token is thrown away: a real one is created on the integrations page)."""
    if db.session.scalar(select(OpeningHours.id).limit(1)) is not None:
        return False
    for code, week in DEMO_HOURS.items():
        arming_services.set_opening_hours(
            sites[code],
            user=admin,
            days=[
                arming_services.DaySpec(n, span is None, *(span or (None, None)))
                for n, span in enumerate(week)
            ],
        )
    now = utcnow()
    today = now.astimezone(TAIPEI).date()
    items = []

    def at(day: date, moment: time, minutes: int) -> datetime:
        local = datetime.combine(day, moment, tzinfo=TAIPEI) + timedelta(minutes=minutes)
        return local.astimezone(now.tzinfo)

    for back in range(DEMO_ARM_DAYS, 0, -1):
        day = today - timedelta(days=back)
        for n, (code, week) in enumerate(DEMO_HOURS.items()):
            span = week[day.weekday()]
            if span is None:
                continue
            site = sites[code]
            wobble = (back * 7 + n * 5) % 13
            items.append(
                arming_services.EventInput(
                    site=site,
                    kind="disarm",
                    occurred_at=at(day, span[0], -15 + wobble),
                    user_code=f"0{1 + back % 3}",
                )
            )
            if not (code == "TPE-0001" and back == 3):  # left unarmed that evening
                items.append(
                    arming_services.EventInput(
                        site=site,
                        kind="arm",
                        occurred_at=at(day, span[1], 4 + wobble),
                        user_code=f"0{1 + back % 3}",
                    )
                )
    items.append(
        arming_services.EventInput(
            site=sites["TPE-0002"],
            kind="disarm",
            occurred_at=at(today, time(2, 14), 0),
            user_code="05",
        )
    )
    items.append(
        arming_services.EventInput(
            site=sites["TPE-0002"],
            kind="arm",
            occurred_at=at(today, time(2, 31), 0),
            user_code="05",
        )
    )
    items = [i for i in items if i.occurred_at < now]
    centre, _token = arming_services.create_integration(
        user=manager,
        name="中央監控中心（示範）",
        site_ids={sites[code].id for code in DEMO_HOURS},
    )
    for n, item in enumerate(items):
        item.external_id = f"DEMO-{n:05d}"
    arming_services.record_events(items, source="api", integration=centre)
    centre.last_used_at = max(i.occurred_at for i in items)
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
                main_phone=phones.normalise(phone),
                contract_start_on=date(2026, 1, 1),
                contract_end_on=date(2027, 12, 31),
            )
            db.session.add(client)
            created = True
        clients[tax_id] = client
    db.session.flush()

    sites = {}
    for code, tax_id, name, _address, lat, lon, systems in DEMO_SITES:
        site = db.session.scalar(select(Site).where(Site.code == code))
        if site is None:
            postal, city, district, street, police, police_tel, fire, fire_tel = DEMO_SITE_PLACES[
                code
            ]
            site = Site(
                code=code,
                client=clients[tax_id],
                name=name,
                postal_code=postal,
                city=city,
                district=district,
                address=street,
                police_station=police,
                police_phone=phones.normalise(police_tel),
                fire_station=fire,
                fire_phone=phones.normalise(fire_tel),
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
    db.session.flush()
    admin = db.session.scalar(select(User).where(User.username == "admin"))
    manager = db.session.scalar(select(User).where(User.username == "manager"))
    if admin is not None and manager is not None:
        created = _load_arming(sites, admin, manager) | created
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


#: Fixed uuids: the demo's alarms are made once, whatever day `flask demo` runs again.
DEMO_CLOSED_ALARM = "00000000-0000-4000-8000-00000000a1a1"
DEMO_RUNNING_ALARM = "00000000-0000-4000-8000-00000000a1a2"


def load_demo_alarms() -> bool:
    """Two alarm responses through the procedure's services (audited like any): at TPE-0002 a
    burglary two days ago, closed with the police case number; at TPE-0001 one running now,
    the call-back done and the guard on his way (his QR scan there records the arrival)."""
    users = {u.username: u for u in db.session.scalars(select(User))}
    sites = {s.code: s for s in db.session.scalars(select(Site))}
    if "supervisor" not in users or "TPE-0002" not in sites:
        return False
    created = False
    boss, guard = users["supervisor"], users["guard"]
    now = utcnow()
    if not db.session.scalar(
        select(AlarmResponse.id).where(AlarmResponse.uuid == DEMO_CLOSED_ALARM)
    ):
        site = sites["TPE-0002"]
        received = now - timedelta(days=2, hours=3)
        alarm = alarms.open_alarm(
            site,
            user=boss,
            uuid=DEMO_CLOSED_ALARM,
            received_at=received,
            signal_type="intrusion",
            zone="03 後門磁簧",
        )
        alarms.record_callback(
            alarm,
            user=boss,
            at=received + timedelta(minutes=1),
            answered_by="",
            result="not_reached",
        )
        alarms.dispatch(alarm, user=boss, guard_id=guard.id, at=received + timedelta(minutes=2))
        scan = CheckIn(
            uuid=new_uuid(),
            site_id=site.id,
            user_id=guard.id,
            method="qr",
            scanned_at=received + timedelta(minutes=14),
            received_at=received + timedelta(minutes=14),
            latitude=site.latitude,
            longitude=site.longitude,
            accuracy_m=12,
            distance_m=8,
            verdict="on_site",
        )
        db.session.add(scan)
        db.session.flush()
        alarms.arrive(alarm, user=guard, check_in=scan)
        alarms.notify_police(
            alarm,
            user=boss,
            at=received + timedelta(minutes=16),
            unit="信義分局 三張犁派出所（示範）",
            case_number="1151124-0231",
        )
        alarms.record_findings(
            alarm,
            user=boss,
            findings="後門門鎖遭破壞，倉庫內紙箱散落，未見可疑人士；已拍照並會同警方到場。",
        )
        alarm.findings_at = received + timedelta(minutes=20)  # as written on site, not now
        alarms.confirm_rearm(
            alarm, user=boss, at=received + timedelta(minutes=70), rearmed_by="業主 林經理"
        )
        alarms.close(
            alarm,
            user=boss,
            at=received + timedelta(minutes=75),
            cause="intrusion",
            note="門鎖已請業主更換；保全系統已重新設定。",
        )
        created = True
    if db.session.scalar(select(AlarmResponse.id).where(AlarmResponse.uuid == DEMO_RUNNING_ALARM)):
        return created
    received = now - timedelta(minutes=6)
    alarm = alarms.open_alarm(
        sites["TPE-0001"],
        user=boss,
        uuid=DEMO_RUNNING_ALARM,
        received_at=received,
        signal_type="intrusion",
        zone="02 大廳紅外線",
    )
    alarms.record_callback(
        alarm, user=boss, at=received + timedelta(minutes=1), answered_by="", result="not_reached"
    )
    alarms.dispatch(alarm, user=boss, guard_id=guard.id, at=received + timedelta(minutes=2))
    return True


#: Fixed uuids: the portal's demo incident and repair are made once.
DEMO_SHARED_INCIDENT = "00000000-0000-4000-8000-00000000c1c1"
DEMO_OPEN_REPAIR = "00000000-0000-4000-8000-00000000c1c2"


def load_demo_portal() -> bool:
    """What the demo client (黃淑芬, 信義商辦大樓管理委員會) reads in the portal at TPE-0002: the
    burglary two days ago as an incident the manager shared with a summary for her (the
    narrative, with the names, stays inside), and the repair of the broken door contact."""
    users = {u.username: u for u in db.session.scalars(select(User))}
    sites = {s.code: s for s in db.session.scalars(select(Site))}
    if "manager" not in users or "supervisor" not in users or "TPE-0002" not in sites:
        return False
    created = False
    boss, manager, site = users["supervisor"], users["manager"], sites["TPE-0002"]
    now = utcnow()
    if not db.session.scalar(select(Incident.id).where(Incident.uuid == DEMO_SHARED_INCIDENT)):
        incident = alarms.report_incident(
            site,
            user=boss,
            uuid=DEMO_SHARED_INCIDENT,
            category="intrusion",
            severity="high",
            occurred_at=now - timedelta(days=2, hours=3),
            narrative="後門門鎖遭破壞。機動保全人員陳志明到場，倉庫紙箱散落；"
            "管委會林經理（0912-345-678）到場確認未失竊。",
            actions_taken="已報警（三張犁派出所，案號 1151124-0231），保全系統已重新設定。",
        )
        alarms.update_incident(incident, user=boss, to_status="resolved", note="門鎖已更換。")
        alarms.share_with_client(
            incident,
            user=manager,
            summary="夜間有人破壞 B 棟後門門鎖。保全人員於 14 分鐘內到場並報警，"
            "經確認無財物損失；門鎖已更換，保全系統已重新設定。",
        )
        created = True
    if not db.session.scalar(select(RepairTicket.id).where(RepairTicket.uuid == DEMO_OPEN_REPAIR)):
        detector = next((e for e in site.equipment if e.kind == "detector"), None)
        ticket = repairs.open_ticket(
            site,
            user=boss,
            uuid=DEMO_OPEN_REPAIR,
            problem="後門磁簧感知器遭破壞，需更換",
            equipment_id=detector.id if detector else None,
            vendor="示範系統工程行",
            today=now.astimezone(TAIPEI).date(),
        )
        repairs.change_status(ticket, user=boss, to="dispatched", note="已聯絡廠商，報價待核。")
        created = True
    return created


def load_demo_sheets() -> bool:
    """Last month's control-record sheet of TPE-0001, prepared by the supervisor, approved and
    released by the manager: the demo client user (client) reads and signs for it."""
    users = {u.username: u for u in db.session.scalars(select(User))}
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0001"))
    if site is None or "supervisor" not in users or "manager" not in users:
        return False
    today = utcnow().astimezone(TAIPEI).date()
    first = today.replace(day=1)
    last_month = date(first.year - (first.month == 1), (first.month - 2) % 12 + 1, 1)
    if records.latest_version(f"site:{site.id}", last_month) is not None:
        return False
    sheet = records.prepare(
        user=users["supervisor"],
        month=last_month,
        today=today,
        site=site,
        remarks=(
            "本月依排定巡檢，主要設備運作正常。大廳紅外線感知器偶有誤報，已請廠商調整靈敏度；"
            "請管委會提醒住戶離開時確實設定保全系統。（示範資料）"
        ),
    )
    records.approve(sheet, user=users["manager"])
    records.release(sheet, user=users["manager"])
    return True
