"""Who may do what to which thing: pure functions, no Flask, no database.

Every authorisation decision in riskhub is made here and enforced by `riskhub.access`.
Views never compare roles themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from riskhub.crypto import BLIND_INDEX, CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.models.accounts import AgencyKind, Role

if TYPE_CHECKING:
    from riskhub.models.accounts import User

# Compartments of a case page; each view of one is named in the access log.
SECTION_SUMMARY = "summary"
SECTION_PEOPLE = "people"
SECTION_SURVIVOR_CONTACT = "survivor_contact"
SECTION_SURVIVOR_DETAILS = "survivor_details"  # equality data, language, pregnancy
SECTION_ASSESSMENTS = "assessments"  # levels and scores of both sides
SECTION_SURVIVOR_ASSESSMENT_DETAIL = "survivor_assessment_detail"  # her answers, sources, rationale
SECTION_PERPETRATOR_ASSESSMENT_DETAIL = "perpetrator_assessment_detail"
SECTION_CONFIDENTIAL_NOTES = "confidential_notes"
SECTION_NOTES = "notes"
SECTION_EVENTS = "programme_events"
SECTION_REFERRALS = "referrals"
SECTION_ACTIONS = "actions"
SECTION_SURVIVOR_ACTIONS = "survivor_actions"  # actions agreed as survivor-side only
SECTION_MINUTES = "minutes"
SECTION_SURVIVOR_MINUTES = "survivor_minutes"
SECTION_SHARING = "information_sharing"  # sharing records made on the perpetrator side
SECTION_SURVIVOR_SHARING = "survivor_sharing"  # sharing records made on the survivor side
SURVIVOR_ONLY_SECTIONS = frozenset({
    SECTION_SURVIVOR_CONTACT,
    SECTION_SURVIVOR_DETAILS,
    SECTION_SURVIVOR_ASSESSMENT_DETAIL,
    SECTION_CONFIDENTIAL_NOTES,
    SECTION_SURVIVOR_MINUTES,
    SECTION_SURVIVOR_SHARING,
    SECTION_SURVIVOR_ACTIONS,
})


@dataclass(frozen=True)
class Viewer:
    """The facts about a signed-in user that decisions depend on."""

    user_id: uuid.UUID
    agency_id: uuid.UUID
    agency_kind: AgencyKind
    roles: frozenset[Role]

    @property
    def perpetrator_facing(self) -> bool:
        return is_perpetrator_facing(self.agency_kind)


def viewer_of(user: User) -> Viewer:
    """The policy's view of a user account (its agency loaded or loadable)."""
    return Viewer(user_id=user.id, agency_id=user.agency_id, agency_kind=user.agency.kind, roles=user.roles)


def is_perpetrator_facing(kind: AgencyKind) -> bool:
    """Staff who work with the person causing harm: the firewall keeps survivor data from them."""
    return kind == AgencyKind.PERPETRATOR_PROGRAMME


def key_classes_for(viewer: Viewer) -> frozenset[str]:
    """The data classes whose keys a request by this viewer may use at all."""
    if viewer.perpetrator_facing:
        return frozenset({CASE_CONTENT, BLIND_INDEX})
    return frozenset({CASE_CONTENT, BLIND_INDEX, SURVIVOR_CONTACT})


def may_administer(viewer: Viewer) -> bool:
    return Role.ADMIN in viewer.roles


def admin_scope(viewer: Viewer) -> uuid.UUID | None:
    """The agency whose staff's accounts an admin manages, or None for every agency's. A
    perpetrator-facing admin (a programme's own manager) manages their own staff only: an account
    they could make or reset in a refuge or an IDVA service would be a way past the firewall."""
    return viewer.agency_id if viewer.perpetrator_facing else None


def may_manage_agencies(viewer: Viewer) -> bool:
    """Adding agencies and changing what kind they are decides which side of the firewall their
    staff are on: admins of every agency's accounts only."""
    return may_administer(viewer) and admin_scope(viewer) is None


