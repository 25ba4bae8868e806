"""Forms for checklist items, signatures and amendments."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DecimalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from app.forms import DeviceClockField, Form, UUIDField
from app.inspections.models import INDICATORS, ITEM_KINDS
from app.inspections.services import NUMBER_LIMIT, format_number
from app.photos.forms import PhotoForm
from app.sites.forms import EQUIPMENT_KIND_LABELS, SYSTEM_TYPE_LABELS
from app.sites.models import EQUIPMENT_KINDS, SYSTEM_TYPES

ITEM_KIND_LABELS = {
    "pass_fail": _l("Pass / fail"),
    "pass_fail_na": _l("Pass / fail / n.a."),
    "number": _l("Number"),
    "text": _l("Text"),
    "choice": _l("Single choice"),
}


def finite_number(form, field):
    """A number a reading can be: no NaN or infinity, within ±NUMBER_LIMIT."""
    if field.data is None:
        return
    if not field.data.is_finite() or abs(field.data) > NUMBER_LIMIT:
        raise StopValidation(
            _l(
                "Enter a number between %(low)s and %(high)s.",
                low=format_number(-NUMBER_LIMIT),
                high=format_number(NUMBER_LIMIT),
            )
        )


finite_number.bounds_numbers = True  # app.forms.Form leaves these numbers to it


class ItemForm(Form):
    indicator = SelectField(_l("Indicator"), choices=[])
    knowledge = StringField(
        _l("Knowledge codes"), validators=[Length(max=40)], description="K01 K12"
    )
    text_zh = StringField(
        _l("Text in Chinese"),
        validators=[DataRequired(message=_l("Enter the Chinese text.")), Length(max=300)],
    )
    text_en = StringField(
        _l("Text in English"),
        validators=[DataRequired(message=_l("Enter the English text.")), Length(max=300)],
    )
    kind = SelectField(_l("Answer"), choices=[])
    min_value = DecimalField(
        _l("Lowest passing value"), places=None, validators=[Optional(), finite_number]
    )
    max_value = DecimalField(
        _l("Highest passing value"), places=None, validators=[Optional(), finite_number]
    )
    input_min = DecimalField(
        _l("Lowest value that can be entered"),
        places=None,
        validators=[Optional(), finite_number],
        description=_l("A reading below it is refused as a typing error."),
    )
    input_max = DecimalField(
        _l("Highest value that can be entered"),
        places=None,
        validators=[Optional(), finite_number],
        description=_l("A reading above it is refused as a typing error."),
    )
    unit = StringField(_l("Unit"), validators=[Length(max=20)], description="V, °C, %")
    choices = TextAreaField(
        _l("Choices"),
        description=_l("One per line, Chinese|English, e.g. 正常|Normal"),
        validators=[Length(max=2000)],
    )
    is_required = BooleanField(_l("An answer is required"), default=True)
    note_on_fail = BooleanField(_l("A failure needs a note"), default=True)
    photo_on_fail = BooleanField(_l("A failure needs a photo"))
    weight = DecimalField(
        _l("Weight in the score"),
        places=None,
        default=1,
        validators=[NumberRange(min=0, max=100, message=_l("Between 0 and 100."))],
    )
    equipment_kind = SelectField(_l("Equipment concerned"), choices=[], default="")
    system_type = SelectField(
        _l("System concerned"),
        choices=[],
        default="",
        # Not sent (an older page) or unknown: every site (see values()).
        validate_choice=False,
        description=_l("A site without this system does not answer the item."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.indicator.choices = [(i, i) for i in INDICATORS]
        self.kind.choices = [(k, ITEM_KIND_LABELS[k]) for k in ITEM_KINDS]
        self.equipment_kind.choices = [("", _l("— none —"))] + [
            (k, EQUIPMENT_KIND_LABELS[k]) for k in EQUIPMENT_KINDS
        ]
        self.system_type.choices = [("", _l("— every site —"))] + [
            (t, SYSTEM_TYPE_LABELS[t]) for t in SYSTEM_TYPES
        ]

    def validate_max_value(self, field):
        if (
            field.data is not None
            and self.min_value.data is not None
            and field.data < self.min_value.data
        ):
            raise ValidationError(_l("The highest value is below the lowest."))

    def validate(self, extra_validators=None) -> bool:
        """A number item needs both input limits (an empty field skips its own validators)."""
        valid = super().validate(extra_validators)
        if self.kind.data != "number":
            return valid
        for field, message in (
            (self.input_min, _l("A number item needs the lowest value that can be entered.")),
            (self.input_max, _l("A number item needs the highest value that can be entered.")),
        ):
            if field.data is None and not field.errors:
                field.errors.append(message)
                valid = False
        return valid

    def validate_input_min(self, field):
        if self.min_value.data is not None and field.data > self.min_value.data:
            raise ValidationError(_l("The passing range must lie within these limits."))

    def validate_input_max(self, field):
        if self.input_min.data is not None and field.data <= self.input_min.data:
            raise ValidationError(_l("The highest value must be above the lowest."))
        if self.max_value.data is not None and field.data < self.max_value.data:
            raise ValidationError(_l("The passing range must lie within these limits."))

    def validate_choices(self, field):
        if self.kind.data == "choice" and not (field.data or "").strip():
            raise ValidationError(_l("A single-choice item needs its choices."))

    def values(self) -> dict:
        data = {name: f.data for name, f in self._fields.items() if name != "csrf_token"}
        for key in ("min_value", "max_value", "input_min", "input_max", "weight"):
            data[key] = float(data[key]) if data[key] is not None else None
        data["weight"] = data["weight"] if data["weight"] is not None else 1.0
        data["equipment_kind"] = data["equipment_kind"] or None
        data["system_type"] = data["system_type"] if data["system_type"] in SYSTEM_TYPES else None
        return data


class SubmitForm(Form):
    signer_name = StringField(
        _l("Your name"), validators=[DataRequired(message=_l("Type your name.")), Length(max=120)]
    )
    signature = StringField(validators=[Length(max=600_000)])
    contact_name = StringField(_l("Site contact's name (optional)"), validators=[Length(max=120)])
    contact_signature = StringField(validators=[Length(max=600_000)])


class AmendForm(Form):
    item_id = SelectField(_l("Item"), coerce=int, choices=[])
    value = StringField(
        _l("Corrected answer"), validators=[DataRequired(message=_l("Give the corrected answer."))]
    )
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])
    reason = TextAreaField(
        _l("Reason for the correction"),
        validators=[
            DataRequired(message=_l("Give the reason for the correction.")),
            Length(max=2000),
        ],
    )

    def values(self) -> dict:
        """What amend() takes besides the inspection, the item and the user."""
        return {"value": self.value.data, "note": self.note.data or "", "reason": self.reason.data}


class StartForm(Form):
    """Start (or reopen) an inspection: the page's (or the phone's) key for it."""

    uuid = UUIDField()


class AnswerForm(Form):
    """One answer as it is given: each part only when sent (None keeps what was saved)."""

    value = StringField()
    note = StringField()
    equipment_id = IntegerField(_l("Which unit?"), validators=[Optional()])
    #: When the phone gave the answer (the outbox sends it; a page online leaves it out).
    device_time = DeviceClockField()

    def values(self) -> dict:
        equipment = self.equipment_id
        sent = bool(equipment.raw_data)
        return {
            "value": self.value.data,
            "note": self.note.data,
            "equipment_id": (equipment.data or 0) if sent else None,  # 0: cleared
            "device_time": self.device_time.data,
        }


class AnswerPhotoForm(PhotoForm):
    """A photo of a fault, with the note typed beside it but not yet saved."""

    note = StringField()


class MoveForm(Form):
    direction = SelectField("", choices=["up", "down"], default="down")


class RetireForm(Form):
    retired = SelectField("", choices=["1", "0"], default="1")
