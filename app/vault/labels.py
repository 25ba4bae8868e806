"""The words for the vault's categories and sensitivities, shared by its pages, exports and
the offboarding handover."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

CATEGORY_LABELS = {
    "alarm_code": _l("Alarm code"),
    "callback_password": _l("Call-back password"),
    "key_holder": _l("Key holder"),
    "access_instructions": _l("Access instructions"),
    "client_personnel": _l("Client personnel data"),
    "other": _l("Other"),
}
SENSITIVITY_LABELS = {"operational": _l("Operational"), "restricted": _l("Restricted")}
