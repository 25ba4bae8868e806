"""Forms for clients, sites, equipment and check-ins."""

from __future__ import annotations

import math
import unicodedata
from datetime import UTC, date, datetime

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.forms import DateWindow, Form, IdListField, PhoneField, UUIDField
from app.sites.models import EQUIPMENT_KINDS, EQUIPMENT_STATUSES, SYSTEM_TYPES, TAIWAN_CITIES
from app.sites.validators import is_valid_tax_id

SYSTEM_TYPE_LABELS = {
    "intrusion": _l("Intrusion alarm"),
    "access": _l("Access control"),
    "cctv": _l("CCTV"),
    "fire": _l("Fire alarm"),
    "panic": _l("Panic buttons"),
}
EQUIPMENT_KIND_LABELS = {
    "control_panel": _l("Control panel"),
    "battery": _l("Backup battery"),
    "detector": _l("Detector"),
    "panic_button": _l("Panic button"),
    "cctv": _l("CCTV camera"),
    "access_control": _l("Access control"),
    "other": _l("Other"),
}
EQUIPMENT_STATUS_LABELS = {
    "ok": _l("Working"),
    "fault": _l("Fault"),
    "under_repair": _l("Under repair"),
    "retired": _l("Retired"),
}
VERDICT_LABELS = {
    "on_site": _l("On site"),
    "off_site": _l("Off site"),
    "no_fix": _l("No location"),
}


#: Alarm panels outlive the app's records: an installation date may be older.
INSTALLED_SINCE = date(1970, 1, 1)


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _strip(value):
    return value.strip() if isinstance(value, str) else value


def _postal(value):
    """A postal code as typed on envelopes ("110-06", "110 06", full-width) as digits."""
    if not isinstance(value, str):
        return value
    return unicodedata.normalize("NFKC", value).replace("-", "").replace(" ", "").strip()


class ClientForm(Form):
    name = StringField(
        _l("Client name"),
        validators=[DataRequired(message=_l("Enter the client's name.")), Length(max=200)],
        filters=[_strip],
    )
    tax_id = StringField(
        _l("Tax ID (統一編號)"),
        validators=[Optional(), Regexp(r"^\d{8}$", message=_l("Eight digits."))],
        filters=[_strip],
        render_kw={"inputmode": "numeric", "maxlength": 8, "autocomplete": "off"},
    )
    address = StringField(_l("Address"), validators=[Length(max=300)], filters=[_strip])
    main_phone = PhoneField(
        _l("Main phone"),
        description=_l("The company's switchboard, not a person's number."),
    )
    contract_start_on = DateField(_l("Contract start"), validators=[Optional(), DateWindow()])
    contract_end_on = DateField(_l("Contract end"), validators=[Optional(), DateWindow()])

    def validate_tax_id(self, field):
        if field.data and not is_valid_tax_id(field.data):
            raise ValidationError(_l("This tax ID's check digit is wrong. Check the number."))


