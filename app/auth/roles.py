"""The five roles of DESIGN.md §5."""

from enum import StrEnum


class Role(StrEnum):
    GUARD = "guard"
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"
    CLIENT = "client"


ROLE_ORDER = [Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN, Role.CLIENT]
