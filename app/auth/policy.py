"""Every permission rule of Guardpost, as plain predicates (no Flask here).

Each takes the acting user (which may be anonymous: `is_authenticated` false) and, where
it concerns an object, the object. The permission-table test walks every route with every
role, so a rule changed here shows up there.
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select, true

from app.auth.roles import Role

#: Roles that work at sites only where assigned.
FIELD_ROLES = frozenset({Role.GUARD, Role.SUPERVISOR})
#: Roles that see every site's operational data.
ALL_SITES_ROLES = frozenset({Role.MANAGER})


def _role(user) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return Role(user.role)


def is_signed_in(user) -> bool:
    """Any active, signed-in user."""
    return _role(user) is not None


def can_manage_users(user) -> bool:
    """Users, their roles, sessions and site assignments are the admin's."""
    return _role(user) == Role.ADMIN


def sees_all_sites(user) -> bool:
    """Managers see every site's operational data without assignment."""
    return _role(user) in ALL_SITES_ROLES


def can_view_site(user, site, *, assigned_site_ids: set[int]) -> bool:
    """A site's operational data: managers all, field roles where assigned, clients their own
    client's; only while the site is active. `visible_sites_clause` is the same rule in SQL."""
    role = _role(user)
    if role is None or not site.is_active:
        return False
    if role in ALL_SITES_ROLES:
        return True
    if role in FIELD_ROLES:
        return site.id in assigned_site_ids
    if role == Role.CLIENT:
        return user.client_id is not None and site.client_id == user.client_id
    return False


def can_change_own_password(user) -> bool:
    """Everyone signed in may change their own password."""
    return is_signed_in(user)


def can_step_up(user) -> bool:
    """Anyone signed in may prove himself again; what the proof opens is decided elsewhere."""
    return is_signed_in(user)


#: Roles that may set up a second factor (TOTP, passkeys, recovery codes): required for
#: managers and admins (SECOND_FACTOR_ROLES), optional for supervisors.
SECOND_FACTOR_ROLES = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


def can_manage_second_factors(user) -> bool:
    """Supervisors, managers and admins set up and remove their own TOTP, passkeys and
    recovery codes; guards and clients sign in with a password only."""
    return _role(user) in SECOND_FACTOR_ROLES


def can_remove_passkey(user, passkey) -> bool:
    """Only the passkey's owner removes it (an admin ends sessions, not credentials)."""
    return can_manage_second_factors(user) and passkey.user_id == user.id


def can_revoke_session(user, session_owner) -> bool:
    """Users may end their own sessions; admins anyone's."""
    role = _role(user)
    return role == Role.ADMIN or (role is not None and user.id == session_owner.id)


# ---------------------------------------------------------------- sites registry and check-ins

#: Roles that read the registry of clients, sites and equipment.
REGISTRY_READERS = frozenset({Role.MANAGER, Role.ADMIN})


def can_view_registry(user) -> bool:
    """Clients, sites and equipment lists: admins edit them, managers read them."""
    return _role(user) in REGISTRY_READERS


def can_edit_registry(user) -> bool:
    """Create and change clients, sites, equipment and assignments; rotate QR codes."""
    return _role(user) == Role.ADMIN


def can_manage_company(user) -> bool:
    """The company settings (its name, the calendar of printed dates) are the admin's."""
    return _role(user) == Role.ADMIN


# ---------------------------------------------------------------- offboarding


def can_offboard_client(user) -> bool:
    """Export a departing client's confidential records for handover, then purge them:
    managers only. The export reveals every value, so admins (who may reveal nothing,
    DESIGN.md §5) may not; a fresh step-up is asked for as well (the route's check)."""
    return _role(user) == Role.MANAGER


def can_view_offboarding_history(user) -> bool:
    """Who offboarded a client, when, and how many records: metadata, for the registry's
    readers (managers and admins)."""
    return _role(user) in REGISTRY_READERS


def can_list_sites(user) -> bool:
    """The sites list (scoped to what each role may see)."""
    return _role(user) in (REGISTRY_READERS | FIELD_ROLES)


