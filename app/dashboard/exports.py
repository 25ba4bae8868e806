"""Exports of a period's rows as CSV or XLSX, over the same sites and filters as the dashboard.

Each export is one SELECT of plain columns (no ORM objects), read in batches (`yield_per`:
a server-side cursor on PostgreSQL), so a year of answers streams with flat memory: the CSV
line by line to the response, the XLSX row by row into a temporary file (XlsxWriter's
constant-memory mode) that is then sent. Times are Taipei wall-clock times; headers follow
the user's language; every cell is formula-safe (app.spreadsheet).
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import aliased

from app import audit, spreadsheet
from app.arming.models import ArmEvent
from app.auth.models import User
from app.briefings.models import Acknowledgement, Briefing, TrainingAttendance, TrainingSession
from app.dashboard.services import Filters, scoped_site_ids
from app.extensions import db
from app.i18n import TAIPEI
from app.incidents.models import AlarmResponse, Incident
from app.inspections.models import Answer, ChecklistItem, Inspection
from app.maintenance.models import MaintenanceLog, RepairTicket
from app.sites.models import CheckIn, Equipment, Site, SiteAssignment

#: Rows read from the database per batch.
BATCH = 1000


@dataclass(frozen=True)
class Export:
    key: str
    title: object
    columns: tuple[object, ...]
    query: Callable[[Select, Filters], Select]


def _site_columns():
    return (Site.code, Site.name)


def _inspections(sites: Select, f: Filters) -> Select:
    inspector = aliased(User)
    return (
        select(
            *_site_columns(),
            Inspection.uuid,
            Inspection.submitted_at,
            inspector.display_name,
            Inspection.status,
            Inspection.score,
            Inspection.failed_count,
            Inspection.signer_name,
        )
        .join(Site, Site.id == Inspection.site_id)
        .join(inspector, inspector.id == Inspection.inspector_id)
        .where(
            Inspection.site_id.in_(sites),
            Inspection.status != "draft",
            Inspection.submitted_at >= f.period.since,
            Inspection.submitted_at < f.period.until,
        )
        .order_by(Inspection.submitted_at, Inspection.id)
    )


def _answers(sites: Select, f: Filters) -> Select:
    return (
        select(
            *_site_columns(),
            Inspection.uuid,
            Inspection.submitted_at,
            ChecklistItem.indicator,
            ChecklistItem.text_zh,
            ChecklistItem.text_en,
            Answer.value,
            Answer.is_pass,
            Answer.note,
        )
        .join(Inspection, Inspection.id == Answer.inspection_id)
        .join(ChecklistItem, ChecklistItem.id == Answer.item_id)
        .join(Site, Site.id == Inspection.site_id)
        .where(
            Inspection.site_id.in_(sites),
            Inspection.status != "draft",
            Inspection.submitted_at >= f.period.since,
            Inspection.submitted_at < f.period.until,
        )
        .order_by(Inspection.submitted_at, Inspection.id, ChecklistItem.position)
    )


def _incidents(sites: Select, f: Filters) -> Select:
    return (
        select(
            *_site_columns(),
            Incident.uuid,
            Incident.occurred_at,
            Incident.category,
            Incident.severity,
            Incident.status,
            Incident.narrative,
            Incident.client_notified_at,
            Incident.police_notified_at,
        )
        .join(Site, Site.id == Incident.site_id)
        .where(
            Incident.site_id.in_(sites),
            Incident.occurred_at >= f.period.since,
            Incident.occurred_at < f.period.until,
        )
        .order_by(Incident.occurred_at, Incident.id)
    )


def _alarms(sites: Select, f: Filters) -> Select:
    guard = aliased(User)
    return (
        select(
            *_site_columns(),
            AlarmResponse.uuid,
            AlarmResponse.received_at,
            AlarmResponse.signal_type,
            AlarmResponse.zone,
            guard.display_name,
            AlarmResponse.dispatched_at,
            AlarmResponse.arrived_at,
            AlarmResponse.cleared_at,
            AlarmResponse.cause,
            AlarmResponse.police_notified_at,
            AlarmResponse.police_unit,
            AlarmResponse.police_case_number,
        )
        .join(Site, Site.id == AlarmResponse.site_id)
        .outerjoin(guard, guard.id == AlarmResponse.guard_id)
        .where(
            AlarmResponse.site_id.in_(sites),
            AlarmResponse.received_at >= f.period.since,
            AlarmResponse.received_at < f.period.until,
        )
        .order_by(AlarmResponse.received_at, AlarmResponse.id)
    )


def _arming(sites: Select, f: Filters) -> Select:
    return (
        select(
            *_site_columns(),
            ArmEvent.occurred_at,
            ArmEvent.kind,
            ArmEvent.source,
            ArmEvent.user_code,
            ArmEvent.is_out_of_hours,
        )
        .join(Site, Site.id == ArmEvent.site_id)
        .where(
            ArmEvent.site_id.in_(sites),
            ArmEvent.occurred_at >= f.period.since,
            ArmEvent.occurred_at < f.period.until,
        )
        .order_by(ArmEvent.occurred_at, ArmEvent.id)
    )


def _repairs(sites: Select, f: Filters) -> Select:
    return (
        select(
            *_site_columns(),
            RepairTicket.uuid,
            RepairTicket.reported_at,
            RepairTicket.problem,
            RepairTicket.vendor,
            RepairTicket.due_on,
            RepairTicket.status,
            RepairTicket.fixed_at,
            RepairTicket.verified_at,
        )
        .join(Site, Site.id == RepairTicket.site_id)
        .where(
            RepairTicket.site_id.in_(sites),
            RepairTicket.reported_at >= f.period.since,
            RepairTicket.reported_at < f.period.until,
        )
        .order_by(RepairTicket.reported_at, RepairTicket.id)
    )


def _maintenance(sites: Select, f: Filters) -> Select:
    worker = aliased(User)
    return (
        select(
            *_site_columns(),
            Equipment.kind,
            Equipment.location,
            MaintenanceLog.done_on,
            worker.display_name,
            MaintenanceLog.work,
        )
        .join(Equipment, Equipment.id == MaintenanceLog.equipment_id)
        .join(Site, Site.id == Equipment.site_id)
        .join(worker, worker.id == MaintenanceLog.done_by_id)
        .where(
            Equipment.site_id.in_(sites),
            MaintenanceLog.done_on >= f.period.first,
            MaintenanceLog.done_on <= f.period.last,
        )
        .order_by(MaintenanceLog.done_on, MaintenanceLog.id)
    )


def _check_ins(sites: Select, f: Filters) -> Select:
    return (
        select(
            *_site_columns(),
            CheckIn.received_at,
            User.display_name,
            CheckIn.method,
            CheckIn.verdict,
            CheckIn.distance_m,
        )
        .select_from(CheckIn)
        .join(Site, Site.id == CheckIn.site_id)
        .join(User, User.id == CheckIn.user_id)
        .where(
            CheckIn.site_id.in_(sites),
            CheckIn.received_at >= f.period.since,
            CheckIn.received_at < f.period.until,
        )
        .order_by(CheckIn.received_at, CheckIn.id)
    )


def _people(sites: Select) -> Select:
    """Ids of the people who serve the sites (acknowledgements and training are a person's)."""
    return select(SiteAssignment.user_id).where(SiteAssignment.site_id.in_(sites))


def _acknowledgements(sites: Select, f: Filters) -> Select:
    return (
        select(
            User.username,
            User.display_name,
            Briefing.title,
            Briefing.kind,
            Acknowledgement.version,
            Acknowledgement.at,
        )
        .select_from(Acknowledgement)
        .join(User, User.id == Acknowledgement.user_id)
        .join(Briefing, Briefing.id == Acknowledgement.briefing_id)
        .where(
            Acknowledgement.user_id.in_(_people(sites)),
            Acknowledgement.at >= f.period.since,
            Acknowledgement.at < f.period.until,
        )
        .order_by(Acknowledgement.at, Acknowledgement.id)
    )


def _training(sites: Select, f: Filters) -> Select:
    return (
        select(
            User.username,
            User.display_name,
            TrainingSession.held_on,
            TrainingSession.kind,
            TrainingSession.topic,
            TrainingSession.hours,
            TrainingSession.trainer,
        )
        .select_from(TrainingAttendance)
        .join(TrainingSession, TrainingSession.id == TrainingAttendance.session_id)
        .join(User, User.id == TrainingAttendance.user_id)
        .where(
            and_(
                TrainingAttendance.user_id.in_(_people(sites)),
                TrainingSession.held_on >= f.period.first,
                TrainingSession.held_on <= f.period.last,
            )
        )
        .order_by(TrainingSession.held_on, TrainingAttendance.id)
    )


SITE = (_l("Site code"), _l("Site"))
EXPORTS: dict[str, Export] = {
    e.key: e
    for e in (
        Export(
            "inspections",
            _l("Inspections"),
            (
                *SITE,
                _l("ID"),
                _l("Submitted"),
                _l("Inspector"),
                _l("Status"),
                _l("Score"),
                _l("Failed items"),
                _l("Signed by"),
            ),
            _inspections,
        ),
        Export(
            "answers",
            _l("Checklist answers"),
            (
                *SITE,
                _l("Inspection ID"),
                _l("Submitted"),
                _l("Indicator"),
                _l("Item (Chinese)"),
                _l("Item (English)"),
                _l("Answer"),
                _l("Passed"),
                _l("Note"),
            ),
            _answers,
        ),
        Export(
            "incidents",
            _l("Incidents"),
            (
                *SITE,
                _l("ID"),
                _l("Occurred"),
                _l("Category"),
                _l("Severity"),
                _l("Status"),
                _l("Narrative"),
                _l("Client notified"),
                _l("Police notified"),
            ),
            _incidents,
        ),
        Export(
            "alarms",
            _l("Alarm responses"),
            (
                *SITE,
                _l("ID"),
                _l("Received"),
                _l("Signal"),
                _l("Zone"),
                _l("Guard"),
                _l("Dispatched"),
                _l("Arrived"),
                _l("Closed"),
                _l("Cause"),
                _l("Police notified"),
                _l("Police unit"),
                _l("Case number"),
            ),
            _alarms,
        ),
        Export(
            "arming",
            _l("Arm/disarm events"),
            (*SITE, _l("Occurred"), _l("Event"), _l("Source"), _l("User code"), _l("Out of hours")),
            _arming,
        ),
        Export(
            "repairs",
            _l("Repair tickets"),
            (
                *SITE,
                _l("ID"),
                _l("Reported"),
                _l("Problem"),
                _l("Vendor"),
                _l("Due"),
                _l("Status"),
                _l("Fixed"),
                _l("Verified"),
            ),
            _repairs,
        ),
        Export(
            "maintenance",
            _l("Maintenance"),
            (*SITE, _l("Equipment"), _l("Location"), _l("Done on"), _l("Done by"), _l("Work")),
            _maintenance,
        ),
        Export(
            "check_ins",
            _l("Check-ins"),
            (*SITE, _l("Received"), _l("Person"), _l("Method"), _l("Verdict"), _l("Distance (m)")),
            _check_ins,
        ),
        Export(
            "acknowledgements",
            _l("Acknowledgements"),
            (
                _l("Username"),
                _l("Name"),
                _l("Briefing"),
                _l("Kind"),
                _l("Version"),
                _l("Acknowledged"),
            ),
            _acknowledgements,
        ),
        Export(
            "training",
            _l("Training"),
            (
                _l("Username"),
                _l("Name"),
                _l("Held on"),
                _l("Kind"),
                _l("Topic"),
                _l("Hours"),
                _l("Trainer"),
            ),
            _training,
        ),
    )
}


def record_export(user, export: Export, fmt: str, filters: Filters) -> None:
    """The export is audited (who took which rows of which period: personal data leaves the
    app, 個人資料保護法 施行細則 §12's usage records), before its rows are read."""
    audit.record(
        "dashboard.export",
        actor=user,
        target=f"export:{export.key}",
        detail={"format": fmt, **filters.query()},
    )


def cell_value(value):
    """A value as the spreadsheet shows it: instants in Taipei, booleans as 1/0."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(TAIPEI).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def rows(user, export: Export, filters: Filters) -> Iterator[tuple]:
    """The export's rows, read in batches (never all at once). The statement is built now,
    from the user's scope, so that reading it later (a streamed response) needs only the
    database, not the user."""
    stmt = export.query(scoped_site_ids(user, filters), filters)
    return _read(stmt)


def _read(stmt: Select) -> Iterator[tuple]:
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for row in result:
        yield tuple(cell_value(v) for v in row)


def header(export: Export) -> list[str]:
    return [str(c) for c in export.columns]


def csv_chunks(user, export: Export, filters: Filters) -> Iterator[str]:
    """The CSV (BOM, header in the user's language, then rows), chunked for a streamed
    response; the header and the statement are settled before the first chunk is sent."""
    return spreadsheet.csv_stream(header(export), rows(user, export, filters))


def xlsx_file(user, export: Export, filters: Filters) -> str:
    """The XLSX in a temporary file (constant memory: each row is written out as it comes);
    the caller sends and removes it."""
    import xlsxwriter

    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    workbook = xlsxwriter.Workbook(
        path, {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    # A sheet's name: at most 31 characters, none of []:*?/\ (Excel's rule).
    sheet = workbook.add_worksheet(re.sub(r"[\[\]:*?/\\]", " ", str(export.title))[:31])
    bold = workbook.add_format({"bold": True})
    sheet.write_row(0, 0, header(export), bold)
    for index, row in enumerate(rows(user, export, filters), start=1):
        sheet.write_row(index, 0, [_xlsx_cell(v) for v in row])
    workbook.close()
    return path


def _xlsx_cell(value):
    """Numbers stay numbers; text is written as text (never a formula, see strings_to_formulas),
    and a text a spreadsheet would still treat as a formula on re-saving as CSV is quoted."""
    if value is None or isinstance(value, int | float):
        return value
    return spreadsheet.csv_cell(value)
