"""The base form: WTForms' own messages in the interface language (Traditional, not Simplified)."""

from __future__ import annotations

from functools import cache

from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import get_translations


@cache
def _wtforms_translations(language: str):
    return get_translations([language])


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form):
            # WTForms ships zh (Simplified) and zh_TW; Babel would pick zh for zh_Hant_TW.
            locale = str(get_locale() or "en")
            return _wtforms_translations("zh_TW" if locale.startswith("zh") else "en")


class ActionForm(Form):
    """An empty form: a POST button with its CSRF token."""


def require_action_form() -> None:
    """A bare POST button must carry a valid CSRF token (when CSRF is on), else 400."""
    from flask import abort

    if not ActionForm().validate_on_submit():
        abort(400)
