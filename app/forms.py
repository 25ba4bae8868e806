"""The base form: WTForms' own messages in the interface language (Traditional, not Simplified),
and what every form refuses whatever its fields: values no column can hold.

Every form refuses a NUL character in any field, a text longer than TEXT_MAX unless the field
names its own limit, a whole number beyond an Integer column, a number that is not finite or is
beyond NUMBER_MAX; those values are dropped before the field's validators see them. Date fields
take `DateWindow`: no date before the records begin nor decades ahead, none in the future where
the date records something that happened.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, date, datetime, timedelta
from functools import cache

from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DecimalField, Field, FloatField, HiddenField, IntegerField, StringField
from wtforms.i18n import get_translations
from wtforms.validators import Length, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

from app import phones
from app.args import day_window
from app.db import INT_MAX
from app.i18n import taipei_today

#: The longest free text (a note, a narrative) a field without a limit of its own takes.
TEXT_MAX = 4000
#: The largest number (in size) a decimal field takes: far beyond any hour, weight or reading.
NUMBER_MAX = 10**9


@cache
def _wtforms_translations(language: str):
    return get_translations([language])


class Form(FlaskForm):
    class Meta:
        def get_translations(self, form):
            # WTForms ships zh (Simplified) and zh_TW; Babel would pick zh for zh_Hant_TW.
            locale = str(get_locale() or "en")
            return _wtforms_translations("zh_TW" if locale.startswith("zh") else "en")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self:
            _refuse_what_no_column_holds(field)


def _refuse(field: Field, message) -> None:
    """The field fails with `message` and its validators (its own and the form's inline
    `validate_<name>`) do not run: they were written for values a column can hold, and would
    meet None or a NaN instead."""
    field.process_errors.append(message)

    def stop(form) -> None:
        raise StopValidation()

    field.pre_validate = stop


def _refuse_what_no_column_holds(field: Field) -> None:
    """Mark (as a processing error, so validation fails) and drop a value that no column can
    hold or no page can show; the field's own validators then see nothing instead."""
    if field.type in ("FileField", "MultipleFileField"):
        return
    raw = [v for v in (field.raw_data or ()) if isinstance(v, str)]
    if any("\x00" in v for v in raw):
        _refuse(field, _l("Remove the invisible control character (NUL) from this text."))
        if isinstance(field.data, str):
            field.data = field.data.replace("\x00", "")
        return
    data = field.data
    if isinstance(field, DecimalField | FloatField) and data is not None:
        if any(getattr(v, "bounds_numbers", False) for v in field.validators):
            return  # the field's own validator refuses these, with its own limits
        if not _finite(data) or abs(data) > NUMBER_MAX:
            field.data = None
            _refuse(field, _l("Enter a number between -%(max)d and %(max)d.", max=NUMBER_MAX))
    elif isinstance(field, IntegerField) and data is not None:
        if not -INT_MAX <= data <= INT_MAX:
            field.data = None
            _refuse(field, _l("Enter a whole number between -%(max)d and %(max)d.", max=INT_MAX))
    elif (
        isinstance(field, StringField)
        and isinstance(data, str)
        and len(data) > TEXT_MAX
        and not any(isinstance(v, Length) for v in field.validators)
    ):
        _refuse(field, _l("At most %(max)d characters.", max=TEXT_MAX))


def _finite(number) -> bool:
    try:
        return number.is_finite() if hasattr(number, "is_finite") else math.isfinite(number)
    except (TypeError, ValueError):
        return False


class DateWindow:
    """A date (or a date and time) within the app's calendar: not before `earliest` (by
    default when the records begin), not decades ahead, and not after today when
    `not_future` (a date that records something done or seen)."""

    def __init__(self, *, not_future: bool = False, earliest: date | None = None) -> None:
        self.not_future = not_future
        self.earliest = earliest

    def __call__(self, form, field) -> None:
        value = field.data
        if value is None:
            return
        day = value.date() if isinstance(value, datetime) else value
        first, last = day_window()
        first = self.earliest or first
        if self.not_future:
            last = taipei_today()
        if not first <= day <= last:
            raise ValidationError(
                _("Enter a date between %(first)s and %(last)s.", first=first, last=last)
            )


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
        if not all(v.isdigit() and 0 < int(v) <= INT_MAX for v in values):
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


class DeviceClockField(HiddenField):
    """When the phone made the item: ISO 8601 with its zone (JavaScript's ``toISOString()``)
    or milliseconds since the epoch (``Date.now()``, as the check-in sends its clock); None if
    absent. The order of offline answers follows it.

    Bounded against the server's clock: a time more than FUTURE_SKEW ahead is taken as the
    server's now (a phone clock running fast must not win over every later answer); one more
    than MAX_AGE back, or without a zone, was not made by the page: refused.
    """

    FUTURE_SKEW = timedelta(minutes=5)
    MAX_AGE = timedelta(days=30)

    def process_formdata(self, valuelist) -> None:
        value = str(valuelist[0]).strip() if valuelist else ""
        self.data = None
        if not value:
            return
        try:
            if value.isdigit():
                moment = datetime.fromtimestamp(int(value[:15]) / 1000, tz=UTC)
            else:
                moment = datetime.fromisoformat(value)
        except (ValueError, OverflowError, OSError):
            moment = None
        now = datetime.now(UTC)
        if moment is None or moment.tzinfo is None or moment < now - self.MAX_AGE:
            raise ValueError(_l("Something in that request was not right"))
        self.data = now if moment > now + self.FUTURE_SKEW else moment.astimezone(UTC)

    def _value(self) -> str:
        return self.data.isoformat() if self.data else ""


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


PHONE_ERRORS = {
    "area_code": _l("Start with the area code, e.g. (02) 2345-6789, or a mobile 0912-345-678."),
    "length": _l("This number has too many or too few digits for its area code."),
    "characters": _l(
        "Only digits, spaces, dashes and brackets, and an extension after 分機 or #, "
        "e.g. (02) 2345-6789 分機 123."
    ),
    "not_taiwan": _l("Only Taiwan numbers: +886 or a number starting with 0."),
}


class PhoneField(StringField):
    """A Taiwan phone number: shown as Taiwan writes it, validated and, once valid, held in
    its stored form (app.phones: digits, "#" and an extension) for the service to save."""

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {"inputmode": "tel", "autocomplete": "off"})
        kwargs.setdefault("filters", [lambda v: v.strip() if isinstance(v, str) else v])
        super().__init__(label, [Length(max=60), *(validators or [])], **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        return phones.format_phone(self.data, ext_label=_("ext.")) if self.data else ""

    def post_validate(self, form, validation_stopped) -> None:
        if validation_stopped or self.errors:
            return
        try:
            self.data = phones.normalise(self.data)
        except phones.PhoneError as error:
            self.errors.append(PHONE_ERRORS[error.reason])