def can_open_site(user, site, *, assigned_site_ids: set[int]) -> bool:
    """A site's page: its card for those who work there, its registry entry for admins.

    Clients read what is released to them (sheets, summaries), not the working site card.
    """
    role = _role(user)
    if role == Role.ADMIN or role in ALL_SITES_ROLES:
        return True
    return role in FIELD_ROLES and site.id in assigned_site_ids


def can_check_in(user, site, *, assigned_site_ids: set[int]) -> bool:
    """Scan a site's code: guards and supervisors where assigned, managers anywhere."""
    role = _role(user)
    if role is None or not site.is_active:
        return False
    if role in ALL_SITES_ROLES:
        return True
    return role in FIELD_ROLES and site.id in assigned_site_ids


def can_scan(user) -> bool:
    """The in-app scanner is for the roles that check in."""
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_print_labels(user) -> bool:
    """QR images and the printable label sheet."""
    return _role(user) in REGISTRY_READERS


def can_add_check_in_location(user, check_in) -> bool:
    """Send the location again for a check-in made without one: only its own maker."""
    return _role(user) is not None and check_in.user_id == user.id


def can_view_check_ins(user) -> bool:
    """Check-in history: a guard his own, a supervisor his sites', a manager all."""
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def sees_others_check_ins(user) -> bool:
    """Guards see only their own check-ins."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


# ---------------------------------------------------------------- checklists and inspections


def can_manage_checklists(user) -> bool:
    """Checklist templates: admins and managers edit them."""
    return _role(user) in REGISTRY_READERS


def can_inspect(user, site, *, assigned_site_ids: set[int]) -> bool:
    """Run an inspection: supervisors where assigned, managers anywhere."""
    role = _role(user)
    if role is None or not site.is_active:
        return False
    return role in ALL_SITES_ROLES or (role == Role.SUPERVISOR and site.id in assigned_site_ids)


def can_list_inspections(user) -> bool:
    """The inspections list (scoped): supervisors and managers."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_view_inspection(user, inspection, *, assigned_site_ids: set[int]) -> bool:
    """A report: managers all, supervisors of the site (an unassigned inspector loses it too)."""
    role = _role(user)
    if role is None:
        return False
    return role in ALL_SITES_ROLES or (
        role == Role.SUPERVISOR and inspection.site_id in assigned_site_ids
    )


def can_answer(user, inspection, *, assigned_site_ids: set[int]) -> bool:
    """Only the inspector answers, only while it is a draft, only while he serves the site."""
    return (
        is_signed_in(user)
        and inspection.is_draft
        and inspection.inspector_id == user.id
        and (sees_all_sites(user) or inspection.site_id in assigned_site_ids)
    )


def is_its_inspector(user, inspection, *, assigned_site_ids: set[int]) -> bool:
    """The inspector himself, while he serves the site, whatever its state: his phone is told
    what became of an answer that arrived after he submitted."""
    return (
        is_signed_in(user)
        and inspection.inspector_id == user.id
        and (sees_all_sites(user) or inspection.site_id in assigned_site_ids)
    )


def can_amend(user, inspection, *, assigned_site_ids: set[int]) -> bool:
    """A submitted inspection is corrected by a manager, or by its inspector while assigned."""
    role = _role(user)
    if role is None or inspection.is_draft:
        return False
    if role in ALL_SITES_ROLES:
        return True
    return inspection.inspector_id == user.id and inspection.site_id in assigned_site_ids


#: Photo kinds that belong to a record other than their site's: served only through that
#: record's own route and rule (training evidence: `can_view_training_record`).
RECORD_BOUND_PHOTO_KINDS = frozenset({"training"})


