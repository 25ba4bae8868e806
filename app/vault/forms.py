"""Forms of the vault: a record (create and edit), the purpose prompt, the access-log filters."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from app.forms import DateWindow, Form
from app.vault import services
from app.vault.labels import CATEGORY_LABELS, SENSITIVITY_LABELS
from app.vault.models import (
    ACCESS_ACTIONS,
    ACCESS_OUTCOMES,
    CATEGORIES,
    DEFAULT_SENSITIVITY,
    PURPOSES,
    SENSITIVITIES,
)

PURPOSE_LABELS = {
    "alarm_response": _l("Alarm response"),
    "maintenance": _l("Maintenance"),
    "client_request": _l("Client request"),
    "audit": _l("Audit"),
    "other": _l("Other (say what)"),
}
ACTION_LABELS = {
    "list": _l("Listed"),
    "reveal": _l("Revealed"),
    "create": _l("Created"),
    "change": _l("Changed"),
    "delete": _l("Deleted"),
    "export": _l("Exported"),
    "purge": _l("Purged"),
    "custody": _l("Key custody"),
}
OUTCOME_LABELS = {"success": _l("Allowed"), "denied": _l("Denied"), "error": _l("Error")}
REASON_LABELS = {
    "not_assigned": _l("not assigned to the site"),
    "role": _l("not allowed for the role"),
    "pledge": _l("pledge not acknowledged"),
    "step_up": _l("no recent step-up"),
    "decrypt": _l("value did not decrypt"),
}
assert set(CATEGORY_LABELS) == set(CATEGORIES) and set(PURPOSE_LABELS) == set(PURPOSES)
assert set(ACTION_LABELS) == set(ACCESS_ACTIONS) and set(OUTCOME_LABELS) == set(ACCESS_OUTCOMES)


def _category_hint() -> str:
    restricted = [CATEGORY_LABELS[c] for c in CATEGORIES if DEFAULT_SENSITIVITY[c] == "restricted"]
    return _l(
        "Empty: by category (restricted: %(list)s; the others operational).",
        list=", ".join(str(r) for r in restricted),
    )


class RecordForm(Form):
    """A record. Creating asks for the value; editing keeps it unless a new one is typed (the
    edit page never shows the stored value: that would be a reveal)."""

    category = SelectField(_l("Category"), validators=[InputRequired()])
    sensitivity = SelectField(_l("Sensitivity"), validators=[Optional()])
    label = StringField(
        _l("Label"),
        description=_l("What it is, e.g. 'back door, first to call'. Never the secret itself."),
        validators=[
            InputRequired(message=_l("Give the record a label.")),
            Length(max=services.LABEL_MAX),
        ],
    )
    value = TextAreaField(_l("Value"), validators=[Length(max=services.TEXT_MAX)])
    name = StringField(_l("Key holder's name"), validators=[Length(max=100)])
    phone_1 = StringField(_l("Phone 1"), validators=[Length(max=40)])
    phone_2 = StringField(_l("Phone 2"), validators=[Length(max=40)])
    phone_3 = StringField(_l("Phone 3"), validators=[Length(max=40)])
    phone_4 = StringField(_l("Phone 4"), validators=[Length(max=40)])
    phone_5 = StringField(_l("Phone 5"), validators=[Length(max=40)])
    relation = StringField(_l("Relation to the client"), validators=[Length(max=100)])
    calling_order = IntegerField(
        _l("Calling order"),
        description=_l("1 is called first."),
        validators=[Optional(), NumberRange(min=1, max=99)],
    )
    retain_until = DateField(
        _l("Keep until"),
        description=_l("Deleted after this day. Empty: the contract end plus the kept months."),
        validators=[Optional(), DateWindow()],
    )

    PHONES = ("phone_1", "phone_2", "phone_3", "phone_4", "phone_5")

    def __init__(self, *args, editing: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.editing = editing
        self.category.choices = [(c, CATEGORY_LABELS[c]) for c in CATEGORIES]
        self.sensitivity.choices = [("", _l("By category"))] + [
            (s, SENSITIVITY_LABELS[s]) for s in SENSITIVITIES
        ]
        self.sensitivity.description = _category_hint()
        if editing:
            # The category is the record's (the route sets it), not the form's to change.
            self.category.validators = [Optional()]
            self.value.description = _l("Leave empty to keep the stored value.")

    def key_holder(self) -> dict:
        return {
            "name": self.name.data or "",
            "phones": [getattr(self, p).data or "" for p in self.PHONES],
            "relation": self.relation.data or "",
            "calling_order": self.calling_order.data,
        }

    def typed_value(self) -> str | dict | None:
        """What was typed as the value; None when editing and nothing was typed (keep it)."""
        if self.category.data == "key_holder":
            typed = self.key_holder()
            empty = not (typed["name"] or any(typed["phones"]) or typed["relation"])
            return None if self.editing and empty and not typed["calling_order"] else typed
        text = self.value.data or ""
        return None if self.editing and not text.strip() else text


class PurposeForm(Form):
    """Why a value is revealed: one of the purposes, and words for "other"."""

    purpose = RadioField(
        _l("Why do you need it?"),
        validators=[InputRequired(message=_l("Choose why you need the value."))],
    )
    purpose_text = StringField(_l("Say what for"), validators=[Length(max=500)])
    #: Another page's one-button reveal (the alarm page's call-back password): the page to
    #: come back to after a step-up, and "button" to mask the value again as that button.
    next = HiddenField()
    view = HiddenField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.purpose.choices = [(p, PURPOSE_LABELS[p]) for p in PURPOSES]

    @property
    def is_button(self) -> bool:
        return self.view.data == "button"

    def validate_purpose_text(self, field) -> None:
        if self.purpose.data == "other" and not (field.data or "").strip():
            raise ValidationError(_l("Say what you need the value for."))
