"""Forms for incidents and alarm responses."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import MultipleFileField
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from app.db import new_uuid
from app.forms import TEXT_MAX, DateWindow, Form, UUIDField
from app.i18n import from_taipei, taipei_now_input
from app.incidents.models import (
    ALARM_CAUSES,
    CALLBACK_RESULTS,
    CATEGORIES,
    SEVERITIES,
    SIGNAL_TYPES,
    STATUSES,
)

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
    "intrusion": _l("Intrusion (theft, robbery)"),
    "fire": _l("Fire (confirmed)"),
    "public_safety": _l("Other public-safety event"),
    "user_error": _l("User error"),
    "equipment_fault": _l("Equipment fault"),
    "environment": _l("Environment (weather, animals, power)"),
    "unknown": _l("Unknown cause"),
}
SIGNAL_LABELS = {
    "intrusion": _l("Intrusion zone"),
    "panic": _l("Panic / duress button"),
    "fire": _l("Fire"),
    "tamper": _l("Tamper"),
    "power": _l("AC fail / low battery"),
    "communication": _l("Communication fail"),
    "other": _l("Other"),
}
CALLBACK_LABELS = {
    "matched": _l("Password matched"),
    "not_matched": _l("Password did not match"),
    "not_reached": _l("Nobody reached"),
}
assert set(CAUSE_LABELS) == set(ALARM_CAUSES) and set(SIGNAL_LABELS) == set(SIGNAL_TYPES)
assert set(CALLBACK_LABELS) == set(CALLBACK_RESULTS)
#: Photos sent with a new report (more can be added on the incident's page).
MAX_REPORT_PHOTOS = 6
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"
#: What a datetime-local input sends (some browsers add the seconds).
DATETIME_FORMATS = [DATETIME_FORMAT, "%Y-%m-%dT%H:%M:%S"]


def _site_choices(sites) -> list[tuple[int, str]]:
    return [(0, _l("Choose…"))] + [(s.id, f"{s.code} {s.name}") for s in sites]


class IncidentForm(Form):
    uuid = UUIDField()
    site_id = SelectField(
        _l("Site"), coerce=int, validators=[DataRequired(message=_l("Choose the site."))]
    )
    category = SelectField(_l("What kind of incident"), validators=[DataRequired()])
    severity = SelectField(_l("Severity"), validators=[DataRequired()], default="medium")
    occurred_at = DateTimeLocalField(
        _l("When did it happen"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Give the time.")), DateWindow(not_future=True)],
        # A form kept for offline use was prefilled when it was kept: outbox.js moves a
        # prefilled time left untouched to the moment the form is opened.
        render_kw={"data-now-taipei": ""},
    )
    narrative = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(message=_l("Describe what happened.")), Length(max=TEXT_MAX)],
    )
    actions_taken = TextAreaField(_l("What was done"), validators=[Length(max=TEXT_MAX)])
    photos = MultipleFileField(_l("Add photos"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.category.choices = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.severity.choices = [(s, SEVERITY_LABELS[s]) for s in SEVERITIES]

    def _uploads(self) -> list:
        return [f for f in self.photos.data or [] if getattr(f, "filename", None)]

    def validate_photos(self, field) -> None:
        if len(self._uploads()) > MAX_REPORT_PHOTOS:
            raise ValidationError(
                _l(
                    "At most %(n)d photos with the report; add more on its page afterwards.",
                    n=MAX_REPORT_PHOTOS,
                )
            )

    def photo_bytes(self) -> list[bytes]:
        """The photos chosen (none is fine); the photo pipeline checks each."""
        return [upload.read() for upload in self._uploads()]

    def offer(self, sites) -> None:
        """The sites to choose from (those the user may report at)."""
        self.site_id.choices = _site_choices(sites)

    def prefill(self, *, site_id: int | None) -> None:
        """A new report: its key, the time now, the site it was opened from (or worked at)."""
        self.uuid.data = new_uuid()
        self.occurred_at.data = taipei_now_input()
        self.site_id.data = site_id or 0

    def values(self) -> dict:
        """What report_incident() takes besides the site and the user."""
        return {
            "uuid": self.uuid.or_new(),
            "category": self.category.data,
            "severity": self.severity.data,
            "occurred_at": from_taipei(self.occurred_at.data),
            "narrative": self.narrative.data,
            "actions_taken": self.actions_taken.data or "",
            "photos": self.photo_bytes(),
        }


class AlarmForm(Form):
    uuid = UUIDField()
    site_id = SelectField(
        _l("Site"), coerce=int, validators=[DataRequired(message=_l("Choose the site."))]
    )
    received_at = DateTimeLocalField(
        _l("Alarm received at"),
        format=DATETIME_FORMAT,
        validators=[DataRequired(message=_l("Give the time.")), DateWindow(not_future=True)],
        # A form kept for offline use was prefilled when it was kept: outbox.js moves a
        # prefilled time left untouched to the moment the form is opened.
        render_kw={"data-now-taipei": ""},
    )
    signal_type = SelectField(
        _l("Signal"),
        validators=[DataRequired(message=_l("Choose the signal the centre received."))],
        default="",
    )
    zone = StringField(
        _l("Zone"),
        description=_l("As the panel reports it, e.g. 03 back door contact."),
        validators=[Length(max=100)],
    )
    guard_id = SelectField(_l("Send guard"), coerce=int, validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.signal_type.choices = [("", _l("Choose…"))] + [
            (s, SIGNAL_LABELS[s]) for s in SIGNAL_TYPES
        ]

    def offer(self, sites, guards) -> None:
        """The sites and the guards to choose from (those the user manages)."""
        self.site_id.choices = _site_choices(sites)
        self.guard_id.choices = [(0, _l("— send later —"))] + [
            (g.id, g.display_name) for g in guards
        ]

    def prefill(self, *, site_id: int | None) -> None:
        """A new alarm: its key, the time now, the site it was opened from."""
        self.uuid.data = new_uuid()
        self.received_at.data = taipei_now_input()
        self.site_id.data = site_id or 0


class CloseForm(Form):
    """Close the alarm (處理完畢): its cause, a note, the incident report it became."""

    # No default: a cause preselected by the form would be recorded whenever nobody looked.
    cause = SelectField(
        _l("Cause"),
        validators=[DataRequired(message=_l("Choose the cause of the alarm."))],
        default="",
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    # The choices (the site's recent incidents) are for the page; the service checks the site.
    incident_id = SelectField(
        _l("Incident report"), coerce=int, validators=[Optional()], validate_choice=False
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cause.choices = [("", _l("Choose…"))] + [(c, CAUSE_LABELS[c]) for c in ALARM_CAUSES]


def _at_field(label):
    """When a step happened, if not just now (an empty field means now)."""
    return DateTimeLocalField(
        label,
        format=DATETIME_FORMATS,
        description=_l("Leave empty for now."),
        validators=[Optional(), DateWindow(not_future=True)],
    )


class CallbackForm(Form):
    """The call to the client: who answered, whether the call-back password matched."""

    callback_at = _at_field(_l("Called at"))
    answered_by = StringField(
        _l("Who answered"),
        description=_l("Name and role, e.g. 林經理 (store manager)."),
        validators=[Length(max=100)],
    )
    result = RadioField(
        _l("Call-back password"),
        validators=[InputRequired(message=_l("Choose how the call went."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.result.choices = [(r, CALLBACK_LABELS[r]) for r in CALLBACK_RESULTS]


class FindingsForm(Form):
    findings = TextAreaField(
        _l("Findings on site"),
        validators=[
            DataRequired(message=_l("Write what was found on site.")),
            Length(max=TEXT_MAX),
        ],
    )


class PoliceForm(Form):
    """保全業法 §4-1: when the police were told, the unit that took it, its case number."""

    police_at = _at_field(_l("Police notified at"))
    unit = StringField(
        _l("Receiving unit"),
        description=_l("e.g. 大安分局 和平東路派出所"),
        validators=[
            DataRequired(message=_l("Give the police unit that took the report.")),
            Length(max=100),
        ],
    )
    case_number = StringField(
        _l("Case number"),
        validators=[
            DataRequired(message=_l("Give the case number the police gave.")),
            Length(max=50),
        ],
    )


class FireForm(Form):
    fire_at = _at_field(_l("119 called at"))


class RearmForm(Form):
    rearm_at = _at_field(_l("Re-armed at"))
    rearmed_by = StringField(
        _l("Re-armed by"),
        description=_l("Who armed the system, e.g. the guard, or the client's staff."),
        validators=[
            DataRequired(message=_l("Say who re-armed the system.")),
            Length(max=100),
        ],
    )


class DispatchForm(Form):
    guard_id = IntegerField(
        _l("Send guard"), validators=[InputRequired(message=_l("Choose from the list."))]
    )


class ArriveForm(Form):
    """Arrival recorded by a supervisor from the guard's QR scan: nothing to type."""


