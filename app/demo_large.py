"""`flask demo --scale large`: a year of field work for 500 sites, written in bulk.

Built on the small demo (its five logins keep working and get a realistic load: the demo
supervisor looks after a dozen sites). Rows go in with Core `insert()` and lists of dicts in
chunks, with ids chosen here so children can point at parents without reading them back; on
PostgreSQL the id sequences are moved past them at the end. Everything is one transaction.

What is written is what the app itself would have written over a year, minus the audit
trail: the bulk rows are not audited one by one (the chain would be a year of fiction and
slow to write); one `demo.large_loaded` event records the load and its counts, so the chain
still verifies. Times are UTC instants over the last 365 days, at Taiwan working hours for
inspections and round the clock for alarms. A fixed seed makes two loads alike.
"""

from __future__ import annotations

import math
import random
import uuid as uuid_lib
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Table, func, select, text

from app import audit
from app.audit.models import AuditEvent
from app.auth import passwords
from app.auth.models import User
from app.briefings.models import (
    Acknowledgement,
    Briefing,
    BriefingSite,
    BriefingUser,
    TrainingAttendance,
    TrainingSession,
)
from app.db import utcnow
from app.demo import DEMO_PASSWORD
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import POLICE_CATEGORIES, AlarmResponse, Incident, IncidentUpdate
from app.inspections.models import (
    SCORED_KINDS,
    Amendment,
    Answer,
    ChecklistItem,
    ChecklistTemplate,
    Inspection,
)
from app.maintenance.models import MaintenanceLog, RepairTicket, RepairUpdate
from app.notifications.models import Notification
from app.sites.models import CheckIn, Client, Equipment, Site, SiteAssignment, new_qr_token

#: Full-size counts; `factor` scales them (tests load a sliver through the same code).
TARGETS = {
    "sites": 500,
    "clients": 120,
    "guards": 240,
    "supervisors": 40,
    "managers": 3,
    "inspections": 50_000,
    "check_ins": 100_000,
    "incidents": 10_000,
    "alarms": 20_000,
    "briefings": 150,
    "training_sessions": 96,
}
MARKER_ACTION = "demo.large_loaded"
CHUNK = 5_000
YEAR = timedelta(days=365)

CITIES = [
    # code prefix, city, districts, latitude, longitude, share of the sites
    (
        "TPE",
        "臺北市",
        ["信義區", "大安區", "中山區", "內湖區", "松山區", "中正區", "士林區"],
        25.04,
        121.55,
        30,
    ),
    (
        "NTP",
        "新北市",
        ["板橋區", "新莊區", "中和區", "三重區", "土城區", "汐止區", "新店區"],
        25.01,
        121.46,
        25,
    ),
    ("TYN", "桃園市", ["桃園區", "中壢區", "蘆竹區", "龜山區"], 24.99, 121.30, 15),
    ("TXG", "臺中市", ["西屯區", "北屯區", "南屯區", "西區"], 24.16, 120.65, 12),
    ("TNN", "臺南市", ["東區", "永康區", "安平區"], 23.00, 120.21, 8),
    ("KHH", "高雄市", ["前鎮區", "苓雅區", "左營區", "三民區"], 22.63, 120.30, 10),
]
STREETS = ["中山路", "中正路", "民生路", "建國路", "復興路", "忠孝路", "和平路", "光復路", "民族路"]
BRANDS = [
    "宏達",
    "永豐",
    "遠東",
    "長興",
    "光華",
    "大同",
    "新光",
    "華南",
    "正隆",
    "聯發",
    "建安",
    "仁愛",
    "明德",
    "德昌",
    "欣欣",
    "富順",
    "合勝",
    "嘉信",
    "萬泰",
    "群益",
]
TRADES = [
    ("藥局", "店", "intrusion,cctv,panic"),
    ("超商", "門市", "intrusion,cctv,panic"),
    ("銀行", "分行", "intrusion,access,cctv,panic"),
    ("物流", "倉庫", "intrusion,cctv,fire"),
    ("精密工業", "廠", "intrusion,access,cctv,fire"),
    ("商辦大樓", "棟", "intrusion,access,cctv,fire"),
    ("科技", "辦公室", "intrusion,access,cctv"),
    ("百貨", "館", "intrusion,access,cctv,fire"),
    ("診所", "院區", "intrusion,cctv,panic"),
    ("倉儲", "倉", "intrusion,cctv"),
]
SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝郭洪曾邱廖賴周"
GIVEN = "志明雅婷建國淑芬家豪俊宏怡君冠宇美玲文雄佳穎承恩信彥欣"
FAULT_NOTES = [
    "電池電壓偏低，已通知更換",
    "鏡頭起霧，畫面模糊",
    "感應器無反應，疑似故障",
    "主機顯示斷線訊號",
    "門禁讀卡機無法讀取",
    "押扣測試無訊號",
    "紀錄未簽名，已提醒駐點人員",
    "通報名冊未更新",
]
NARRATIVES = {
    "false_alarm": "監控中心接獲警報，到場查看無異狀，研判為誤報。",
    "equipment_fault": "主機回報設備異常，現場確認為感應器故障。",
    "suspicious_person": "巡邏時發現可疑人士於後門徘徊，上前盤查後離去。",
    "intrusion": "後門磁簧觸發，到場發現門鎖遭破壞，已通知警方。",
    "theft": "業主反映倉庫物品短少，調閱監視畫面中。",
    "robbery": "門市遭持刀搶劫，店員無受傷，已報警處理。",
    "fire": "煙霧偵測器動作，現場為廚房油煙，已排煙並回報。",
    "medical": "訪客於大廳昏倒，已協助叫救護車送醫。",
    "other": "颱風過後外牆招牌鬆脫，已拉起警戒線。",
}
ALARM_CAUSE_TO_CATEGORY = {
    "intrusion": "intrusion",
    "user_error": "false_alarm",
    "equipment_fault": "equipment_fault",
    "environment": "false_alarm",
    "unknown": "other",
}
#: The signal an alarm of each cause came in as (a year of alarms: mostly intrusion zones).
ALARM_CAUSE_SIGNAL = {
    "intrusion": ("intrusion", "03 後門磁簧"),
    "user_error": ("intrusion", "01 大門磁簧"),
    "equipment_fault": ("tamper", "05 主機防拆"),
    "environment": ("intrusion", "02 大廳紅外線"),
    "unknown": ("intrusion", "04 倉庫紅外線"),
}
BRIEFING_TITLES = {
    "pre_duty": ["本週勤前教育：{}", "勤前提醒：{}"],
    "notice": ["公告：{}", "注意事項：{}"],
    "work_order": ["工作指派：{}", "臨時勤務：{}"],
}
BRIEFING_TOPICS = [
    "颱風防範",
    "年節加強巡邏",
    "門禁卡管理",
    "消防設備檢查",
    "交接班紀錄",
    "可疑包裹處理",
    "個資保護",
    "夜間巡邏路線",
    "緊急應變演練",
    "制服儀容",
]