def can_view_photo(user, photo, *, assigned_site_ids: set[int]) -> bool:
    """Photos follow their site: managers; supervisors of the site; the one who took it,
    while he still serves the site. Not a photo bound to another record (training evidence
    was stored under the recorder's first site, which says nothing about who may see it)."""
    role = _role(user)
    if role is None or photo.kind in RECORD_BOUND_PHOTO_KINDS:
        return False
    if role in ALL_SITES_ROLES:
        return True
    if photo.site_id not in assigned_site_ids:
        return False
    return role == Role.SUPERVISOR or photo.owner_id == user.id


# ---------------------------------------------------------------- incidents, alarms, repairs


def _works_at(user, site_id: int, assigned_site_ids: set[int], roles) -> bool:
    role = _role(user)
    if role is None:
        return False
    return role in ALL_SITES_ROLES or (role in roles and site_id in assigned_site_ids)


def can_report_incident(user, site, *, assigned_site_ids: set[int]) -> bool:
    """Guards and supervisors where assigned, managers anywhere."""
    return site.is_active and _works_at(user, site.id, assigned_site_ids, FIELD_ROLES)


def can_list_incidents(user) -> bool:
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_view_incident(user, incident, *, assigned_site_ids: set[int]) -> bool:
    """The site's guards and supervisors (the reporter too, while he serves it), managers."""
    return _works_at(user, incident.site_id, assigned_site_ids, FIELD_ROLES)


def can_add_incident_photo(user, incident, *, assigned_site_ids: set[int]) -> bool:
    """The reporter while he serves the site, the site's supervisors, managers."""
    if can_manage_site_work(user, incident.site_id, assigned_site_ids=assigned_site_ids):
        return True
    return (
        is_signed_in(user)
        and incident.reporter_id == user.id
        and _works_at(user, incident.site_id, assigned_site_ids, FIELD_ROLES)
    )


def can_manage_site_work(user, site_id: int, *, assigned_site_ids: set[int]) -> bool:
    """Change incidents, alarm responses, repair tickets and maintenance: supervisors of the
    site, managers."""
    return _works_at(user, site_id, assigned_site_ids, {Role.SUPERVISOR})


def can_list_site_work(user) -> bool:
    """Alarm responses, repair tickets and maintenance lists: supervisors and managers."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_view_dashboard(user) -> bool:
    """The dashboard and the exports: managers (every site), supervisors (their sites)."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_list_alarms(user) -> bool:
    """Guards see the alarms they were sent to; supervisors and managers run them."""
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_view_alarm(user, alarm, *, assigned_site_ids: set[int]) -> bool:
    """The dispatched guard (while he serves the site); supervisors of the site; managers."""
    if is_signed_in(user) and alarm.guard_id == user.id and alarm.site_id in assigned_site_ids:
        return True
    return can_manage_site_work(user, alarm.site_id, assigned_site_ids=assigned_site_ids)


def can_read_notifications(user) -> bool:
    return is_signed_in(user)


def can_use_push(user) -> bool:
    """Push to the phone: the people whose notifications it carries (dispatches, late alarms,
    overdue keys, briefings): guards, supervisors and managers, each for his own devices."""
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_remove_push_device(user, device) -> bool:
    """A device that receives push is removed by its own user only."""
    return can_use_push(user) and device.user_id == user.id


# ---------------------------------------------------------------- briefings and training


