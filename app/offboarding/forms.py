"""The purge's confirmation: the client's name, typed."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from app.forms import Form


class PurgeForm(Form):
    confirmation = StringField(
        _l("Type the client's name to confirm"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


class ExportForm(Form):
    """No fields: the CSRF token only."""
