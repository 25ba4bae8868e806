"""Forms for incidents and alarm responses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateTimeLocalField, HiddenField, SelectField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from app.forms import Form
from app.incidents.models import ALARM_CAUSES, CATEGORIES, SEVERITIES

CATEGORY_LABELS = {
    "intrusion": _l("Intrusion"),
    "false_alarm": _l("False alarm"),
    "equipment_fault": _l("Equipment fault"),
    "fire": _l("Fire"),
    "medical": _l("Medical"),
    "suspicious_person": _l("Suspicious person"),
    "theft": _l("Theft"),
    "robbery": _l("Robbery"),
    "other": _l("Other"),
}
SEVERITY_LABELS = {
    "low": _l("Low"),
    "medium": _l("Medium"),
    "high": _l("High"),
    "critical": _l("Critical"),
}
STATUS_LABELS = {
    "open": _l("Open"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
CAUSE_LABELS = {
    "intrusion": _l("Intrusion"),
    "false_alarm": _l("False alarm"),
    "equipment": _l("Equipment"),
    "environment": _l("Environment (wind, animals…)"),
    "unknown": _l("Unknown"),
}
INCIDENT_MESSAGES = {
    "uuid_conflict": _l("This report belongs to another site or person."),
    "bad_value": _l("Choose from the list."),
    "in_future": _l("That time is in the future."),
    "bad_transition": _l("That status change is not allowed from the current status."),
    "empty_update": _l("Write a note or choose a new status."),
    "already_recorded": _l("That step has already been recorded."),
    "already_cleared": _l("This alarm has already been cleared."),
    "out_of_order": _l("That time is before the previous step."),
}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


class IncidentForm(Form):
    uuid = HiddenField()
    site_id = SelectField(
        _l("Site"), coerce=int, validators=[DataRequired(message=_l("Choose the site."))]
    )
    category = SelectField(_l("What kind of incident"), validators=[DataRequired()])
    severity = SelectField(_l("Severity"), validators=[DataRequired()], default="medium")
    occurred_at = DateTimeLocalField(
        _l("When did it happen"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Give the time."))],
    )
    narrative = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(message=_l("Describe what happened.")), Length(max=5000)],
    )
    actions_taken = TextAreaField(_l("What was done"), validators=[Length(max=5000)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.severity.choices = [(s, SEVERITY_LABELS[s]) for s in SEVERITIES]


class AlarmForm(Form):
    uuid = HiddenField()
    site_id = SelectField(
        _l("Site"), coerce=int, validators=[DataRequired(message=_l("Choose the site."))]
    )
    received_at = DateTimeLocalField(
        _l("Alarm received at"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Give the time."))],
    )
    guard_id = SelectField(_l("Send guard"), coerce=int, validators=[Optional()])


class ClearForm(Form):
    cause = SelectField(_l("Cause"), validators=[DataRequired()])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    incident_id = SelectField(_l("Incident report"), coerce=int, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cause.choices = [(c, CAUSE_LABELS[c]) for c in ALARM_CAUSES]