class SiteForm(Form):
    client_id = SelectField(
        _l("Client"), coerce=int, validators=[DataRequired(message=_l("Choose the client."))]
    )
    code = StringField(
        _l("Site code"),
        validators=[
            DataRequired(message=_l("Enter the site code.")),
            Regexp(
                r"^[A-Za-z0-9-]{3,20}$",
                message=_l("3 to 20 letters, digits or dashes, e.g. TPE-0012."),
            ),
        ],
        filters=[_strip],
        render_kw={"autocapitalize": "characters", "autocomplete": "off"},
    )
    name = StringField(
        _l("Site name"),
        validators=[DataRequired(message=_l("Enter the site's name.")), Length(max=200)],
        filters=[_strip],
    )
    postal_code = StringField(
        _l("Postal code"),
        validators=[
            Optional(),
            Regexp(
                r"^[1-9][0-9]{2}([0-9]{2,3})?$",
                message=_l("3, 5 or 6 digits, e.g. 110 or 110061."),
            ),
        ],
        filters=[_postal],
        render_kw={"inputmode": "numeric", "maxlength": 8, "autocomplete": "postal-code"},
    )
    city = SelectField(_l("City or county"), choices=[], default="")
    district = StringField(
        _l("District"),
        validators=[
            Length(max=20),
            Regexp(
                r"^$|^.+[區鄉鎮市]$",
                message=_l("A district ends in 區, 鄉, 鎮 or 市, e.g. 信義區."),
            ),
        ],
        filters=[_strip],
        description=_l("區, 鄉, 鎮 or 市, e.g. 信義區."),
    )
    address = StringField(
        _l("Street address"),
        validators=[Length(max=300)],
        filters=[_strip],
        description=_l("Road, section, lane, alley, number and floor, e.g. 松仁路100號5樓."),
    )
    police_station = StringField(
        _l("Police station"),
        validators=[Length(max=100)],
        filters=[_strip],
        description=_l("The local station (轄區派出所), e.g. 信義分局 三張犁派出所."),
    )
    police_phone = PhoneField(_l("Police station phone"))
    fire_station = StringField(
        _l("Fire station"),
        validators=[Length(max=100)],
        filters=[_strip],
        description=_l("The local fire station (消防分隊), e.g. 信義消防分隊."),
    )
    fire_phone = PhoneField(_l("Fire station phone"))
    latitude = DecimalField(
        _l("Latitude"),
        places=None,
        validators=[Optional(), NumberRange(min=-90, max=90, message=_l("Between -90 and 90."))],
        render_kw={"inputmode": "decimal", "step": "any"},
    )
    longitude = DecimalField(
        _l("Longitude"),
        places=None,
        validators=[
            Optional(),
            NumberRange(min=-180, max=180, message=_l("Between -180 and 180.")),
        ],
        render_kw={"inputmode": "decimal", "step": "any"},
    )
    geofence_m = IntegerField(
        _l("Geofence radius (m)"),
        default=150,
        validators=[NumberRange(min=20, max=5000, message=_l("Between 20 and 5000 metres."))],
        description=_l("A check-in within this distance counts as on site."),
        render_kw={"inputmode": "numeric"},
    )
    system_types = MultiCheckboxField(
        _l("Systems at this site"),
        choices=[],
        validators=[DataRequired(message=_l("Choose at least one system."))],
    )
    arrival_target_minutes = IntegerField(
        _l("Arrival time limit (minutes)"),
        default=20,
        validators=[NumberRange(min=1, max=240, message=_l("Between 1 and 240 minutes."))],
        render_kw={"inputmode": "numeric"},
    )
    inspection_interval_days = IntegerField(
        _l("Inspect every (days)"),
        default=30,
        validators=[NumberRange(min=1, max=366, message=_l("Between 1 and 366 days."))],
        render_kw={"inputmode": "numeric"},
    )
    is_active = BooleanField(_l("Active"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.system_types.choices = [(t, SYSTEM_TYPE_LABELS[t]) for t in SYSTEM_TYPES]
        self.city.choices = [("", _l("Choose…"))] + [(c, c) for c in TAIWAN_CITIES]
        stored = getattr(kwargs.get("obj"), "city", "")
        if stored and stored not in TAIWAN_CITIES:
            # A city stored outside the list (by hand) stays choosable, not silently lost;
            # a city posted outside it is refused.
            self.city.choices.append((stored, stored))

    def validate_district(self, field):
        if field.data and not self.city.data:
            raise ValidationError(_l("Choose the city or county of this district."))

    def validate_police_phone(self, field):
        if field.data and not self.police_station.data:
            raise ValidationError(_l("Give the station's name with its number."))

    def validate_fire_phone(self, field):
        if field.data and not self.fire_station.data:
            raise ValidationError(_l("Give the station's name with its number."))

    def values(self) -> dict:
        data = {name: field.data for name, field in self._fields.items() if name != "csrf_token"}
        data["system_types"] = ",".join(
            t for t in SYSTEM_TYPES if t in (self.system_types.data or [])
        )
        for key in ("latitude", "longitude"):
            data[key] = float(data[key]) if data[key] is not None else None
        for key in ("postal_code", "city", "district", "police_station", "fire_station"):
            data[key] = data[key] or ""
        return data


class EquipmentForm(Form):
    kind = SelectField(_l("Kind"), validators=[DataRequired()])
    model = StringField(_l("Model"), validators=[Length(max=120)], filters=[_strip])
    serial = StringField(_l("Serial number"), validators=[Length(max=120)], filters=[_strip])
    location = StringField(
        _l("Location on site"),
        validators=[Length(max=200)],
        filters=[_strip],
        description=_l("For example: 1F lobby, B1 plant room."),
    )
    installed_on = DateField(
        _l("Installed on"),
        validators=[Optional(), DateWindow(not_future=True, earliest=INSTALLED_SINCE)],
    )
    maintenance_interval_days = IntegerField(
        _l("Maintain every (days)"),
        validators=[
            Optional(),
            NumberRange(min=1, max=3660, message=_l("Between 1 and 3660 days.")),
        ],
        render_kw={"inputmode": "numeric"},
    )
    last_maintained_on = DateField(
        _l("Last maintained on"),
        validators=[Optional(), DateWindow(not_future=True, earliest=INSTALLED_SINCE)],
    )
    status = SelectField(_l("Status"), validators=[DataRequired()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind.choices = [(k, EQUIPMENT_KIND_LABELS[k]) for k in EQUIPMENT_KINDS]
        self.status.choices = [(s, EQUIPMENT_STATUS_LABELS[s]) for s in EQUIPMENT_STATUSES]

    def values(self) -> dict:
        return {name: field.data for name, field in self._fields.items() if name != "csrf_token"}


class ReadingField(HiddenField):
    """A number the device measured (a coordinate, an accuracy): a finite float, or None.

    A reading the device could not make (empty, "nan", garbage) is no reading: the check-in
    still counts, without it — a guard at the door must not be refused for a poor GPS fix.
    """

    def process_formdata(self, valuelist) -> None:
        try:
            number = float(valuelist[0]) if valuelist and valuelist[0] not in (None, "") else None
        except (TypeError, ValueError):
            number = None
        self.data = number if number is not None and math.isfinite(number) else None


class DeviceTimeField(ReadingField):
    """The device clock, sent as milliseconds since the epoch: an aware UTC instant, or None."""

    def process_formdata(self, valuelist) -> None:
        super().process_formdata(valuelist)
        try:
            self.data = datetime.fromtimestamp(self.data / 1000, tz=UTC) if self.data else None
        except (OverflowError, OSError, ValueError):
            self.data = None


class CheckInForm(Form):
    """Sent by the check-in page: a device uuid, the device clock and, if granted, the
    reported location. How the check-in was made is not in it: the route decides that."""

    uuid = UUIDField(validators=[DataRequired()])
    scanned_at = DeviceTimeField()
    latitude = ReadingField()
    longitude = ReadingField()
    accuracy = ReadingField()

    def values(self) -> dict:
        """What record_check_in() takes besides the site, the user and the method."""
        return {
            "uuid": self.uuid.data,
            "scanned_at": self.scanned_at.data,
            "latitude": self.latitude.data,
            "longitude": self.longitude.data,
            "accuracy_m": self.accuracy.data,
        }


class CheckInLocationForm(Form):
    """The location sent again (after allowing it) for a check-in made without one."""

    latitude = ReadingField()
    longitude = ReadingField()
    accuracy = ReadingField()


class SiteUsersForm(Form):
    user_id = IdListField()  # the ticked people


class UserSitesForm(Form):
    site_id = IdListField()  # the ticked sites


class BulkAssignForm(Form):
    site_id = IdListField()  # the ticked sites
    user_id = IdListField()  # the ticked people

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        if valid and not (self.site_id.data and self.user_id.data):
            self.form_errors.append(_l("Choose at least one site and one person."))
            return False
        return valid


class SiteCodeForm(Form):
    code = StringField(
        _l("Site code"),
        validators=[
            DataRequired(message=_l("Enter the code printed under the QR code.")),
            Length(max=20),
        ],
        filters=[_strip],
        render_kw={
            "autocapitalize": "characters",
            "autocomplete": "off",
            "placeholder": "TPE-0012",
        },
    )