def _alarm_procedure(alarm_id: int, a: dict) -> dict:
    """An alarm's procedure beyond its four times, from its cause (no random draw: the rest of
    the year's data stays as it was): the call-back, findings, police for an intrusion
    (保全業法 §4-1), the re-arming."""
    signal, zone = ALARM_CAUSE_SIGNAL.get(a["cause"], ("intrusion", "03 後門磁簧"))
    received, arrived, cleared = a["received"], a["arrived"], a["cleared"]
    real = a["cause"] == "intrusion"
    return {
        "signal_type": signal,
        "zone": zone,
        "callback_at": received + timedelta(minutes=1),
        "callback_answered_by": "" if real else "業主",
        "callback_result": "not_reached" if real else "matched",
        "findings": NARRATIVES["intrusion"] if real and cleared else "",
        "findings_at": arrived + timedelta(minutes=5) if real and cleared else None,
        "police_notified_at": arrived + timedelta(minutes=2) if real and cleared else None,
        "police_unit": "轄區派出所" if real and cleared else "",
        "police_case_number": f"D{alarm_id:08d}" if real and cleared else "",
        "fire_notified_at": None,
        "rearmed_at": cleared - timedelta(minutes=2) if cleared else None,
        "rearmed_by": "機動保全人員" if cleared else "",
    }


@dataclass
class SiteInfo:
    id: int
    name: str
    interval: int
    target_minutes: int
    latitude: float
    longitude: float
    quality: float  # multiplies the failure rate
    equipment: dict[str, list[int]] = field(default_factory=dict)
    guards: list[int] = field(default_factory=list)
    supervisors: list[int] = field(default_factory=list)


class _Writer:
    """Chunked Core inserts with ids allocated here, counted and reported to a progress bar."""

    def __init__(self, progress: Callable[[int], None] | None):
        self.conn = db.session.connection()
        self.progress = progress or (lambda _n: None)
        self.counts: Counter[str] = Counter()
        self._next: dict[str, int] = {}

    def ids(self, table: Table, n: int) -> range:
        if table.name not in self._next:
            self._next[table.name] = (self.conn.scalar(select(func.max(table.c.id))) or 0) + 1
        start = self._next[table.name]
        self._next[table.name] = start + n
        return range(start, start + n)

    def insert(self, table: Table, rows: list[dict]) -> None:
        for i in range(0, len(rows), CHUNK):
            chunk = rows[i : i + CHUNK]
            self.conn.execute(table.insert(), chunk)
            self.progress(len(chunk))
        self.counts[table.name] += len(rows)

    def analyze(self) -> None:
        """PostgreSQL: gather the planner's statistics now rather than when autovacuum gets to
        it (SQLite plans without them, as a deployment that never runs ANALYZE would)."""
        if self.conn.dialect.name == "postgresql":
            self.conn.execute(text("ANALYZE"))

    def fix_sequences(self) -> None:
        """PostgreSQL: move each serial past the ids written here."""
        if self.conn.dialect.name != "postgresql":
            return
        for name in self._next:
            self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('\"{name}\"', 'id'),"  # noqa: S608
                    f' (SELECT max(id) FROM "{name}"))'
                )
            )


def is_loaded() -> bool:
    return (
        db.session.scalar(select(AuditEvent.seq).where(AuditEvent.action == MARKER_ACTION))
        is not None
    )


def planned_rows(factor: float) -> int:
    """About how many rows a load writes (for the progress bar)."""
    t = scaled(factor)
    return int(t["inspections"] * 24.5 + t["check_ins"] + t["incidents"] * 3 + t["alarms"] * 1.5)


def scaled(factor: float) -> dict[str, int]:
    minimum = {"sites": 12, "clients": 4, "guards": 8, "supervisors": 3, "managers": 1}
    return {key: max(minimum.get(key, 1), round(value * factor)) for key, value in TARGETS.items()}


