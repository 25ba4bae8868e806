"""Forms and labels for briefings and training."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.briefings.models import AUDIENCES, KINDS, MAX_SESSION_HOURS, TOPICS, TRAINING_KINDS
from app.forms import DateWindow, Form, IdListField

KIND_LABELS = {
    "pre_duty": _l("Pre-duty briefing"),
    "notice": _l("Notice"),
    "work_order": _l("Work order"),
    "pledge": _l("Confidentiality pledge"),
}
AUDIENCE_LABELS = {
    "all_guards": _l("All guards"),
    "sites": _l("Guards of chosen sites"),
    "users": _l("Chosen people"),
    "confidential": _l("Everyone who may see confidential information"),
}
TOPIC_LABELS = {
    "first_aid": _l("First aid"),
    "fire_safety": _l("Fire safety"),
    "personal_data": _l("Personal-data protection"),
    "law": _l("Legal knowledge"),
    "technique": _l("Execution skills"),
    "anti_theft": _l("Theft prevention"),
    "anti_robbery": _l("Robbery prevention"),
    "disaster": _l("Disaster prevention"),
    "on_the_job": _l("On-the-job training"),
    "other": _l("Other"),
}
TRAINING_KIND_LABELS = {
    "on_the_job": _l("On-the-job training (4 hours a month)"),
    "pre_employment": _l("Pre-employment training (one week)"),
}
TRAINING_STATUS_LABELS = {
    "current": _l("Current"),
    "expiring": _l("Expiring soon"),
    "expired": _l("Expired"),
    "missing": _l("No record"),
}


class BriefingForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    title = StringField(
        _l("Title"), validators=[DataRequired(message=_l("Give a title.")), Length(max=200)]
    )
    body = TextAreaField(
        _l("Text"),
        validators=[DataRequired(message=_l("Write the briefing.")), Length(max=20000)],
        description=_l("Plain text. Line breaks and web links are kept."),
    )
    audience = SelectField(_l("Who must read it"), validators=[DataRequired()])
    requires_ack = BooleanField(_l("Each person must acknowledge it"), default=True)
    due_on = DateField(_l("Read by"), validators=[Optional(), DateWindow()])
    minor_edit = BooleanField(_l("Minor correction (a typo): no new acknowledgement needed"))
    site_id = IdListField()  # the ticked sites
    user_id = IdListField()  # the ticked people
    publish = BooleanField()  # "Save and publish"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, KIND_LABELS[k]) for k in KINDS]
        self.audience.choices = [(a, AUDIENCE_LABELS[a]) for a in AUDIENCES if a != "confidential"]


class TrainingForm(Form):
    kind = SelectField(_l("Kind of training"), validators=[DataRequired()], default="on_the_job")
    topic = SelectField(_l("Topic"), validators=[DataRequired()])
    held_on = DateField(
        _l("Date"),
        validators=[DataRequired(message=_l("Give the date.")), DateWindow(not_future=True)],
    )
    hours = DecimalField(
        _l("Hours"),
        places=None,
        validators=[
            DataRequired(message=_l("Give the hours.")),
            NumberRange(
                min=0.25,
                max=MAX_SESSION_HOURS,
                message=_l("Give between 0.25 and 12 hours."),
            ),
        ],
        description=_l("At most 12 hours a session; a week's course is several sessions."),
    )
    trainer = StringField(_l("Trainer"), validators=[Length(max=120)])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    user_id = IdListField()  # who attended (ticked)
    evidence = FileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = [(t, TOPIC_LABELS[t]) for t in TOPICS]
        self.kind.choices = [(k, TRAINING_KIND_LABELS[k]) for k in TRAINING_KINDS]

    def evidence_bytes(self) -> bytes | None:
        upload = self.evidence.data
        return upload.read() if upload is not None and upload.filename else None


class StatusForm(Form):
    action = SelectField("", choices=["publish", "withdraw"], default="publish")


class AttachmentForm(Form):
    file = FileField()
