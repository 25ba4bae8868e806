"""The company settings form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms import RadioField, StringField
from wtforms.validators import InputRequired, Length

from app.company.images import MAX_BYTES
from app.forms import Form

CALENDAR_LABELS = {
    "gregorian": _l("Gregorian: 2026-11-25"),
    "roc": _l("ROC calendar: 民國 115 年 11 月 25 日"),
}


class CompanySettingForm(Form):
    company_name = StringField(
        _l("Company name"),
        validators=[Length(max=200)],
        description=_l(
            "Printed at the head of inspection reports and control-record sheets. "
            "Empty: not printed."
        ),
        filters=[lambda v: v.strip() if isinstance(v, str) else v],
    )
    date_calendar = RadioField(
        _l("Dates on printed reports and sheets"),
        choices=list(CALENDAR_LABELS.items()),
        validators=[InputRequired(message=_l("Choose from the list."))],
        description=_l(
            "The ROC calendar is used on the Chinese pages; English pages keep Gregorian dates."
        ),
    )


class CompanyImageForm(Form):
    """A new logo or seal: one PNG or JPEG file."""

    image = FileField()

    def image_bytes(self) -> bytes:
        """The file's bytes, read at most one past the limit (b"" when no file was chosen)."""
        upload = self.image.data
        if upload is None or not getattr(upload, "filename", None):
            return b""
        return upload.read(MAX_BYTES + 1)
