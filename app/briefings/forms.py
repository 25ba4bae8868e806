"""Forms and labels for briefings and training."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import BooleanField, DateField, DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.briefings.models import AUDIENCES, KINDS, TOPICS
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
    "on_the_job": _l("On-the-job training"),
    "other": _l("Other"),
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
    topic = SelectField(_l("Topic"), validators=[DataRequired()])
    held_on = DateField(
        _l("Date"),
        validators=[DataRequired(message=_l("Give the date.")), DateWindow(not_future=True)],
    )
    hours = DecimalField(
        _l("Hours"),
        places=None,
        validators=[DataRequired(message=_l("Give the hours.")), NumberRange(min=0.5, max=200)],
    )
    trainer = StringField(_l("Trainer"), validators=[Length(max=120)])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    user_id = IdListField()  # who attended (ticked)
    evidence = FileField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.topic.choices = [(t, TOPIC_LABELS[t]) for t in TOPICS]

    def evidence_bytes(self) -> bytes | None:
        upload = self.evidence.data
        return upload.read() if upload is not None and upload.filename else None


class StatusForm(Form):
    action = SelectField("", choices=["publish", "withdraw"], default="publish")


class AttachmentForm(Form):
    file = FileField()
