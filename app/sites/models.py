"""Client 業主, Site 案場, SiteAssignment, Equipment, retired QR codes and CheckIn."""

from __future__ import annotations

import secrets
from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin, add_days, utcnow

#: System types a site can have (DESIGN.md: K02 of the standard).
SYSTEM_TYPES = ("intrusion", "access", "cctv", "fire", "panic")
#: Taiwan's 22 special municipalities, provincial cities and counties (直轄市/縣市), north to
#: south then the islands, as the post office writes them.
TAIWAN_CITIES = (
    "臺北市",
    "新北市",
    "基隆市",
    "桃園市",
    "新竹市",
    "新竹縣",
    "苗栗縣",
    "臺中市",
    "彰化縣",
    "南投縣",
    "雲林縣",
    "嘉義市",
    "嘉義縣",
    "臺南市",
    "高雄市",
    "屏東縣",
    "宜蘭縣",
    "花蓮縣",
    "臺東縣",
    "澎湖縣",
    "金門縣",
    "連江縣",
)
#: Equipment kinds named by the default checklist.
EQUIPMENT_KINDS = (
    "control_panel",
    "battery",
    "detector",
    "panic_button",
    "cctv",
    "access_control",
    "other",
)
EQUIPMENT_STATUSES = ("ok", "fault", "under_repair", "retired")
VERDICTS = ("on_site", "off_site", "no_fix")
#: How a check-in was made, decided by the server from the route it came through: "qr" only
#: by the scanned label URL /s/<token>, "code" by the site code typed in the app.
CHECK_IN_METHODS = ("qr", "code")
#: A check-in made without a location takes one sent again this long after it arrived.
LOCATION_RETRY_MINUTES = 15
#: A device clock this far from the server's is flagged on the check-in.
CLOCK_SKEW_LIMIT_S = 5 * 60


def new_qr_token() -> str:
    """A random URL-safe token of 192 bits for the site's QR code."""
    return secrets.token_urlsafe(24)


class Client(TimestampMixin, Base):
    __tablename__ = "client"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    #: 統一編號, eight digits with a checksum.
    tax_id: Mapped[str | None] = mapped_column(String(8), unique=True)
    address: Mapped[str] = mapped_column(String(300), default="")
    #: A non-personal main phone; contact persons live in the confidential vault.
    main_phone: Mapped[str] = mapped_column(String(40), default="")
    contract_start_on: Mapped[date | None]
    contract_end_on: Mapped[date | None]

    sites: Mapped[list[Site]] = relationship(back_populates="client", order_by="Site.code")


class Site(TimestampMixin, Base):
    __tablename__ = "site"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("client.id", ondelete="RESTRICT"), index=True)
    #: Short unique code printed on the label, e.g. TPE-0012.
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: The address as Taiwan writes it (issue 13, item 6): postal code (3, 5 or 6 digits),
    #: city or county (直轄市/縣市, one of TAIWAN_CITIES), district (區/鄉/鎮/市), then the
    #: street address. Sites made before kept their whole address in `address` (the street).
    postal_code: Mapped[str] = mapped_column(String(6), default="", server_default="")
    city: Mapped[str] = mapped_column(String(10), default="", server_default="")
    district: Mapped[str] = mapped_column(String(20), default="", server_default="")
    address: Mapped[str] = mapped_column(String(300), default="")
    #: The local police station (轄區派出所) and fire station (消防分隊) and their numbers,
    #: stored normalised by app.phones ("0227295757", "0227295757#123").
    police_station: Mapped[str] = mapped_column(String(100), default="", server_default="")
    police_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    fire_station: Mapped[str] = mapped_column(String(100), default="", server_default="")
    fire_phone: Mapped[str] = mapped_column(String(20), default="", server_default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: Radius in metres within which a check-in counts as on site.
    geofence_m: Mapped[int] = mapped_column(default=150)
    #: Comma-separated system types, a subset of SYSTEM_TYPES.
    system_types: Mapped[str] = mapped_column(String(100), default="intrusion")
    inspection_interval_days: Mapped[int] = mapped_column(default=30)
    #: Minutes within which a mobile guard must reach the site after an alarm.
    arrival_target_minutes: Mapped[int] = mapped_column(default=20, server_default="20")
    #: Random token in the site's QR code; rotating it retires printed labels.
    qr_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_qr_token)
    is_active: Mapped[bool] = mapped_column(default=True)

    client: Mapped[Client] = relationship(back_populates="sites")
    assignments: Mapped[list[SiteAssignment]] = relationship(
        back_populates="site", cascade="all, delete-orphan"
    )
    equipment: Mapped[list[Equipment]] = relationship(
        back_populates="site", order_by="Equipment.kind, Equipment.id"
    )

    @property
    def system_type_list(self) -> list[str]:
        return [t for t in self.system_types.split(",") if t]

    @property
    def full_address(self) -> str:
        """ "100 臺北市中正區重慶南路一段122號": postal code, city, district, street."""
        place = f"{self.city or ''}{self.district or ''}{self.address or ''}"
        return f"{self.postal_code} {place}".strip() if self.postal_code else place

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class SiteAssignment(TimestampMixin, Base):
    """Which supervisors and guards serve a site."""

    __tablename__ = "site_assignment"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)

    site: Mapped[Site] = relationship(back_populates="assignments")
    user = relationship("User")