def can_read_briefings(user) -> bool:
    """The inbox: guards, supervisors and managers (all must sign the pledge)."""
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_publish_briefings(user) -> bool:
    """Supervisors brief their sites' guards; managers anyone."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_manage_briefing(user, briefing) -> bool:
    """Edit, publish, follow up: its author, or a manager."""
    role = _role(user)
    return role in ALL_SITES_ROLES or (role == Role.SUPERVISOR and briefing.author_id == user.id)


def can_manage_training(user) -> bool:
    """Record training and see who is expiring: supervisors (their guards) and managers."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_view_training_compliance(user) -> bool:
    """The month's training hours per guard and site (保全業法 §10-2) and its CSV:
    supervisors (their guards and sites) and managers (all)."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_view_own_training(user) -> bool:
    return _role(user) in (FIELD_ROLES | ALL_SITES_ROLES)


def can_view_training_record(
    user, session, *, attendee_ids: set[int], attendee_site_ids: set[int], assigned_site_ids
) -> bool:
    """A training session and its evidence belong to the people trained, not to a site: each
    attendee (his own record); supervisors who serve a site where an attendee is assigned
    (their guards, as on /training); managers. Not admins or clients (DESIGN.md §5: training
    is not theirs), not the recorder once none of the attendees is his."""
    role = _role(user)
    if role is None or session is None:
        return False
    if role in ALL_SITES_ROLES:
        return True
    if role in FIELD_ROLES and user.id in attendee_ids:
        return True
    return role == Role.SUPERVISOR and bool(attendee_site_ids & set(assigned_site_ids))


#: Roles that may see confidential information, and so must sign the confidentiality pledge.
PLEDGE_ROLES = frozenset({Role.GUARD, Role.SUPERVISOR, Role.MANAGER})


def is_briefed_as_guard(user) -> bool:
    """Briefings addressed to "all guards" or to a site's guards reach guards only."""
    return _role(user) == Role.GUARD


def must_sign_pledge(user) -> bool:
    """Everyone who may see confidential client information signs the pledge."""
    return _role(user) in PLEDGE_ROLES


def guards_clause(user_model):
    """SQL: the users who are guards (audiences, people in a supervisor's care)."""
    return user_model.role == Role.GUARD


# ---------------------------------------------------------------- who is who, as SQL clauses
# Each visibility rule above also exists as the SQL that lists what it allows, so that lists
# and single loads agree. The policy reads the models it rules on (and nothing else of theirs).


def visible_sites_clause(user):
    """SQL over `Site`: active sites whose operational data the user may see — the list form
    of `can_view_site` (managers all, field roles where assigned, clients their client's)."""
    from app.sites.models import Site, SiteAssignment

    role = _role(user)
    active = Site.is_active.is_(True)
    if role in ALL_SITES_ROLES:
        return active
    if role in FIELD_ROLES:
        assigned = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        return and_(active, Site.id.in_(assigned))
    if role == Role.CLIENT and user.client_id is not None:
        return and_(active, Site.client_id == user.client_id)
    return false()


#: Roles whose users belong to a client company (and see only its sites' released records).
CLIENT_ROLES = frozenset({Role.CLIENT})


def role_belongs_to_client(role: str) -> bool:
    """Users of this role belong to a client company; others to none."""
    return role in CLIENT_ROLES


def role_is_assignable(role: str) -> bool:
    """Users of this role are assigned to sites (field roles)."""
    return role in FIELD_ROLES


def is_client_user(user) -> bool:
    return _role(user) in CLIENT_ROLES


def assignable_users_clause(user_model):
    """SQL: active users who can be assigned to sites."""
    return and_(user_model.role.in_(FIELD_ROLES), user_model.is_active.is_(True))


def site_supervisors_clause(user_model, site_id: int):
    """SQL: the active supervisors assigned to a site (who run its work)."""
    from app.sites.models import SiteAssignment

    serving = select(SiteAssignment.user_id).where(SiteAssignment.site_id == site_id)
    return and_(
        user_model.is_active.is_(True),
        user_model.role == Role.SUPERVISOR,
        user_model.id.in_(serving),
    )


def supervisors_clause(user_model):
    """SQL: the active supervisors (the dashboard's filter by supervisor)."""
    return and_(user_model.is_active.is_(True), user_model.role == Role.SUPERVISOR)


def all_sites_staff_clause(user_model):
    """SQL: the active users who see every site (managers)."""
    return and_(user_model.is_active.is_(True), user_model.role.in_(ALL_SITES_ROLES))


def site_watchers_clause(user_model, site_id: int):
    """SQL: who hears about a site's serious events — its supervisors and every manager."""
    return or_(site_supervisors_clause(user_model, site_id), all_sites_staff_clause(user_model))


def pledge_signers_clause(user_model):
    """SQL: the users who must sign the confidentiality pledge."""
    return user_model.role.in_(PLEDGE_ROLES)


