"""Forms for repair tickets and maintenance records (the templates write the inputs)."""

from __future__ import annotations

from flask_wtf.file import FileField
from wtforms import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from app.forms import TEXT_MAX, DateWindow, Form, UUIDField
from app.i18n import taipei_today
from app.maintenance.models import TICKET_STATUSES


class RepairForm(Form):
    """A ticket opened by hand (or from an incident)."""

    uuid = UUIDField()
    site = IntegerField(validators=[Optional()])
    incident_id = IntegerField(validators=[Optional()])
    problem = TextAreaField(validators=[Length(max=TEXT_MAX)])
    equipment_id = IntegerField(validators=[Optional()])
    vendor = StringField(validators=[Length(max=200)])
    due_on = DateField(validators=[Optional(), DateWindow()])


class FromItemForm(Form):
    """One tap on a failed checklist item: the page's key for the ticket."""

    uuid = UUIDField()


class StatusForm(Form):
    status = SelectField("", choices=list(TICKET_STATUSES))
    note = StringField(validators=[Length(max=2000)])


class MaintenanceForm(Form):
    """Maintenance done; no date means today."""

    done_on = DateField(validators=[Optional(), DateWindow(not_future=True)])
    work = TextAreaField(validators=[Length(max=TEXT_MAX)])
    photo = FileField()

    def values(self) -> dict:
        """What record_maintenance() takes besides the equipment and the user."""
        upload = self.photo.data
        return {
            "done_on": self.done_on.data or taipei_today(),
            "work": self.work.data or "",
            "photo_data": upload.read() if upload is not None and upload.filename else None,
        }