def may_take_cases_off_agenda(viewer: Viewer) -> bool:
    """Taking a case off an agenda sends the survivor's referral back to the queue, and is refused
    once anything has been recorded on it at the meeting, survivor-side minutes and actions
    included. A perpetrator-facing chair is not asked to do it at all: a refusal that followed what
    the survivor side had recorded would tell them that something they cannot see exists, so the
    answer they get depends on who they are and nothing else."""
    return Role.CHAIR in viewer.roles and not viewer.perpetrator_facing


def may_see_holding_agencies(viewer: Viewer) -> bool:
    """Whether someone told that a case exists (a duplicate check, a case not shared with them)
    is also told which agencies hold it. A perpetrator-facing user is not: that a refuge, an IDVA
    service or a housing team holds her case says where she is or where she went for help; they
    are sent to the meeting's chair instead."""
    return not viewer.perpetrator_facing


def may_see_referral_queue(viewer: Viewer) -> bool:
    return Role.CHAIR in viewer.roles


def may_review_audit(viewer: Viewer) -> bool:
    return Role.AUDITOR in viewer.roles


def audit_scope(viewer: Viewer) -> uuid.UUID | None:
    """The agency whose staff's access-log entries an auditor reviews, or None for every agency's.
    A perpetrator-facing auditor (a programme's own information governance) reviews their own
    staff only: the rest of the log records survivor-side work, such as when her contact details
    changed, what came of a partner-contact call or that something was shared with a refuge."""
    return viewer.agency_id if viewer.perpetrator_facing else None


def may_work_cases(viewer: Viewer) -> bool:
    """Practitioners and chairs handle case content; auditors and admins alone do not."""
    return bool(viewer.roles & {Role.PRACTITIONER, Role.CHAIR})


def may_view_case(viewer: Viewer, involved_agency_ids: Iterable[uuid.UUID],
                  emergency_access: bool = False) -> bool:
    """Staff of an agency involved in the case (a legitimate relationship), or holding a
    live emergency grant for it."""
    if not may_work_cases(viewer):
        return False
    return viewer.agency_id in set(involved_agency_ids) or emergency_access


def may_take_emergency_access(viewer: Viewer, involved_agency_ids: Iterable[uuid.UUID]) -> bool:
    """Break-glass is for case workers outside the case; insiders need no grant."""
    return may_work_cases(viewer) and viewer.agency_id not in set(involved_agency_ids)


ASSESSING_AGENCIES = {
    "survivor": frozenset(k for k in AgencyKind if k != AgencyKind.PERPETRATOR_PROGRAMME),
    "perpetrator": frozenset({AgencyKind.PERPETRATOR_PROGRAMME, AgencyKind.PROBATION, AgencyKind.POLICE}),
}


def may_record_assessment(viewer: Viewer, side: str) -> bool:
    """Survivor-side assessments come from non-programme agencies; perpetrator-side ones from
    the programme, probation or police."""
    return Role.PRACTITIONER in viewer.roles and viewer.agency_kind in ASSESSING_AGENCIES.get(side, frozenset())


def may_record_programme_event(viewer: Viewer) -> bool:
    """Only programme staff record attendance, exclusion, disclosures and the like."""
    return Role.PRACTITIONER in viewer.roles and viewer.perpetrator_facing


def sees_event_alerts(viewer: Viewer) -> bool:
    """Programme events flow to the survivor side's case workers as alerts; never the other way,
    and never to an auditor or admin, who handle no case content."""
    return may_work_cases(viewer) and not viewer.perpetrator_facing


def may_write_confidential_notes(viewer: Viewer) -> bool:
    return not viewer.perpetrator_facing


def may_refer(viewer: Viewer) -> bool:
    return Role.PRACTITIONER in viewer.roles or Role.CHAIR in viewer.roles


def worker_side_for(viewer: Viewer) -> str | None:
    """Which side's worker a user may be: programme staff the perpetrator's, others the survivor's."""
    if viewer.perpetrator_facing:
        return "perpetrator"
    if viewer.agency_kind == AgencyKind.SURVIVOR_SUPPORT:
        return "survivor"
    return None


def worker_conflict(user_id: uuid.UUID, side: str, workers: Iterable[tuple[uuid.UUID, str]]) -> bool:
    """True when the user already works the other side of the case (one worker, one side)."""
    return any(uid == user_id and existing != side for uid, existing in workers)