def briefable_by_name_clause(user_model):
    """SQL: field staff (guards and supervisors), whatever their state: whom a manager may
    address a briefing to by name, whose check-ins can be filtered by."""
    return user_model.role.in_(FIELD_ROLES)


# ---------------------------------------------------------------- vault
# The confidential vault (issue 12, DESIGN.md §5): guards see the operational records of their
# sites, supervisors the operational and restricted ones of their sites, managers all; every
# value only with a stated purpose, a restricted one only after a fresh step-up. Admins manage
# keys and users and can reveal nothing, but read the access log's metadata. Clients: nothing.
# A client's own records (not one site's) are the vault of everyone who serves one of its sites.

#: Roles that may see masked records and reveal values (all must sign the pledge).
VAULT_READERS = FIELD_ROLES | ALL_SITES_ROLES
#: Roles that may create, change and delete records (of the sites they serve).
VAULT_KEEPERS = frozenset({Role.SUPERVISOR}) | ALL_SITES_ROLES
#: Roles that may read restricted records (with purpose and step-up).
RESTRICTED_READERS = frozenset({Role.SUPERVISOR}) | ALL_SITES_ROLES
#: Roles that read every access log (admins: the metadata, which is all a log holds).
ALL_ACCESS_LOG_READERS = ALL_SITES_ROLES | {Role.ADMIN}


def can_open_vault(user) -> bool:
    """The vault's pages at all: guards, supervisors, managers."""
    return _role(user) in VAULT_READERS


def serves_vault_owner(
    user, *, site_id: int | None, client_site_ids: set[int], assigned_site_ids: set[int]
) -> bool:
    """The records of a site (`site_id`) or of a client (`client_site_ids`: its active sites):
    managers all; guards and supervisors the sites they serve, and the clients of those."""
    role = _role(user)
    if role in ALL_SITES_ROLES:
        return True
    if role not in FIELD_ROLES:
        return False
    if site_id is not None:
        return site_id in assigned_site_ids
    return bool(set(client_site_ids) & set(assigned_site_ids))


def can_see_sensitivity(user, sensitivity: str) -> bool:
    """Restricted records (alarm codes, personal data) are not a guard's, not even masked."""
    if sensitivity == "restricted":
        return _role(user) in RESTRICTED_READERS
    return _role(user) in VAULT_READERS


def can_reveal(user, record, *, client_site_ids: set[int], assigned_site_ids: set[int]) -> bool:
    """Reveal (with a purpose) a record of an owner one serves, of a sensitivity one may read.
    The pledge and, for restricted records, a fresh step-up are asked on top."""
    return can_see_sensitivity(user, record.sensitivity) and serves_vault_owner(
        user,
        site_id=record.site_id,
        client_site_ids=client_site_ids,
        assigned_site_ids=assigned_site_ids,
    )


def reveal_needs_step_up(record) -> bool:
    """Restricted values need a proof of identity within the last minutes (stepup.py)."""
    return record.sensitivity == "restricted"


def can_manage_vault(
    user, *, site_id: int | None, client_site_ids: set[int], assigned_site_ids: set[int]
) -> bool:
    """Create, change and delete records: supervisors of the owner's sites, managers."""
    return _role(user) in VAULT_KEEPERS and serves_vault_owner(
        user,
        site_id=site_id,
        client_site_ids=client_site_ids,
        assigned_site_ids=assigned_site_ids,
    )


def can_read_access_logs(user) -> bool:
    """Access-log pages: supervisors (their sites'), managers and admins (all, metadata)."""
    return _role(user) in ALL_ACCESS_LOG_READERS | {Role.SUPERVISOR}


def sees_all_access_logs(user) -> bool:
    return _role(user) in ALL_ACCESS_LOG_READERS


