"""Forms of the control-record sheets (the templates write the inputs)."""

from __future__ import annotations

from wtforms import IntegerField, StringField, TextAreaField
from wtforms.validators import Length, Optional, Regexp

from app.forms import TEXT_MAX, Form


class PrepareForm(Form):
    """Prepare a month's sheet: a site (or, for managers, a client's roll-up) and remarks."""

    site = IntegerField(validators=[Optional()])
    client = IntegerField(validators=[Optional()])
    month = StringField(validators=[Regexp(r"^\d{4}-\d{2}$")])
    remarks = TextAreaField(validators=[Length(max=TEXT_MAX)])


class RemarksForm(Form):
    remarks = TextAreaField(validators=[Length(max=TEXT_MAX)])


class ReturnForm(Form):
    comment = TextAreaField(validators=[Length(max=TEXT_MAX)])


class CorrectForm(Form):
    reason = TextAreaField(validators=[Length(max=TEXT_MAX)])