def may_create_case(viewer: Viewer) -> bool:
    return may_work_cases(viewer)


def visible_sections(viewer: Viewer, requested: Iterable[str]) -> frozenset[str]:
    """The requested case sections this viewer may see; survivor-only ones never cross the firewall."""
    sections = frozenset(requested)
    if viewer.perpetrator_facing:
        sections -= SURVIVOR_ONLY_SECTIONS
    return sections


def may_view_section(viewer: Viewer, section: str) -> bool:
    return section in visible_sections(viewer, {section})


def may_see_survivor_actions(viewer: Viewer) -> bool:
    """Actions agreed as survivor-side only are listed, counted and copied to the survivor side only."""
    return may_view_section(viewer, SECTION_SURVIVOR_ACTIONS)


def may_schedule_meetings(viewer: Viewer) -> bool:
    """Chairs and coordinators schedule meetings, build agendas and run them."""
    return Role.CHAIR in viewer.roles


def meetings_limited_to_invitations_of(viewer: Viewer) -> uuid.UUID | None:
    """The agency whose invitations decide which meetings the viewer sees, or None for chairs,
    who see every meeting (lists of meetings' content filter by it in SQL)."""
    return None if may_schedule_meetings(viewer) else viewer.agency_id


def may_see_meeting(viewer: Viewer, invited_agency_ids: Iterable[uuid.UUID]) -> bool:
    """Chairs, and staff of agencies invited to the meeting (they receive the agenda list)."""
    limit = meetings_limited_to_invitations_of(viewer)
    return limit is None or (may_work_cases(viewer) and limit in set(invited_agency_ids))


def may_view_case_at_meeting(viewer: Viewer, invited_agency_ids: Iterable[uuid.UUID],
                             confirmed_confidentiality: bool) -> bool:
    """At the meeting every attending agency hears every case, once it has signed the
    confidentiality statement; nobody sees case content before that."""
    return confirmed_confidentiality and may_see_meeting(viewer, invited_agency_ids)


def may_update_action(viewer: Viewer, owner_agency_id: uuid.UUID, survivor_only: bool) -> bool:
    """The owner agency's staff report progress; chairs may record it for them. A survivor-side
    only action is never opened by a perpetrator-facing user."""
    if survivor_only and not may_see_survivor_actions(viewer):
        return False
    return viewer.agency_id == owner_agency_id or may_schedule_meetings(viewer)


def may_manage_partnerships(viewer: Viewer) -> bool:
    """Admins set up partnerships and protocols (what may flow between agencies): not a
    perpetrator-facing admin, whose own agency would be one side of them."""
    return may_administer(viewer) and not viewer.perpetrator_facing


def may_see_partnership(viewer: Viewer, member_agency_ids: Iterable[uuid.UUID]) -> bool:
    """Admins, chairs, and staff of the partnership's own agencies."""
    return (may_administer(viewer) or may_schedule_meetings(viewer)
            or (may_work_cases(viewer) and viewer.agency_id in set(member_agency_ids)))


def may_do_partner_contact(viewer: Viewer) -> bool:
    """Partner contact is survivor-side work."""
    return Role.PRACTITIONER in viewer.roles and viewer.agency_kind == AgencyKind.SURVIVOR_SUPPORT


def partner_contact_status_needs_protocol(viewer: Viewer) -> bool:
    """Whether partner contact is in place reaches a perpetrator-facing viewer only from a
    service whose protocol with their agency covers it: its change from in place to not tells
    them she withdrew, or that contact became unsafe."""
    return viewer.perpetrator_facing


def may_see_partner_contact_figures(viewer: Viewer) -> bool:
    """How partner contact is going (offers, who was reached, how fast) is survivor-side work: with
    few men enrolled, a change in a count can tell the programme what happened with one partner."""
    return not viewer.perpetrator_facing


def may_record_sharing(viewer: Viewer) -> bool:
    """Practitioners record what their agency shared, or decided not to share, about a case."""
    return Role.PRACTITIONER in viewer.roles