def can_read_owner_access_log(
    user, *, site_id: int | None, client_site_ids: set[int], assigned_site_ids: set[int]
) -> bool:
    """The access log of a site's or a client's records (and of one record)."""
    role = _role(user)
    if role in ALL_ACCESS_LOG_READERS:
        return True
    return role == Role.SUPERVISOR and serves_vault_owner(
        user,
        site_id=site_id,
        client_site_ids=client_site_ids,
        assigned_site_ids=assigned_site_ids,
    )


def can_read_user_access_log(user) -> bool:
    """One person's accesses across all sites: managers and admins."""
    return _role(user) in ALL_ACCESS_LOG_READERS


def visible_sensitivities(user) -> tuple[str, ...]:
    """The sensitivities whose (masked) records a user's lists show."""
    role = _role(user)
    if role in RESTRICTED_READERS:
        return ("operational", "restricted")
    return ("operational",) if role in VAULT_READERS else ()


def access_log_scope_clause(user, access_model, *, assigned_site_ids: set[int], served_client_ids):
    """SQL over VaultAccess: the rows a user may read — managers and admins all, supervisors
    those of the sites they serve and of those sites' clients' own records."""
    role = _role(user)
    if role in ALL_ACCESS_LOG_READERS:
        return true()
    if role != Role.SUPERVISOR:
        return false()
    return or_(
        access_model.site_id.in_(sorted(assigned_site_ids) or [-1]),
        and_(
            access_model.site_id.is_(None),
            access_model.client_id.in_(sorted(served_client_ids) or [-1]),
        ),
    )


# ---------------------------------------------------------------- key custody
# Sealed key bags a client deposits (issue 12 item 2). Keys open a client's premises: they are
# confidential like the vault's records. Supervisors of the site see, take out, return and
# check them; managers everywhere, and only they register bags. Guards, admins and clients
# never see them (DESIGN.md §5: admin manages the system, not clients' secrets).


def can_use_key_custody(user) -> bool:
    """The roles that handle key bags at all (where the site allows: `can_handle_keys`)."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_handle_keys(user, site, *, assigned_site_ids) -> bool:
    """See a site's key bags and their history, take out, return, check seals: the site's
    supervisors, managers; only while the site is active."""
    role = _role(user)
    if role is None or not site.is_active:
        return False
    return role in ALL_SITES_ROLES or (role == Role.SUPERVISOR and site.id in assigned_site_ids)


def can_manage_key_bags(user, site) -> bool:
    """Register a bag and change its details (or mark it handed back to the client): managers."""
    return _role(user) in ALL_SITES_ROLES and site.is_active


# ---------------------------------------------------------------- privacy
# 個人資料保護法 §8 (the collection notice), §27 with 施行細則 §12 (the periodic review of who
# may access confidential information, the incident register, the evidence pack).

#: Staff: the people the app records (check-ins, photos, access logs, sign-ins, training),
#: who are told so by the collection notice at their first sign-in.
STAFF_ROLES = frozenset({Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})


def must_read_privacy_notice(user) -> bool:
    """Every staff member acknowledges the current collection notice before working."""
    return _role(user) in STAFF_ROLES


def can_read_privacy_notice(user) -> bool:
    """The notice is addressed to staff; it stays readable from their account page."""
    return _role(user) in STAFF_ROLES


def can_review_permissions(user) -> bool:
    """Who may access each site's confidential information, and marking it reviewed: managers."""
    return _role(user) in ALL_SITES_ROLES


def can_manage_privacy_incidents(user) -> bool:
    """The personal-data incident register: managers only."""
    return _role(user) in ALL_SITES_ROLES


def can_download_evidence_pack(user) -> bool:
    """The evidence pack for an audit (施行細則 §12): managers only."""
    return _role(user) in ALL_SITES_ROLES


def vault_access_level(user, site_id: int, *, assigned_site_ids) -> str | None:
    """What of a site's confidential information the user may reach (DESIGN.md §5), before
    purpose, pledge and step-up: "all" (managers; supervisors where assigned), "operational"
    (guards where assigned) or None. `vault_readers_clause` is the same rule in SQL."""
    role = _role(user)
    if role in ALL_SITES_ROLES:
        return "all"
    if role in FIELD_ROLES and site_id in assigned_site_ids:
        return "all" if role == Role.SUPERVISOR else "operational"
    return None


