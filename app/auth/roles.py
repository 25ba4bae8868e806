"""The five roles of DESIGN.md §5."""

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    GUARD = "guard"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"
    CLIENT = "client"


ROLE_ORDER = [Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN, Role.CLIENT]

#: What each role is called on screen.
ROLE_LABELS = {
    Role.GUARD: _l("Guard"),
    Role.SUPERVISOR: _l("Supervisor"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
    Role.CLIENT: _l("Client"),
}


def role_label(role: str):
    """A role's name in the interface language (the raw value for an unknown one)."""
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return role
