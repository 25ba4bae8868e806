"""Client 業主, Site 案場 and SiteAssignment (the registry pages come with the sites issue)."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, TimestampMixin


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
    address: Mapped[str] = mapped_column(String(300), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    #: Radius in metres within which a check-in counts as on site.
    geofence_m: Mapped[int] = mapped_column(default=150)
    #: Comma-separated system types: intrusion, access, cctv, fire, panic.
    system_types: Mapped[str] = mapped_column(String(100), default="intrusion")
    inspection_interval_days: Mapped[int] = mapped_column(default=30)
    #: Random token in the site's QR code; rotating it retires printed labels.
    qr_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_qr_token)
    is_active: Mapped[bool] = mapped_column(default=True)

    client: Mapped[Client] = relationship(back_populates="sites")
    assignments: Mapped[list[SiteAssignment]] = relationship(
        back_populates="site", cascade="all, delete-orphan"
    )


class SiteAssignment(TimestampMixin, Base):
    """Which supervisors and guards serve a site."""

    __tablename__ = "site_assignment"
    __table_args__ = (UniqueConstraint("user_id", "site_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id", ondelete="CASCADE"), index=True)

    site: Mapped[Site] = relationship(back_populates="assignments")
    user = relationship("User")