class UpdateForm(Form):
    """A note and/or a new status on the incident's timeline."""

    note = TextAreaField(_l("Note"), validators=[Length(max=TEXT_MAX)])
    status = SelectField("", choices=["", *STATUSES], validators=[Optional()], default="")


class NotifiedForm(Form):
    """When the client, the police or 119 were told; no time given means now. The police
    also name the receiving unit (the service requires it) and the case number (may come
    later: PoliceCaseNumberForm)."""

    who = SelectField("", choices=["client", "police", "fire"])
    at = DateTimeLocalField(
        "", format=DATETIME_FORMATS, validators=[Optional(), DateWindow(not_future=True)]
    )
    unit = StringField(_l("Receiving unit"), validators=[Optional(), Length(max=100)])
    case_number = StringField(_l("Case number"), validators=[Optional(), Length(max=50)])


class PoliceCaseNumberForm(Form):
    """The police's case number, added after the notification was recorded."""

    case_number = StringField(
        _l("Case number"),
        validators=[
            DataRequired(message=_l("Give the case number the police gave.")),
            Length(max=50),
        ],
    )


class ShareForm(Form):
    """The summary the client reads in the portal (not the narrative)."""

    client_summary = TextAreaField(
        _l("Summary for the client"),
        validators=[DataRequired(), Length(max=2000)],
    )
