"""Forms for key bags and their movements."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import Length, NumberRange, Optional

from app.custody.services import MAX_DUE_HOURS
from app.forms import Form, UUIDField

#: Why keys are taken out: the vault's purposes, in the trade's words.
PURPOSE_LABELS = {
    "alarm_response": _l("Alarm response"),
    "maintenance": _l("Maintenance"),
    "client_request": _l("Client request"),
    "audit": _l("Audit or inspection"),
    "other": _l("Other (describe)"),
}


class BagForm(Form):
    bag_number = StringField(_l("Bag number"), validators=[Length(max=40)])
    contents = TextAreaField(
        _l("Contents"),
        validators=[Length(max=500)],
        description=_l("As the client listed them, e.g. 後門鑰匙 ×2, 鐵捲門遙控器"),
    )
    stored_at = StringField(_l("Where it is kept"), validators=[Length(max=200)])
    seal_number = StringField(_l("Seal number"), validators=[Length(max=60)])


class BagEditForm(Form):
    bag_number = StringField(_l("Bag number"), validators=[Length(max=40)])
    contents = TextAreaField(_l("Contents"), validators=[Length(max=500)])
    stored_at = StringField(_l("Where it is kept"), validators=[Length(max=200)])
    #: "in" or "returned_to_client" (the template writes the options with their labels).
    status = SelectField(_l("Status"), choices=["in", "returned_to_client"])


class TakeOutForm(Form):
    uuid = UUIDField()
    #: One of PURPOSES (the service refuses anything else).
    purpose = StringField(_l("Purpose"), validators=[Length(max=20)])
    purpose_text = StringField(_l("Purpose in your words"), validators=[Length(max=500)])
    hours = IntegerField(
        _l("Back within (hours)"),
        validators=[Optional(), NumberRange(min=1, max=MAX_DUE_HOURS)],
    )
    note = StringField(_l("Note"), validators=[Length(max=2000)])


class ReturnForm(Form):
    uuid = UUIDField()
    seal_number = StringField(_l("New seal number"), validators=[Length(max=60)])
    note = StringField(_l("Note"), validators=[Length(max=2000)])


class SealCheckForm(Form):
    #: "intact" or "differs" (the button pressed).
    result = StringField(_l("Seal"), validators=[Length(max=10)])
    seal_number = StringField(_l("Seal number seen"), validators=[Length(max=60)])
    note = StringField(_l("Note"), validators=[Length(max=2000)])