def vault_readers_clause(user_model, site_id: int):
    """SQL: the active users who may reach a site's confidential information — its assigned
    guards and supervisors, and every manager (the list form of `vault_access_level`)."""
    from app.sites.models import SiteAssignment

    serving = select(SiteAssignment.user_id).where(SiteAssignment.site_id == site_id)
    return and_(
        user_model.is_active.is_(True),
        or_(
            user_model.role.in_(ALL_SITES_ROLES),
            and_(user_model.role.in_(FIELD_ROLES), user_model.id.in_(serving)),
        ),
    )


# ---------------------------------------------------------------- arm/disarm records (設定/解除)
# The site's supervisors and managers read and record them (a guard's work is elsewhere);
# managers connect the monitoring centre; the registry (admin) keeps the opening hours.


def can_use_arming(user) -> bool:
    """The roles that read and record arm/disarm events at all (where `can_record_arming`)."""
    return _role(user) in (ALL_SITES_ROLES | {Role.SUPERVISOR})


def can_view_arming(user, site, *, assigned_site_ids) -> bool:
    """A site's arm/disarm events: its supervisors and managers, while the site is active."""
    return site.is_active and _works_at(user, site.id, assigned_site_ids, {Role.SUPERVISOR})


def can_record_arming(user, site, *, assigned_site_ids) -> bool:
    """Enter an event by hand or import it for a site: the same people who read them."""
    return can_view_arming(user, site, assigned_site_ids=assigned_site_ids)


def can_manage_arming_integrations(user) -> bool:
    """Connect a monitoring centre (a token for its sites), and revoke it: managers."""
    return _role(user) in ALL_SITES_ROLES


def can_edit_opening_hours(user) -> bool:
    """A site's opening hours are registry data: the administrator's, like the site itself."""
    return can_edit_registry(user)


def can_view_opening_hours(user, site, *, assigned_site_ids) -> bool:
    """The hours page: who edits them, and who reads the site's events."""
    return can_edit_opening_hours(user) or can_view_arming(
        user, site, assigned_site_ids=assigned_site_ids
    )


def arming_sites_clause(user):
    """SQL over `Site`: the sites whose events the user may import — `can_record_arming`."""
    from app.sites.models import Site, SiteAssignment

    role = _role(user)
    active = Site.is_active.is_(True)
    if role in ALL_SITES_ROLES:
        return active
    if role == Role.SUPERVISOR:
        assigned = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        return and_(active, Site.id.in_(assigned))
    return false()


# ---------------------------------------------------------------- the client portal
# Issue 14 item 4. A client user (業主) reads, for his own client's active sites only, what the
# company released to him: control-record sheets, the summaries of the incidents it chose to
# share, the open repair tickets of the site's systems. Nothing of the staff's pages.


def can_use_portal(user) -> bool:
    """The portal's pages at all: users of a client company."""
    return _role(user) in CLIENT_ROLES and user.client_id is not None


def can_view_portal_site(user, site) -> bool:
    """A site's portal page: his own client's sites, while active (`portal_sites_clause`)."""
    return can_use_portal(user) and site.is_active and site.client_id == user.client_id


def portal_sites_clause(user):
    """SQL over `Site`: the sites whose portal pages the user may open (`can_view_portal_site`)."""
    from app.sites.models import Site

    if not can_use_portal(user):
        return false()
    return and_(Site.is_active.is_(True), Site.client_id == user.client_id)


def can_share_incident(user, incident) -> bool:
    """Share an incident's summary with the client, change it, stop sharing it: managers.
    Like releasing a control-record sheet (DESIGN.md §5), what reaches the client is the
    manager's decision; the site's supervisor reports and works the incident."""
    return _role(user) in ALL_SITES_ROLES


# ---------------------------------------------------------------- control-record sheets
# Supervisors prepare their sites' sheets; managers approve, return, release and correct any;
# a client's users read (and sign for) only the released sheets of their own client.

