"""Names of the behaviour indicators (seed/GLOSS.md), for section headings and reports."""

from flask_babel import lazy_gettext as _l

INDICATOR_LABELS = {
    "P3.1.1": _l("Assessing potential risks"),
    "P3.1.2": _l("Emergency plan and drills"),
    "P3.2.1": _l("Control of the mobile guards' work"),
    "P3.2.2": _l("System maintenance, fault finding and repair reports"),
    "P3.2.3": _l("Control records and reporting to the client"),
    "P3.3.1": _l("Training of the guards"),
    "P3.3.2": _l("Communication channels"),
    "P3.3.3": _l("Information management system"),
    "P3.3.4": _l("Keeping the client's secrets"),
    "T3.1": _l("Occupational safety and health"),
}
