"""Forms for opening hours, arm/disarm events by hand, the CSV import and integrations."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateTimeLocalField, RadioField, StringField, TimeField
from wtforms.validators import DataRequired, Length, Optional

from app.arming.services import KIND_LABELS
from app.forms import DateWindow, Form, IdListField, UUIDField

DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class HoursForm(Form):
    """Monitored or not; per weekday (d0 Monday … d6 Sunday) closed, or open from – to."""

    is_monitored = BooleanField(_l("Check arming against these hours"))


for _weekday in range(7):
    setattr(HoursForm, f"d{_weekday}_closed", BooleanField(_l("Closed all day")))
    setattr(HoursForm, f"d{_weekday}_opens", TimeField(_l("Opens"), validators=[Optional()]))
    setattr(HoursForm, f"d{_weekday}_closes", TimeField(_l("Closes"), validators=[Optional()]))


class EventForm(Form):
    kind = RadioField(
        _l("Event"),
        choices=list(KIND_LABELS),
        validators=[DataRequired(message=_l("Choose armed or disarmed."))],
    )
    occurred_at = DateTimeLocalField(
        _l("When (Taiwan time)"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Give the time.")), DateWindow(not_future=True)],
    )
    user_code = StringField(
        _l("User number (使用者編號)"),
        validators=[Length(max=20)],
        description=_l("The panel's user number that armed or disarmed, if known. Never a code."),
    )


class CsvUploadForm(Form):
    file = FileField(_l("CSV file"))


class CsvConfirmForm(Form):
    #: The upload kept on the server between the preview and this confirmation.
    upload = UUIDField()


class IntegrationForm(Form):
    name = StringField(
        _l("Name"),
        validators=[Length(max=100)],
        description=_l("E.g. the monitoring centre's name"),
    )
    site_ids = IdListField(_l("Sites it may post for"))