def load_large(
    *, factor: float = 1.0, seed: int = 2026, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Write a year of data (on top of the small demo); returns rows written per table.

    The caller commits. Raises RuntimeError when it was loaded before.
    """
    if is_loaded():
        raise RuntimeError("large demo data already loaded")
    return _Loader(factor, seed, progress).run()


class _Loader:
    def __init__(self, factor: float, seed: int, progress):
        self.t = scaled(factor)
        self.rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
        self.w = _Writer(progress)
        self.now = utcnow().replace(microsecond=0)
        self.start = self.now - YEAR
        self.today = self.now.astimezone(TAIPEI).date()
        self.password_hash = passwords.hash_password(DEMO_PASSWORD)
        self.names: set[str] = set()
        self.tax_ids: set[str] = set(db.session.scalars(select(Client.tax_id)))

    # ------------------------------------------------------------ helpers

    def uuid(self) -> str:
        return str(uuid_lib.UUID(int=self.rng.getrandbits(128), version=4))

    def person_name(self) -> str:
        for _ in range(50):
            name = self.rng.choice(SURNAMES) + "".join(self.rng.sample(GIVEN, 2))
            if name not in self.names:
                break
        self.names.add(name)
        return name

    def when(self, lo: datetime | None = None, hi: datetime | None = None) -> datetime:
        lo, hi = lo or self.start, hi or self.now
        return lo + timedelta(seconds=self.rng.uniform(0, (hi - lo).total_seconds()))

    def at_work(self, instant: datetime) -> datetime:
        """The same Taiwan day, at a working hour (09:00–17:00 Taipei)."""
        day = instant.astimezone(TAIPEI).date()
        moment = datetime.combine(day, time(9), tzinfo=TAIPEI) + timedelta(
            minutes=self.rng.randrange(0, 8 * 60)
        )
        return min(moment.astimezone(UTC), self.now - timedelta(hours=2))

    # ------------------------------------------------------------ the load

    def run(self) -> dict[str, int]:
        self.registry()
        self.people()
        self.equipment()
        checkins, inspections = self.plan_inspections()
        alarms = self.plan_alarms(checkins)
        self.patrols(checkins)
        self.write_check_ins(checkins)
        failures = self.write_inspections(inspections)
        incidents = self.write_incidents(alarms)
        self.write_alarms(alarms)
        tickets = self.write_repairs(failures, incidents)
        self.write_maintenance()
        self.write_briefings()
        self.write_training()
        self.write_notifications(alarms, incidents, tickets)
        self.w.fix_sequences()
        self.w.analyze()
        counts = dict(sorted(self.w.counts.items()))
        audit.record(MARKER_ACTION, detail={"rows": sum(counts.values()), **counts})
        return counts

    def registry(self) -> None:
        """Clients and sites up to the target, beside the small demo's."""
        rng, t = self.rng, self.t
        existing_clients = list(db.session.scalars(select(Client)))
        new_clients = max(0, t["clients"] - len(existing_clients))
        combos = [(b, trade) for b in BRANDS for trade in TRADES]
        rng.shuffle(combos)
        client_rows, self.client_trades = [], {}
        city = CITIES[0]
        for cid, (brand, trade) in zip(
            self.w.ids(Client.__table__, new_clients), combos, strict=False
        ):
            suffix = "管理委員會" if trade[0] == "商辦大樓" else "股份有限公司"
            client_rows.append(
                {
                    "id": cid,
                    "name": f"{brand}{trade[0]}{suffix}",
                    "tax_id": self.tax_id(),
                    "address": self.address(city[1], rng.choice(city[2])),
                    "main_phone": f"02{rng.randint(2000, 2999)}{rng.randint(1000, 9999)}",
                    "contract_start_on": date(
                        self.today.year - rng.randint(1, 4), rng.randint(1, 12), 1
                    ),
                    "contract_end_on": date(self.today.year + rng.randint(1, 3), 12, 31),
                    "created_at": self.start - timedelta(days=rng.randint(30, 900)),
                }
            )
            self.client_trades[cid] = (brand, trade)
        self.w.insert(Client.__table__, client_rows)
        for client in existing_clients:
            self.client_trades[client.id] = (client.name[:2], TRADES[5])
        client_ids = list(self.client_trades)

        self.sites: list[SiteInfo] = [
            SiteInfo(
                s.id,
                s.name,
                s.inspection_interval_days,
                s.arrival_target_minutes,
                s.latitude or 25.03,
                s.longitude or 121.56,
                rng.uniform(0.4, 2.5),
            )
            for s in db.session.scalars(select(Site).order_by(Site.id))
        ]
        new_sites = max(0, t["sites"] - len(self.sites))
        weights = [c[5] for c in CITIES]
        counters: Counter[str] = Counter()
        site_rows = []
        for sid in self.w.ids(Site.__table__, new_sites):
            prefix, city, districts, lat, lon, _w = rng.choices(CITIES, weights)[0]
            counters[prefix] += 1
            district = rng.choice(districts)
            client_id = rng.choice(client_ids)
            brand, (trade, unit, systems) = self.client_trades[client_id]
            latitude = round(lat + rng.uniform(-0.04, 0.04), 6)
            longitude = round(lon + rng.uniform(-0.04, 0.04), 6)
            interval = rng.choice((3, 3, 5, 7, 7, 7, 14, 30))
            target = rng.choice((15, 20, 20, 20, 30))
            name = f"{brand}{trade} {district[:-1]}{unit}"
            site_rows.append(
                {
                    "id": sid,
                    "client_id": client_id,
                    "code": f"{prefix}-{100 + counters[prefix]:04d}",
                    "name": name,
                    "city": city,
                    "district": district,
                    "address": self.address(city, district)[len(city + district) :],
                    "latitude": latitude,
                    "longitude": longitude,
                    "geofence_m": 150,
                    "system_types": systems,
                    "inspection_interval_days": interval,
                    "arrival_target_minutes": target,
                    "qr_token": new_qr_token(),
                    "is_active": rng.random() > 0.01,
                    "created_at": self.start - timedelta(days=rng.randint(1, 900)),
                }
            )
            self.sites.append(
                SiteInfo(sid, name, interval, target, latitude, longitude, rng.uniform(0.4, 2.5))
            )
        self.w.insert(Site.__table__, site_rows)
        inactive = {r["id"] for r in site_rows if not r["is_active"]}
        self.active_sites = [s for s in self.sites if s.id not in inactive]

    def address(self, city: str, district: str) -> str:
        return f"{city}{district}{self.rng.choice(STREETS)}{self.rng.randint(1, 400)}號"

    def tax_id(self) -> str:
        """A valid 統一編號 not used yet."""
        from app.sites.validators import is_valid_tax_id

        while True:
            value = f"{self.rng.randrange(10**7, 10**8)}"
            if is_valid_tax_id(value) and value not in self.tax_ids:
                self.tax_ids.add(value)
                return value

    def people(self) -> None:
        """Guards, supervisors, managers and client users; each site a supervisor and guards."""
        rng, t = self.rng, self.t
        by_role = defaultdict(list)
        for user in db.session.scalars(select(User)):
            by_role[user.role].append(user.id)
        self.demo = {u.username: u.id for u in db.session.scalars(select(User))}
        user_rows = []
        plan = [
            ("guard", "g", t["guards"] - len(by_role["guard"])),
            ("supervisor", "s", t["supervisors"] - len(by_role["supervisor"])),
            ("manager", "m", t["managers"] - len(by_role["manager"])),
        ]
        for role, prefix, count in plan:
            for n, uid in enumerate(self.w.ids(User.__table__, max(0, count)), start=1):
                user_rows.append(self.user_row(uid, f"{prefix}{n:04d}", role, None))
                by_role[role].append(uid)
        clients_with_users = set(
            db.session.scalars(select(User.client_id).where(User.client_id.is_not(None)))
        )
        for n, client_id in enumerate(sorted(set(self.client_trades) - clients_with_users), 1):
            if n % 2:  # half the clients read their reports here
                uid = self.w.ids(User.__table__, 1)[0]
                user_rows.append(self.user_row(uid, f"c{n:04d}", "client", client_id))
        # A few guards have left: deactivated, their history kept.
        for row in rng.sample(
            [r for r in user_rows if r["role"] == "guard"], k=min(5, t["guards"] // 40)
        ):
            row["is_active"] = False
        self.w.insert(User.__table__, user_rows)
        inactive = {r["id"] for r in user_rows if not r["is_active"]}
        self.guards = [g for g in by_role["guard"] if g not in inactive]
        self.supervisors = by_role["supervisor"]
        self.managers = by_role["manager"]
        self.all_guards = by_role["guard"]

        existing = {(a.user_id, a.site_id) for a in db.session.scalars(select(SiteAssignment))}
        by_id = {s.id: s for s in self.sites}
        for user_id, site_id in sorted(existing):
            site = by_id[site_id]
            (site.guards if user_id in self.all_guards else site.supervisors).append(user_id)
        pairs = []
        sites = self.active_sites[:]
        rng.shuffle(sites)
        # Supervisors: every site one (the demo supervisor ends with about a dozen), some two.
        demo_supervisor = self.demo.get("supervisor")
        pool = [s for s in self.supervisors if s != demo_supervisor]
        for n, site in enumerate(s for s in sites if not s.supervisors):
            load = len(sites) // max(1, len(self.supervisors))
            who = (
                demo_supervisor if demo_supervisor and n < max(1, load - 5) else pool[n % len(pool)]
            )
            site.supervisors.append(who)
            pairs.append((who, site.id))
            if rng.random() < 0.1:
                backup = rng.choice(pool)
                if backup not in site.supervisors:
                    site.supervisors.append(backup)
                    pairs.append((backup, site.id))
        # Guards: two or three sites each, every site at least one.
        new_guards = [g for g in self.guards if g != self.demo.get("guard")]
        cycle = [s for s in sites if not s.guards]
        k = 0
        for guard in new_guards:
            for _ in range(rng.choice((2, 2, 3))):
                site = cycle[k % len(cycle)] if cycle else rng.choice(sites)
                k += 1
                if guard not in site.guards:
                    site.guards.append(guard)
                    pairs.append((guard, site.id))
        rows = [
            {"user_id": u, "site_id": s, "created_at": self.start - timedelta(days=30)}
            for u, s in pairs
            if (u, s) not in existing
        ]
        self.w.insert(SiteAssignment.__table__, rows)

    def user_row(self, uid: int, username: str, role: str, client_id: int | None) -> dict:
        return {
            "id": uid,
            "username": username,
            "display_name": self.person_name(),
            "role": role,
            "email": None,
            "locale": None,
            "password_hash": self.password_hash,
            "must_change_password": False,
            "is_active": True,
            "client_id": client_id,
            "password_changed_at": self.start,
            "last_login_at": None,
            "created_at": self.start - timedelta(days=self.rng.randint(1, 700)),
        }

    def equipment(self) -> None:
        """Each new site's units, with a maintenance plan; their logs come later."""
        rng = self.rng
        have = {row for row in db.session.scalars(select(Equipment.site_id).distinct())}
        by_id = {s.id: s for s in self.sites}
        for unit in db.session.scalars(select(Equipment)):
            by_id[unit.site_id].equipment.setdefault(unit.kind, []).append(unit.id)
        rows = []
        self.maintenance_plan = []  # (equipment id, interval, site)
        kinds = {
            "intrusion": [("control_panel", 1), ("battery", 1), ("detector", 3)],
            "cctv": [("cctv", 2)],
            "access": [("access_control", 1)],
            "panic": [("panic_button", 1)],
            "fire": [("detector", 1)],
        }
        models = {
            "control_panel": "DSC PowerSeries Neo",
            "battery": "12V 7Ah",
            "detector": "PIR LC-100",
            "cctv": "Hikvision 4MP",
            "access_control": "SOYAL AR-837",
            "panic_button": "PB-2",
        }
        intervals = {"battery": 365, "cctv": 90}
        site_systems = dict(db.session.execute(select(Site.id, Site.system_types)).all())
        for site in self.sites:
            if site.id in have:
                continue
            wanted = []
            for system in site_systems[site.id].split(","):
                for kind, n in kinds.get(system, []):
                    wanted += [kind] * rng.randint(1, n)
            ids = self.w.ids(Equipment.__table__, len(wanted))
            for eid, kind in zip(ids, wanted, strict=True):
                interval = intervals.get(kind, 180)
                # The last visit: mostly within the interval, a few overdue.
                age = (
                    rng.randint(0, interval - 1)
                    if rng.random() > 0.05
                    else interval + rng.randint(1, 60)
                )
                last = self.today - timedelta(days=age)
                status = "fault" if rng.random() < 0.01 else "ok"
                rows.append(
                    {
                        "id": eid,
                        "site_id": site.id,
                        "kind": kind,
                        "model": models[kind],
                        "serial": f"SN{rng.randrange(10**7, 10**8)}",
                        "location": rng.choice(
                            ["1F 管理室", "1F 大廳", "B1 停車場", "2F 走廊", "頂樓機房", "後門"]
                        ),
                        "installed_on": self.today - timedelta(days=rng.randint(400, 2000)),
                        "maintenance_interval_days": interval,
                        "last_maintained_on": last,
                        "status": status,
                        "created_at": self.start - timedelta(days=30),
                    }
                )
                site.equipment.setdefault(kind, []).append(eid)
                self.maintenance_plan.append((eid, interval, last, site))
        self.w.insert(Equipment.__table__, rows)

    # ------------------------------------------------------------ inspections and check-ins

    def check_in(self, site: SiteInfo, user_id: int, at: datetime) -> dict:
        rng = self.rng
        roll = rng.random()
        verdict = "on_site" if roll < 0.93 else ("off_site" if roll < 0.98 else "no_fix")
        skew = (
            rng.randint(-20, 20)
            if rng.random() > 0.01
            else rng.choice((-1, 1)) * rng.randint(301, 1800)
        )
        scanned = at + timedelta(seconds=skew)
        distance = (
            rng.uniform(3, 120)
            if verdict == "on_site"
            else (rng.uniform(300, 3000) if verdict == "off_site" else None)
        )
        return {
            "uuid": self.uuid(),
            "site_id": site.id,
            "user_id": user_id,
            "method": "qr" if rng.random() > 0.05 else "code",
            "scanned_at": scanned,
            "received_at": at,
            "latitude": None if verdict == "no_fix" else site.latitude + rng.uniform(-0.001, 0.001),
            "longitude": None
            if verdict == "no_fix"
            else site.longitude + rng.uniform(-0.001, 0.001),
            "accuracy_m": None if verdict == "no_fix" else round(rng.uniform(4, 40), 1),
            "distance_m": None if distance is None else round(distance, 1),
            "verdict": verdict,
            "clock_skew_s": skew,
        }

    def plan_inspections(self) -> tuple[list[dict], list[dict]]:
        """When each site was inspected, by whom; a supervisor's check-in before each."""
        rng, total = self.rng, self.t["inspections"]
        sites = [s for s in self.active_sites if s.supervisors]
        weights = [365 / s.interval for s in sites]
        scale = total / sum(weights)
        counts = [max(1, round(w * scale)) for w in weights]
        # A few new contracts were never inspected; some sites are overdue now.
        for i in rng.sample(range(len(sites)), k=max(1, len(sites) // 100)):
            counts[i] = 0
        # Rounding leaves a few over or under the target: busier or quieter sites make it up.
        inspected = [i for i, c in enumerate(counts) if c]
        missing = total - sum(counts)
        for i in rng.choices(inspected, k=max(0, missing)):
            counts[i] += 1
        spare = [i for i in inspected if counts[i] > 1]
        while missing < 0 and spare:
            i = rng.choice(spare)
            counts[i] -= 1
            missing += 1
            if counts[i] == 1:
                spare.remove(i)
        checkins, plan = [], []
        for site, count in zip(sites, counts, strict=True):
            if not count:
                continue
            overdue = rng.random() < 0.08
            lag = site.interval * (rng.uniform(1.2, 3) if overdue else rng.uniform(0, 0.7))
            end = self.now - timedelta(days=lag)
            span = (end - self.start).total_seconds()
            for k in range(count):
                moment = self.start + timedelta(seconds=span * (k + rng.uniform(0.1, 0.9)) / count)
                started = self.at_work(moment)
                inspector = (
                    site.supervisors[0] if rng.random() < 0.9 else rng.choice(self.supervisors)
                )
                arrival = self.check_in(
                    site, inspector, started - timedelta(minutes=rng.randint(2, 15))
                )
                checkins.append(arrival)
                plan.append(
                    {"site": site, "inspector": inspector, "started": started, "check_in": arrival}
                )
        # Drafts: started in the last two days and not finished (one by the demo supervisor).
        demo = self.demo.get("supervisor")
        mine = [s for s in sites if demo in s.supervisors]
        for n in range(max(1, total // 1000)):
            site = mine[0] if n == 0 and mine else rng.choice(sites)
            inspector = demo if n == 0 and mine else site.supervisors[0]
            started = self.now - timedelta(hours=rng.uniform(2, 48))
            plan.append(
                {
                    "site": site,
                    "inspector": inspector,
                    "started": started,
                    "check_in": None,
                    "draft": True,
                }
            )
        return checkins, plan

    def plan_alarms(self, checkins: list[dict]) -> list[dict]:
        """Alarms round the clock, each with a guard sent and (mostly) his arrival check-in."""
        rng, alarms = self.rng, []
        sites = [s for s in self.active_sites if s.guards and s.supervisors]
        for _ in range(self.t["alarms"]):
            site = rng.choice(sites)
            received = self.when(hi=self.now - timedelta(hours=3))
            if rng.random() < 0.5:  # more at night: move half of them to 19:00–07:00 Taipei
                night = received.astimezone(TAIPEI).replace(
                    hour=19, minute=0, second=0
                ) + timedelta(minutes=rng.randrange(0, 12 * 60))
                received = min(night.astimezone(UTC), self.now - timedelta(hours=3))
            guard = rng.choice(site.guards)
            dispatched = received + timedelta(minutes=rng.uniform(1, 4))
            late = rng.random() < 0.1
            travel = site.target_minutes * (rng.uniform(1.1, 2) if late else rng.uniform(0.3, 0.95))
            arrived = dispatched + timedelta(minutes=travel)
            cleared = arrived + timedelta(minutes=rng.uniform(10, 45))
            arrival = self.check_in(site, guard, arrived)
            checkins.append(arrival)
            cause = rng.choices(
                ["user_error", "environment", "equipment_fault", "intrusion", "unknown"],
                [50, 20, 15, 5, 10],
            )[0]
            alarms.append(
                {
                    "site": site,
                    "guard": guard,
                    "received": received,
                    "dispatched": dispatched,
                    "arrived": arrived,
                    "cleared": cleared,
                    "check_in": arrival,
                    "cause": cause,
                    "late": late,
                    "creator": site.supervisors[0],
                }
            )
        # Running now: one on its way, one late and not there yet.
        for minutes_ago in (5, 45):
            site = rng.choice(sites)
            received = self.now - timedelta(minutes=minutes_ago)
            alarms.append(
                {
                    "site": site,
                    "guard": rng.choice(site.guards),
                    "received": received,
                    "dispatched": received + timedelta(minutes=2),
                    "arrived": None,
                    "cleared": None,
                    "check_in": None,
                    "cause": None,
                    "late": minutes_ago > site.target_minutes,
                    "creator": site.supervisors[0],
                }
            )
        return alarms

    def patrols(self, checkins: list[dict]) -> None:
        """Guards' patrol check-ins make up the rest of the year's check-ins."""
        rng = self.rng
        sites = [s for s in self.active_sites if s.guards]
        for _ in range(max(0, self.t["check_ins"] - len(checkins))):
            site = rng.choice(sites)
            checkins.append(self.check_in(site, rng.choice(site.guards), self.when()))

    def write_check_ins(self, checkins: list[dict]) -> None:
        checkins.sort(key=lambda c: c["received_at"])
        for cid, row in zip(self.w.ids(CheckIn.__table__, len(checkins)), checkins, strict=True):
            row["id"] = cid
        self.w.insert(CheckIn.__table__, checkins)

    def write_inspections(self, plan: list[dict]) -> list[dict]:
        """Inspections with every answer, scored as submission scores them; returns failures
        of equipment items (for repair tickets)."""
        rng = self.rng
        template = db.session.scalar(
            select(ChecklistTemplate).where(
                ChecklistTemplate.key == "default", ChecklistTemplate.is_active.is_(True)
            )
        )
        items = list(
            db.session.scalars(
                select(ChecklistItem)
                .where(
                    ChecklistItem.template_id == template.id, ChecklistItem.is_retired.is_(False)
                )
                .order_by(ChecklistItem.position)
            )
        )
        names = dict(db.session.execute(select(User.id, User.display_name)).all())
        plan.sort(key=lambda p: p["started"])
        failures, amendments = [], []
        answer_ids = iter(self.w.ids(Answer.__table__, len(plan) * len(items)))
        inspection_ids = self.w.ids(Inspection.__table__, len(plan))
        for start in range(0, len(plan), 2000):
            rows, answers = [], []
            for iid, p in zip(
                inspection_ids[start : start + 2000], plan[start : start + 2000], strict=True
            ):
                site, draft = p["site"], p.get("draft", False)
                fail_rate = 0.012 * site.quality
                total = passed = 0.0
                failed = 0
                moment = p["started"]
                answered = items[: rng.randint(3, len(items) - 3)] if draft else items
                for item in answered:
                    moment += timedelta(seconds=rng.randint(20, 150))
                    value, is_pass, note, equipment_id = self.answer(item, site, fail_rate)
                    aid = next(answer_ids)
                    answers.append(
                        {
                            "id": aid,
                            "inspection_id": iid,
                            "item_id": item.id,
                            "value": value,
                            "is_pass": is_pass,
                            "note": note,
                            "equipment_id": equipment_id,
                            "answered_at": moment,
                        }
                    )
                    if item.kind in SCORED_KINDS and is_pass is not None:
                        total += item.weight
                        passed += item.weight if is_pass else 0
                        failed += 0 if is_pass else 1
                    if is_pass is False and equipment_id and not draft:
                        failures.append(
                            {
                                "answer_id": aid,
                                "site": site,
                                "equipment_id": equipment_id,
                                "at": moment,
                                "problem": note,
                                "by": p["inspector"],
                            }
                        )
                submitted = None if draft else moment + timedelta(minutes=rng.randint(2, 10))
                status = "draft" if draft else ("amended" if rng.random() < 0.02 else "submitted")
                rows.append(
                    {
                        "id": iid,
                        "uuid": self.uuid(),
                        "site_id": site.id,
                        "template_id": template.id,
                        "inspector_id": p["inspector"],
                        "check_in_id": p["check_in"]["id"] if p["check_in"] else None,
                        "started_at": p["started"],
                        "submitted_at": submitted,
                        "status": status,
                        "score": None
                        if draft
                        else (round(100 * passed / total, 1) if total else None),
                        "failed_count": 0 if draft else failed,
                        "signer_name": "" if draft else names[p["inspector"]],
                        "signature_photo_id": None,
                        "contact_name": "",
                        "contact_signature_photo_id": None,
                    }
                )
                if status == "amended":
                    item = rng.choice([i for i in items if i.kind == "pass_fail"])
                    amendments.append(
                        {
                            "inspection_id": iid,
                            "item_id": item.id,
                            "old_value": "fail",
                            "new_value": "pass",
                            "old_note": "",
                            "new_note": "",
                            "reason": "複查後確認正常，原登錄有誤。",
                            "amended_by_id": p["inspector"],
                            "amended_at": min(
                                submitted + timedelta(days=rng.randint(1, 5)), self.now
                            ),
                        }
                    )
            self.w.insert(Inspection.__table__, rows)
            self.w.insert(Answer.__table__, answers)
        self.w.insert(Amendment.__table__, amendments)
        return failures

    def answer(self, item: ChecklistItem, site: SiteInfo, fail_rate: float):
        """(value, is_pass, note, equipment id) for one item."""
        rng = self.rng
        fails = rng.random() < fail_rate
        units = site.equipment.get(item.equipment_kind or "", [])
        if item.equipment_kind and not units and item.kind == "pass_fail_na":
            return "na", None, "", None
        if item.kind == "number":
            low, high = item.min_value or 0, item.max_value or 100
            number = (
                rng.uniform(low - 1.5, low - 0.1) if fails else rng.uniform(low + 1.5, high - 0.7)
            )
            value = f"{number:.1f}"
        elif item.kind == "pass_fail_na" and rng.random() < 0.15:
            return "na", None, "", None
        elif item.kind in ("pass_fail", "pass_fail_na"):
            value = "fail" if fails else "pass"
        else:
            return "", None, "", None
        note = rng.choice(FAULT_NOTES) if fails else ""
        unit = rng.choice(units) if fails and units else None
        return value, not fails, note, unit

    # ------------------------------------------------------------ incidents and alarms

    def write_incidents(self, alarms: list[dict]) -> list[dict]:
        """A third come from alarms, the rest reported on patrol; the recent ones still open."""
        rng, total = self.rng, self.t["incidents"]
        finished = [a for a in alarms if a["cleared"] is not None]
        from_alarms = rng.sample(finished, k=min(len(finished), total // 3))
        plans = []
        for alarm in from_alarms:
            category = ALARM_CAUSE_TO_CATEGORY[alarm["cause"]]
            plans.append((alarm["site"], alarm["guard"], alarm["received"], category, alarm))
        sites = [s for s in self.active_sites if s.guards]
        categories = [
            "false_alarm",
            "equipment_fault",
            "suspicious_person",
            "other",
            "intrusion",
            "theft",
            "medical",
            "fire",
            "robbery",
        ]
        for _ in range(total - len(plans)):
            site = rng.choice(sites)
            category = rng.choices(categories, [35, 22, 14, 10, 6, 5, 4, 3, 1])[0]
            plans.append((site, rng.choice(site.guards), self.when(), category, None))
        plans.sort(key=lambda p: p[2])
        rows, updates, incidents = [], [], []
        ids = self.w.ids(Incident.__table__, len(plans))
        for iid, (site, reporter, occurred, category, alarm) in zip(ids, plans, strict=True):
            severity = self.severity(category)
            age = self.now - occurred
            if age < timedelta(days=2):
                status = rng.choice(("open", "open", "in_progress"))
            elif age < timedelta(days=14):
                status = rng.choice(("in_progress", "resolved", "closed", "closed"))
            else:
                status = "closed" if rng.random() < 0.9 else "resolved"
            reported = occurred + timedelta(minutes=rng.randint(5, 90))
            police = (
                reported + timedelta(minutes=rng.randint(1, 30))
                if category in POLICE_CATEGORIES and rng.random() < 0.95
                else None
            )
            client = (
                reported + timedelta(minutes=rng.randint(1, 60))
                if severity != "low" and rng.random() < 0.9
                else None
            )
            rows.append(
                {
                    "id": iid,
                    "uuid": self.uuid(),
                    "site_id": site.id,
                    "reporter_id": reporter,
                    "category": category,
                    "severity": severity,
                    "occurred_at": occurred,
                    "reported_at": min(reported, self.now),
                    "narrative": NARRATIVES[category],
                    "actions_taken": "已到場確認並回報督導。",
                    "status": status,
                    "client_notified_at": client if client and client < self.now else None,
                    "police_notified_at": police if police and police < self.now else None,
                }
            )
            path = {
                "open": [],
                "in_progress": ["in_progress"],
                "resolved": ["in_progress", "resolved"],
                "closed": ["in_progress", "resolved", "closed"],
            }[status]
            moment, before = reported, "open"
            for to in path:
                moment = min(moment + timedelta(hours=rng.uniform(0.5, 30)), self.now)
                updates.append(
                    {
                        "incident_id": iid,
                        "author_id": site.supervisors[0] if site.supervisors else reporter,
                        "at": moment,
                        "note": "",
                        "from_status": before,
                        "to_status": to,
                        "event": None,
                    }
                )
                before = to
            if alarm is not None:
                alarm["incident_id"] = iid
            incidents.append(
                {
                    "id": iid,
                    "site": site,
                    "severity": severity,
                    "at": reported,
                    "category": category,
                }
            )
        self.w.insert(Incident.__table__, rows)
        self.w.insert(IncidentUpdate.__table__, updates)
        return incidents

    def severity(self, category: str) -> str:
        choices = {
            "false_alarm": ("low",),
            "equipment_fault": ("low", "medium"),
            "suspicious_person": ("low", "medium"),
            "other": ("low", "medium"),
            "medical": ("medium", "high"),
            "intrusion": ("medium", "high", "high"),
            "theft": ("medium", "high"),
            "fire": ("high", "critical"),
            "robbery": ("high", "critical", "critical"),
        }
        return self.rng.choice(choices[category])

    def write_alarms(self, alarms: list[dict]) -> None:
        alarms.sort(key=lambda a: a["received"])
        rows = []
        for aid, a in zip(self.w.ids(AlarmResponse.__table__, len(alarms)), alarms, strict=True):
            a["id"] = aid
            rows.append(
                {
                    "id": aid,
                    "uuid": self.uuid(),
                    "site_id": a["site"].id,
                    "guard_id": a["guard"],
                    "created_by_id": a["creator"],
                    "received_at": a["received"],
                    "dispatched_at": a["dispatched"],
                    "arrived_at": a["arrived"],
                    "cleared_at": a["cleared"],
                    "arrival_check_in_id": a["check_in"]["id"] if a["check_in"] else None,
                    "cause": a["cause"],
                    "note": "",
                    "incident_id": a.get("incident_id"),
                    **_alarm_procedure(aid, a),
                }
            )
        self.w.insert(AlarmResponse.__table__, rows)

    # ------------------------------------------------------------ repairs and maintenance

    def write_repairs(self, failures: list[dict], incidents: list[dict]) -> list[dict]:
        """Tickets for most equipment failures found by inspections and for equipment-fault
        incidents: the old ones verified, the recent ones open, a few overdue."""
        rng = self.rng
        sources = [("inspection", f) for f in failures if rng.random() < 0.7]
        sources += [
            (
                "incident",
                {
                    "site": i["site"],
                    "at": i["at"],
                    "incident_id": i["id"],
                    "problem": NARRATIVES["equipment_fault"],
                    "by": i["site"].supervisors[0] if i["site"].supervisors else None,
                },
            )
            for i in incidents
            if i["category"] == "equipment_fault" and rng.random() < 0.3
        ]
        sources = [(kind, s) for kind, s in sources if s["by"]]
        sources.sort(key=lambda s: s[1]["at"])
        rows, updates, tickets = [], [], []
        for tid, (source, s) in zip(
            self.w.ids(RepairTicket.__table__, len(sources)), sources, strict=True
        ):
            site = s["site"]
            due = (s["at"].astimezone(TAIPEI) + timedelta(days=7)).date()
            age = (self.now - s["at"]).days
            if age > 30:
                status = rng.choices(("verified", "cancelled", "fixed"), [88, 5, 7])[0]
            elif age > 7:
                status = rng.choices(
                    ("verified", "fixed", "dispatched", "reported"), [50, 25, 15, 10]
                )[0]
            else:
                status = rng.choice(("reported", "dispatched", "fixed"))
            fixed = (
                s["at"] + timedelta(days=rng.uniform(1, 6))
                if status in ("fixed", "verified")
                else None
            )
            verified = fixed + timedelta(days=rng.uniform(0.5, 5)) if status == "verified" else None
            fixed = min(fixed, self.now) if fixed else None
            verified = min(verified, self.now) if verified else None
            rows.append(
                {
                    "id": tid,
                    "uuid": self.uuid(),
                    "site_id": site.id,
                    "equipment_id": s.get("equipment_id"),
                    "source": source,
                    "answer_id": s.get("answer_id"),
                    "incident_id": s.get("incident_id"),
                    "problem": s["problem"] or "設備異常",
                    "vendor": rng.choice(("", "安順機電", "宏昇保全設備")),
                    "due_on": due,
                    "status": status,
                    "cancel_reason": "重複報修" if status == "cancelled" else "",
                    "reported_by_id": s["by"],
                    "reported_at": s["at"],
                    "fixed_at": fixed,
                    "verified_at": verified,
                    "verified_by_id": s["by"] if verified else None,
                }
            )
            path = {
                "reported": [],
                "dispatched": ["dispatched"],
                "fixed": ["dispatched", "fixed"],
                "verified": ["dispatched", "fixed", "verified"],
                "cancelled": ["cancelled"],
            }[status]
            moment, before = s["at"], "reported"
            for to in path:
                moment = min(moment + timedelta(hours=rng.uniform(2, 48)), self.now)
                if to == "fixed" and fixed:
                    moment = fixed
                if to == "verified" and verified:
                    moment = verified
                updates.append(
                    {
                        "ticket_id": tid,
                        "author_id": s["by"],
                        "at": moment,
                        "from_status": before,
                        "to_status": to,
                        "note": "",
                    }
                )
                before = to
            tickets.append({"id": tid, "site": site, "status": status, "due": due, "at": s["at"]})
        self.w.insert(RepairTicket.__table__, rows)
        self.w.insert(RepairUpdate.__table__, updates)
        return tickets

    def write_maintenance(self) -> None:
        """A log for each visit over the year, the last one the unit's last maintenance."""
        rng, rows = self.rng, []
        for eid, interval, last, site in self.maintenance_plan:
            if not site.supervisors:
                continue
            done = last
            while done >= self.start.date():
                rows.append(
                    {
                        "equipment_id": eid,
                        "done_on": done,
                        "done_by_id": site.supervisors[0],
                        "work": rng.choice(
                            ("定期保養，功能正常", "更換電池", "清潔鏡頭並調整角度", "測試感應器")
                        ),
                        "photo_id": None,
                        "created_at": datetime.combine(done, time(10), tzinfo=TAIPEI).astimezone(
                            UTC
                        ),
                    }
                )
                done -= timedelta(days=interval)
        self.w.insert(MaintenanceLog.__table__, rows)

    # ------------------------------------------------------------ briefings and training

    def write_briefings(self) -> None:
        """About three a week; most of the audience acknowledged, the newest still in progress."""
        rng, total = self.rng, self.t["briefings"]
        authors = [u for u in self.supervisors] + self.managers
        members_of_site = {s.id: s.guards for s in self.sites}
        pledge_people = self.guards + self.supervisors + self.managers
        rows, site_rows, user_rows, acks = [], [], [], []
        moments = sorted(self.when() for _ in range(total))
        ids = self.w.ids(Briefing.__table__, total)
        for n, (bid, published) in enumerate(zip(ids, moments, strict=True)):
            if n == total // 2 and self.managers:
                kind, audience, author = "pledge", "confidential", self.managers[0]
            else:
                kind = rng.choices(("pre_duty", "notice", "work_order"), [50, 32, 18])[0]
                audience = rng.choices(("all_guards", "sites", "users"), [20, 62, 18])[0]
                author = rng.choice(authors)
            status = "published"
            if kind == "pledge":
                pass
            elif n >= total - max(1, total // 30):
                status = "draft"
            elif rng.random() < 0.03:
                status = "withdrawn"
            version = 2 if rng.random() < 0.1 or kind == "pledge" else 1
            if audience == "all_guards":
                members = list(self.guards)
            elif audience == "sites":
                chosen = rng.sample(
                    self.active_sites, k=min(len(self.active_sites), rng.randint(1, 6))
                )
                site_rows += [{"briefing_id": bid, "site_id": s.id} for s in chosen]
                members = sorted(
                    {g for s in chosen for g in members_of_site[s.id] if g in self.guards}
                )
            elif audience == "users":
                members = rng.sample(
                    self.guards + self.supervisors, k=min(len(self.guards), rng.randint(2, 8))
                )
                user_rows += [{"briefing_id": bid, "user_id": u} for u in members]
            else:
                members = pledge_people
            topic = rng.choice(BRIEFING_TOPICS)
            title = (
                "保密切結書"
                if kind == "pledge"
                else rng.choice(BRIEFING_TITLES[kind]).format(topic)
            )
            requires_ack = kind == "pledge" or rng.random() < 0.85
            rows.append(
                {
                    "id": bid,
                    "kind": kind,
                    "title": title,
                    "body": f"{title}\n\n請各位同仁詳閱並確實執行，如有疑問請洽督導。",
                    "author_id": author,
                    "version": version,
                    "requires_ack": requires_ack,
                    "due_on": (published + timedelta(days=rng.randint(3, 7)))
                    .astimezone(TAIPEI)
                    .date(),
                    "status": status,
                    "audience": audience,
                    "created_at": published - timedelta(hours=rng.uniform(1, 48)),
                    "published_at": None if status == "draft" else published,
                    "updated_at": published,
                }
            )
            if status == "draft" or not requires_ack:
                continue
            age = (self.now - published).days
            share = 0.95 if age > 14 else 0.5
            for user_id in members:
                for v in range(1, version + 1):
                    if rng.random() < (share if v == version else 0.7):
                        at = min(published + timedelta(hours=rng.uniform(0.2, 96)), self.now)
                        acks.append(
                            {"briefing_id": bid, "version": v, "user_id": user_id, "at": at}
                        )
        self.w.insert(Briefing.__table__, rows)
        self.w.insert(BriefingSite.__table__, site_rows)
        self.w.insert(BriefingUser.__table__, user_rows)
        self.w.insert(Acknowledgement.__table__, acks)

    def write_training(self) -> None:
        """Sessions over two years; each guard attended first aid, fire safety and personal
        data at some point, so a few are expired or expiring today."""
        rng, total = self.rng, self.t["training_sessions"]
        topics = ["first_aid", "fire_safety", "personal_data", "on_the_job", "other"]
        spans = {"first_aid": 760, "fire_safety": 395, "personal_data": 395}
        sessions, attendance = [], []
        ids = list(self.w.ids(TrainingSession.__table__, total))
        by_topic = defaultdict(list)
        for n, sid in enumerate(ids):
            topic = topics[n % len(topics)]
            held = self.today - timedelta(days=rng.randint(1, spans.get(topic, 365)))
            by_topic[topic].append(sid)
            sessions.append(
                {
                    "id": sid,
                    "topic": topic,
                    "held_on": held,
                    "hours": rng.choice((2.0, 3.0, 4.0)),
                    "trainer": rng.choice(("消防局講師", "紅十字會講師", "公司教育訓練組")),
                    "note": "",
                    "evidence_photo_id": None,
                    "created_by_id": rng.choice(self.managers or self.supervisors),
                    "created_at": datetime.combine(held, time(18), tzinfo=TAIPEI).astimezone(UTC),
                }
            )
        for guard in self.all_guards:
            for topic in topics:
                if by_topic[topic] and rng.random() < (0.96 if topic in spans else 0.3):
                    attendance.append({"session_id": rng.choice(by_topic[topic]), "user_id": guard})
        self.w.insert(TrainingSession.__table__, sessions)
        self.w.insert(TrainingAttendance.__table__, attendance)

    # ------------------------------------------------------------ notifications

    def write_notifications(
        self, alarms: list[dict], incidents: list[dict], tickets: list[dict]
    ) -> None:
        """What the app would have sent: late alarms, serious incidents, overdue repairs, to
        each site's supervisors and every manager; read, except the last week's."""
        rows, seen = [], set()
        today = self.today

        def send(site: SiteInfo, kind, key, link, at):
            for user_id in [*site.supervisors, *self.managers]:
                if (user_id, key) in seen:
                    continue
                seen.add((user_id, key))
                read = at + timedelta(hours=self.rng.uniform(0.1, 30))
                rows.append(
                    {
                        "user_id": user_id,
                        "kind": kind,
                        "dedupe_key": key,
                        "subject": site.name[:200],
                        "link": link,
                        "created_at": at,
                        "read_at": read
                        if self.now - at > timedelta(days=7) and read < self.now
                        else None,
                        "emailed_at": None,
                    }
                )

        for a in alarms:
            if a["late"]:
                at = a["received"] + timedelta(minutes=a["site"].target_minutes + 1)
                if at < self.now:
                    send(a["site"], "alarm_late", f"alarm:{a['id']}:late", f"/alarms/{a['id']}", at)
        for i in incidents:
            if i["severity"] in ("high", "critical"):
                key = f"incident:{i['id']}:{i['severity']}"
                send(i["site"], f"incident_{i['severity']}", key, f"/incidents/{i['id']}", i["at"])
        for t in tickets:
            overdue_now = t["status"] in ("reported", "dispatched") and t["due"] < today
            if overdue_now or (t["status"] == "verified" and self.rng.random() < 0.05):
                at = datetime.combine(t["due"] + timedelta(days=1), time(8), tzinfo=TAIPEI)
                at = min(at.astimezone(UTC), self.now)
                send(
                    t["site"],
                    "repair_overdue",
                    f"repair:{t['id']}:overdue",
                    f"/repairs/{t['id']}",
                    at,
                )
        rows.sort(key=lambda r: r["created_at"])
        self.w.insert(Notification.__table__, rows)


def describe(counts: dict[str, int]) -> list[str]:
    """Lines for the command's report, biggest tables first."""
    width = max((len(k) for k in counts), default=0)
    return [f"  {k:<{width}} {v:>9,}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])]


def elapsed(seconds: float) -> str:
    minutes, seconds = divmod(math.ceil(seconds), 60)
    return f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