SHEET_READERS = frozenset({Role.SUPERVISOR, Role.CLIENT}) | ALL_SITES_ROLES


def can_list_sheets(user) -> bool:
    return _role(user) in SHEET_READERS


def can_prepare_sheets(user) -> bool:
    """Who may prepare a month's sheet at all (supervisors for their sites, managers)."""
    return _role(user) in ({Role.SUPERVISOR} | ALL_SITES_ROLES)


def can_prepare_sheet(user, site, *, assigned_site_ids: set[int]) -> bool:
    """A site's sheet: its supervisors, managers; while the site is active."""
    return site.is_active and _works_at(user, site.id, assigned_site_ids, {Role.SUPERVISOR})


def can_prepare_client_sheet(user) -> bool:
    """A client's roll-up over all its sites: managers."""
    return _role(user) in ALL_SITES_ROLES


def can_view_sheet(user, sheet, *, assigned_site_ids: set[int]) -> bool:
    """Managers every sheet; supervisors their sites' site sheets; a client's users the
    released sheets of their own client. `visible_sheets_clause` is the same rule in SQL."""
    role = _role(user)
    if role in ALL_SITES_ROLES:
        return True
    if role == Role.SUPERVISOR:
        return sheet.site_id is not None and sheet.site_id in assigned_site_ids
    if role == Role.CLIENT:
        return (
            user.client_id is not None
            and sheet.client_id == user.client_id
            and sheet.released_at is not None
        )
    return False


def can_edit_sheet_remarks(user, sheet, *, assigned_site_ids: set[int]) -> bool:
    """The remarks, while the sheet is prepared or returned: who may prepare it."""
    if sheet.status not in ("prepared", "returned"):
        return False
    if sheet.site_id is None:
        return can_prepare_client_sheet(user)
    return _works_at(user, sheet.site_id, assigned_site_ids, {Role.SUPERVISOR})


def can_review_sheets(user) -> bool:
    """Approve, return, release and correct sheets: managers."""
    return _role(user) in ALL_SITES_ROLES


def can_approve_sheet(user, sheet) -> bool:
    return can_review_sheets(user) and sheet.status == "prepared"


def can_return_sheet(user, sheet) -> bool:
    return can_review_sheets(user) and sheet.status == "prepared"


def can_release_sheet(user, sheet) -> bool:
    return can_review_sheets(user) and sheet.status == "approved"


def can_correct_sheet(user, sheet) -> bool:
    """A frozen sheet is never edited: a correction is a new version with a reason."""
    return can_review_sheets(user) and sheet.status in ("approved", "released", "acknowledged")


def can_acknowledge_sheets(user) -> bool:
    return _role(user) == Role.CLIENT


def can_acknowledge_sheet(user, sheet) -> bool:
    """The client's users sign for a released sheet of their own client (簽收)."""
    return (
        can_acknowledge_sheets(user)
        and user.client_id is not None
        and sheet.client_id == user.client_id
        and sheet.status == "released"
    )


def visible_sheets_clause(user):
    """SQL over `ControlRecordSheet`: the list form of `can_view_sheet`."""
    from app.records.models import ControlRecordSheet
    from app.sites.models import SiteAssignment

    role = _role(user)
    if role in ALL_SITES_ROLES:
        return true()
    if role == Role.SUPERVISOR:
        assigned = select(SiteAssignment.site_id).where(SiteAssignment.user_id == user.id)
        return ControlRecordSheet.site_id.in_(assigned)
    if role == Role.CLIENT and user.client_id is not None:
        return and_(
            ControlRecordSheet.client_id == user.client_id,
            ControlRecordSheet.released_at.is_not(None),
        )
    return false()


def client_users_clause(user_model, client_id: int):
    """SQL: the active users of a client company (who receive its released sheets)."""
    return and_(
        user_model.is_active.is_(True),
        user_model.role.in_(CLIENT_ROLES),
        user_model.client_id == client_id,
    )