class RetiredQrToken(Base):
    """A QR token that was replaced: scanning it says so instead of 'unknown code'."""

    __tablename__ = "retired_qr_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)
    retired_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))

    site: Mapped[Site] = relationship()


class Equipment(TimestampMixin, Base):
    __tablename__ = "equipment"
    __table_args__ = (
        CheckConstraint(
            "kind IN ('control_panel', 'battery', 'detector', 'panic_button', 'cctv', "
            "'access_control', 'other')",
            name="kind",
        ),
        CheckConstraint("status IN ('ok', 'fault', 'under_repair', 'retired')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"), index=True)
    #: One of EQUIPMENT_KINDS.
    kind: Mapped[str] = mapped_column(String(30))
    model: Mapped[str] = mapped_column(String(120), default="")
    serial: Mapped[str] = mapped_column(String(120), default="")
    #: Where on the site, e.g. "1F 大廳" or "B1 機房".
    location: Mapped[str] = mapped_column(String(200), default="")
    installed_on: Mapped[date | None]
    #: Days between maintenance visits; null means no plan.
    maintenance_interval_days: Mapped[int | None]
    #: Last maintenance done (set by hand now, by maintenance logs later).
    last_maintained_on: Mapped[date | None]
    #: One of EQUIPMENT_STATUSES.
    status: Mapped[str] = mapped_column(String(20), default="ok")

    site: Mapped[Site] = relationship(back_populates="equipment")

    @property
    def maintenance_due_on(self) -> date | None:
        """The next maintenance date: last maintenance (or installation) plus the interval."""
        base = self.last_maintained_on or self.installed_on
        if base is None or not self.maintenance_interval_days or self.status == "retired":
            return None
        return add_days(base, self.maintenance_interval_days)


class CheckIn(Base):
    """A user reached a site: scanned its QR code (or typed its code) with the phone.

    The position fields are the device's claim (what the browser reported), not a verified
    location: pages call them the "reported location". Only the method is the server's own
    finding (the route the check-in came through).
    """

    __tablename__ = "check_in"
    __table_args__ = (
        CheckConstraint("verdict IN ('on_site', 'off_site', 'no_fix')", name="verdict"),
        CheckConstraint("method IN ('qr', 'code')", name="method"),
        # One's own check-ins newest first (the guard's list, the alarm arrival lookup).
        Index("ix_check_in_user_id_received_at", "user_id", "received_at"),
        # The user's last check-in at a site (site card, inspection start), a site's list.
        Index("ix_check_in_site_id_user_id_received_at", "site_id", "user_id", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made on the device: the idempotency key of a retried or queued check-in.
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="RESTRICT"))
    #: "qr" (came through the label's URL /s/<token>) or "code" (typed the site code): set by
    #: the server from the route, never taken from the client.
    method: Mapped[str] = mapped_column(String(10), default="qr")
    #: The device's clock at the scan (as the device reported it).
    scanned_at: Mapped[datetime | None]
    #: The server's clock when the check-in arrived.
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The reported location: the device's claim (the browser's geolocation), unverified.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: The browser's reported accuracy radius in metres.
    accuracy_m: Mapped[float | None]
    #: Distance of the reported location from the site's coordinates in metres.
    distance_m: Mapped[float | None]
    #: on_site, off_site or no_fix, judged from the reported location (so also a claim).
    verdict: Mapped[str] = mapped_column(String(10))
    #: Device clock minus server clock at arrival, in seconds (null without a device time).
    clock_skew_s: Mapped[int | None]

    site: Mapped[Site] = relationship()
    user = relationship("User")

    @property
    def is_clock_skewed(self) -> bool:
        return self.clock_skew_s is not None and abs(self.clock_skew_s) > CLOCK_SKEW_LIMIT_S

    @property
    def is_flagged(self) -> bool:
        return self.verdict != "on_site" or self.is_clock_skewed
