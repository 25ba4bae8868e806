"""Forms for the notice, the permission review, the incident register and the evidence pack."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.forms import TEXT_MAX, DateWindow, Form
from app.i18n import from_taipei, taipei_now_input, taipei_today

DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"]


def _when(label) -> DateTimeLocalField:
    return DateTimeLocalField(
        label, format=DATETIME_FORMATS, validators=[Optional(), DateWindow(not_future=True)]
    )


class NoticeForm(Form):
    """'I have read this notice', and the page to go on to."""

    next = HiddenField(validators=[Length(max=2000)])


class ReviewForm(Form):
    note = StringField(_l("Note (optional)"), validators=[Length(max=1000)])


class IncidentForm(Form):
    """A new incident in the register."""

    discovered_at = DateTimeLocalField(
        _l("Discovered at"),
        format=DATETIME_FORMATS,
        validators=[DataRequired(message=_l("Give the time.")), DateWindow(not_future=True)],
    )
    summary = TextAreaField(
        _l("What happened"),
        validators=[DataRequired(message=_l("Say what happened.")), Length(max=TEXT_MAX)],
    )
    data_categories = TextAreaField(
        _l("Kinds of personal data concerned"),
        description=_l("For example: names and phone numbers of key holders, check-in locations."),
        validators=[Length(max=TEXT_MAX)],
    )
    subjects_count = IntegerField(
        _l("Number of people concerned"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )

    def prefill(self) -> None:
        self.discovered_at.data = taipei_now_input()

    def values(self) -> dict:
        return {
            "discovered_at": from_taipei(self.discovered_at.data),
            "summary": self.summary.data or "",
            "data_categories": self.data_categories.data or "",
            "subjects_count": self.subjects_count.data,
        }


class IncidentEditForm(Form):
    discovered_at = IncidentForm.discovered_at
    summary = IncidentForm.summary


class StepForm(Form):
    """One step of an incident: its facts, or 'not applicable' with the reason."""

    data_categories = TextAreaField(
        _l("Kinds of personal data concerned"), validators=[Length(max=TEXT_MAX)]
    )
    subjects_count = IntegerField(
        _l("Number of people concerned"),
        validators=[Optional(), NumberRange(min=0, max=10_000_000)],
    )
    containment = TextAreaField(
        _l("What was done to contain it"), validators=[Length(max=TEXT_MAX)]
    )
    cause = TextAreaField(_l("Cause"), validators=[Length(max=TEXT_MAX)])
    subjects_notified_at = _when(_l("People concerned notified at"))
    subjects_notice = TextAreaField(
        _l("How they were told, and what"), validators=[Length(max=TEXT_MAX)]
    )
    authority_notified_at = _when(_l("Authority notified at"))
    authority = StringField(
        _l("Which authority (and its case number)"), validators=[Length(max=300)]
    )
    improvements = TextAreaField(_l("Improvements"), validators=[Length(max=TEXT_MAX)])
    not_applicable = BooleanField(_l("This step does not apply"))
    reason = StringField(_l("Why it does not apply"), validators=[Length(max=500)])

    def values(self) -> dict:
        out = {}
        for name in (
            "data_categories",
            "subjects_count",
            "containment",
            "cause",
            "subjects_notice",
            "authority",
            "improvements",
        ):
            out[name] = getattr(self, name).data
        for name in ("subjects_notified_at", "authority_notified_at"):
            value = getattr(self, name).data
            out[name] = from_taipei(value) if value else None
        return out

    def fill_from(self, incident) -> None:
        """Show what is recorded (times in Taiwan's wall clock)."""
        from app.i18n import TAIPEI

        for name in ("data_categories", "subjects_count", "containment", "cause"):
            getattr(self, name).data = getattr(incident, name)
        for name in ("subjects_notice", "authority", "improvements"):
            getattr(self, name).data = getattr(incident, name)
        for name in ("subjects_notified_at", "authority_notified_at"):
            value = getattr(incident, name)
            getattr(self, name).data = (
                value.astimezone(TAIPEI).replace(tzinfo=None) if value else None
            )


class EvidenceForm(Form):
    first = DateField(_l("From"), validators=[DataRequired(), DateWindow()])
    last = DateField(_l("To"), validators=[DataRequired(), DateWindow()])

    def prefill(self) -> None:
        today = taipei_today()
        self.last.data = today
        self.first.data = today - timedelta(days=365)
