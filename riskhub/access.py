"""The one gate: load the object, answer 404 or 403, ask the policy, write the access log.

Views call these helpers instead of querying case content or comparing roles themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from functools import cache

from flask import abort, request, session
from flask_login import current_user
from sqlalchemy import Select, bindparam, func, select
from werkzeug.exceptions import Forbidden

from riskhub import audit, policy, sqlite_lock
from riskhub.extensions import db, login_manager
from riskhub.models.accounts import User
from riskhub.models.cases import Case, CaseAgency
from riskhub.models.meetings import AgendaItem, Meeting
from riskhub.models.referrals import Referral
from riskhub.operations import accounts, load_collections
from riskhub.operations.cases import live_emergency_access
from riskhub.operations.meeting_run import has_confirmed


class CaseNotShared(Forbidden):
    """403 for a case the user's agency is not involved in: they may learn only that it exists,
    which agencies hold it (where the policy allows: `agencies` is empty otherwise), and that
    emergency access can be requested."""

    def __init__(self, reference: str, agencies: list[str], may_request_emergency: bool) -> None:
        super().__init__()
        self.reference = reference
        self.agencies = agencies
        self.may_request_emergency = may_request_emergency


@login_manager.user_loader
def _load_user(token: str) -> User | None:
    """Flask-Login keeps the server-side session token; the session row decides."""
    # Found before the request's own work, outside SQLite's writer turn; anything this
    # changes (the session's last activity, its end) is written in the request's transaction.
    with sqlite_lock.reading_first(db.session()):
        row = accounts.find_session(token)
    # Asking whether the session is still live is not activity that keeps it.
    user = accounts.resume_session(row, token, touch=request.endpoint != "auth.session_status")
    if user is None:
        session.clear()
    return user


def current_viewer() -> policy.Viewer:
    """The signed-in user as the policy sees them."""
    return policy.viewer_of(current_user)


def require(allowed: Callable[[policy.Viewer], bool], action: str) -> policy.Viewer:
    """Abort 403 (and log the denial) unless the policy allows this viewer the action."""
    viewer = current_viewer()
    if not allowed(viewer):
        audit.record(action, actor=audit.actor_for(current_user), outcome=audit.DENIED)
        abort(403)
    return viewer


@cache
def _case_by_reference() -> Select[Case]:
    return select(Case).where(Case.reference == bindparam("reference"))


def load_case(reference: str, sections: Iterable[str], action: str = "case.view",
              also: tuple[str, ...] = (),
              permission: tuple[Callable[[policy.Viewer], bool], str] | None = None) -> tuple[Case, frozenset[str]]:
    """Load a case for the current user, or abort 404/403; log which sections are shown.

    Returns the case and the sections this user may see; templates show only those. The case's
    people are read once the gate has let the user in, with the lists `also` names (the case
    page's workers and status history).
    `permission` is the rule for what the page does with the case (a form) and the action its
    refusal is logged as: a user it refuses gets 403 and only the refusal is logged, never a
    view of the case.
    """
    case = db.session.scalar(_case_by_reference(), {"reference": reference})
    if case is None:
        abort(404)
    load_collections(case, "involvements")  # the agencies the gate asks about
    viewer = current_viewer()
    actor = audit.actor_for(current_user)
    involved = viewer.agency_id in case.agency_ids
    grant = None if involved else live_emergency_access(case.id, viewer.user_id)
    if not policy.may_view_case(viewer, case.agency_ids, emergency_access=grant is not None):
        audit.record(action, actor=actor, outcome=audit.DENIED, object_type="case",
                     object_id=case.id, case_ref=case.reference)
        raise CaseNotShared(case.reference, sorted(i.agency.name for i in case.involvements)
                            if policy.may_see_holding_agencies(viewer) else [],
                            policy.may_take_emergency_access(viewer, case.agency_ids))
    if permission is not None:
        may_in_case(permission[0], case, permission[1])
    load_collections(case, "people", *also)  # read only past the gate
    shown = policy.visible_sections(viewer, sections)
    audit.record(action, actor=actor, object_type="case", object_id=case.id, case_ref=case.reference,
                 sections=shown, purpose="emergency access" if grant is not None else None)
    return case, shown


def earlier_case_reference(case: Case, earlier: Referral) -> str | None:
    """The reference of the case an earlier referral of the same pair was made in, for a page
    about `case`: given and logged against that case if the user's agency is involved in it;
    None where it is not, and the page gives only the earlier referral's date, "in another case".
    Either way the page shows something of that case, so either way it is logged against it."""
    if earlier.case_id == case.id:
        return case.reference
    other = earlier.case
    named = policy.may_view_case(current_viewer(), other.agency_ids)
    audit.record("case.repeat_of", actor=audit.actor_for(current_user), object_type="case",
                 object_id=other.id, case_ref=other.reference,
                 sections=(policy.SECTION_REFERRALS,) if named else (),
                 purpose=f"repeat in {case.reference}" if named else f"referral date only, repeat in {case.reference}")
    return other.reference if named else None


def earlier_cases_of_repeats(case: Case, referrals: Iterable[Referral]) -> dict[uuid.UUID, str | None]:
    """For each referral of `case` that repeats one made in another case: that case's reference
    where the user may see it (`earlier_case_reference`), else None."""
    return {referral.id: earlier_case_reference(case, referral.repeat_of) for referral in referrals
            if referral.repeat_of is not None and referral.repeat_of.case_id != case.id}


def may_in_case(allowed: Callable[[policy.Viewer], bool], case: Case, action: str) -> policy.Viewer:
    """Abort 403 (and log it against the case) unless the policy allows this action here."""
    viewer = current_viewer()
    if not allowed(viewer):
        audit.record(action, actor=audit.actor_for(current_user), outcome=audit.DENIED, object_type="case",
                     object_id=case.id, case_ref=case.reference)
        abort(403)
    return viewer


CASES_PER_PAGE = 50


def cases_for_viewer(page: int = 1) -> list[Case]:
    """One page of the cases the current user's agency is involved in, newest first (list
    pages show references only)."""
    viewer = current_viewer()
    if not policy.may_work_cases(viewer):
        return []
    return list(
        db.session.scalars(
            select(Case)
            .join(CaseAgency, CaseAgency.case_id == Case.id)
            .where(CaseAgency.agency_id == viewer.agency_id)
            .order_by(Case.created_at.desc(), Case.id)
            .limit(CASES_PER_PAGE)
            .offset((max(page, 1) - 1) * CASES_PER_PAGE)
        )
    )


def case_count_for_viewer() -> int:
    """How many cases the current user's agency is involved in (the dashboard), counted in SQL."""
    viewer = current_viewer()
    if not policy.may_work_cases(viewer):
        return 0
    return db.session.scalar(_case_count_of_agency(), {"agency_id": viewer.agency_id}) or 0


@cache
def _case_count_of_agency() -> Select[int]:
    return select(func.count()).select_from(CaseAgency).where(CaseAgency.agency_id == bindparam("agency_id"))


def load_case_at_meeting(meeting: Meeting, item: AgendaItem, sections: Iterable[str]) -> frozenset[str]:
    """The gate for case content on the meeting screen: invited agency, confidentiality
    confirmed, firewall applied; the view is logged against the case with the meeting."""
    viewer = current_viewer()
    actor = audit.actor_for(current_user)
    case = item.case
    confirmed = has_confirmed(meeting, current_user)
    if case is None or not policy.may_view_case_at_meeting(viewer, meeting.invited_agency_ids, confirmed):
        audit.record("meeting.case_view", actor=actor, outcome=audit.DENIED, object_type="meeting",
                     object_id=meeting.id, case_ref=case.reference if case else None)
        abort(403)
    load_collections(case, "people", "involvements")  # read only past the gate, as `load_case` does
    shown = policy.visible_sections(viewer, sections)
    audit.record("meeting.case_view", actor=actor, object_type="case", object_id=case.id, case_ref=case.reference,
                 sections=shown, purpose=f"meeting {meeting.reference}")
    return shown
