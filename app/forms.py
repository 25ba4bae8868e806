"""The base form: WTForms' own messages in the interface language (Traditional, not Simplified)."""

from __future__ import annotations

import uuid
from functools import cache

from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField
from wtforms.i18n import get_translations
from wtforms.widgets import HiddenInput


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


class IdListField(Field):
    """Ids sent under one name (ticked boxes): a set of positive whole numbers.

    Nothing ticked is the empty set; anything that is not an id does not parse and is an error.
    The boxes themselves are written in the template; this field only reads them.
    """

    widget = HiddenInput()

    def process_data(self, value) -> None:
        self.data = set(value or ())

    def process_formdata(self, valuelist) -> None:
        values = [str(v).strip() for v in valuelist if str(v).strip()]
        if not all(v.isdigit() and int(v) > 0 for v in values):
            self.data = set()
            raise ValueError(_l("Choose from the list."))
        self.data = {int(v) for v in values}


class UUIDField(HiddenField):
    """The idempotency key a page or a phone makes for a new object: a UUID, or None if absent.

    The page fills it in, so one that does not parse was not sent by the page: the routes
    answer it with 400 (uow.check() does), never by inventing a key.
    """

    def process_formdata(self, valuelist) -> None:
        value = str(valuelist[0]).strip() if valuelist else ""
        if not value:
            self.data = None
            return
        try:
            self.data = str(uuid.UUID(value))
        except ValueError:
            self.data = None
            raise ValueError(_l("Something in that request was not right")) from None

    def or_new(self) -> str:
        """The key sent, or a fresh one (a page without JavaScript, an old phone), kept: a
        retried call gets the same key."""
        if not self.data:
            self.data = str(uuid.uuid4())
        return self.data


def is_machine_field(field: Field) -> bool:
    """Filled in by the page, not typed (hidden inputs, the CSRF token)."""
    return isinstance(field, HiddenField | IdListField) or field.type == "CSRFTokenField"


def error_messages(form: Form) -> list[str]:
    """Every error of the form, for a flash or an alert (the messages name what to do)."""
    messages = [str(m) for m in form.form_errors]
    for field in form:
        messages += [str(m) for m in field.errors]
    return messages


def first_error(form: Form) -> str | None:
    """The form's first error (for pages that show one alert above a hand-written form)."""
    return next(iter(error_messages(form)), None)
