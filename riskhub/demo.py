"""Demo data: agencies of every kind, a user for every role, and a handful of cases.

All of it goes through the operations layer, so it is encrypted, indexed and logged exactly
as real data is. People and places are invented.
"""

from __future__ import annotations

import os
import secrets
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, Role, User
from riskhub.models.cases import Case
from riskhub.models.events import EventKind
from riskhub.models.meetings import AttendanceKind
from riskhub.models.partnerships import Category, CooperationModel, FlowDirection
from riskhub.models.referrals import Consent, ReferralReason
from riskhub.operations import (
    accounts,
    actions,
    assessments,
    cases,
    events,
    meeting_run,
    meetings,
    partnerships,
    referrals,
)

AGENCIES = [
    ("Northshire Police", AgencyKind.POLICE),
    ("Northshire IDVA Service", AgencyKind.SURVIVOR_SUPPORT),
    ("Safer Futures Programme", AgencyKind.PERPETRATOR_PROGRAMME),
    ("Northshire Children's Services", AgencyKind.CHILDRENS_SERVICES),
    ("Northshire Health Trust", AgencyKind.HEALTH),
    ("Northshire Housing", AgencyKind.HOUSING),
    ("Northshire Probation", AgencyKind.PROBATION),
]

USERS = [
    ("admin@demo.riskhub.test", "Amira Admin", "Northshire Police", {Role.ADMIN}),
    ("chair@demo.riskhub.test", "Chloe Chair", "Northshire Police", {Role.CHAIR, Role.PRACTITIONER}),
    ("auditor@demo.riskhub.test", "Aled Auditor", "Northshire Health Trust", {Role.AUDITOR}),
    ("idva@demo.riskhub.test", "Isla Idva", "Northshire IDVA Service", {Role.PRACTITIONER}),
    ("programme@demo.riskhub.test", "Pete Programme", "Safer Futures Programme", {Role.PRACTITIONER}),
    ("police@demo.riskhub.test", "Priya Police", "Northshire Police", {Role.PRACTITIONER}),
    ("children@demo.riskhub.test", "Cai Children", "Northshire Children's Services", {Role.PRACTITIONER}),
]

CASES = [
    (("Siobhán", "O'Neill", date(1989, 4, 12)), ("Darren", "Holt", date(1986, 9, 3)),
     cases.ContactDetails("14 Larch Close, Northtown NT4 2QP", "07700 900111", "",
                          "Weekdays 10:00-14:00 while he is at work", "Home landline")),
    (("Amara", "Okafor-Smith", date(1995, 1, 30)), ("Kyle", "Brennan", date(1993, 6, 21)),
     cases.ContactDetails("Refuge address held by IDVA service", "07700 900222", "",
                          "Text first; call only if she replies", "Her mother's phone")),
    (("Zofia", "Wiśniewska", date(1978, 11, 5)), ("Marek", "Wiśniewski", date(1975, 2, 17)),
     cases.ContactDetails("Flat 3, 22 Quay Street, Porthaven PH1 7AB", "07700 900333", "",
                          "Polish interpreter; mornings only", "Letters to the house")),
    (("Fatima", "Rahman", date(2001, 8, 9)), ("Imran", "Qureshi", date(1999, 3, 14)),
     cases.ContactDetails("Staying with a friend: ask IDVA", "07700 900444", "",
                          "Through her health visitor", "Family members")),
    (("Jo", "Mackenzie", date(1984, 12, 1)), ("Stuart", "Mackenzie", date(1982, 7, 28)),
     cases.ContactDetails("5 Heather Row, Glenby GB3 9LL", "07700 900555", "",
                          "Work phone, lunchtimes", "Shared email account")),
]

CASE_AGENCIES = ["Northshire IDVA Service", "Northshire Police", "Safer Futures Programme"]


SURVIVOR_YES_COUNTS = [16, 11, 7, 14, 9]
PERPETRATOR_LEVELS = ["high", "medium", "medium", "high", "low"]


def _demo_history(case: Case, number: int, idva: User, programme: User) -> None:
    """Assessments from both services, programme events and referrals for one demo case."""
    survivor_form = assessments.current_form("survivor")
    yes = SURVIVOR_YES_COUNTS[number]
    answers = {item.id: ("yes" if i < yes else "no") for i, item in enumerate(survivor_form.items)}
    today = date.today()
    assessments.record_assessment(case, survivor_form, assessments.Submission(
        assessed_on=today, answers=answers, sources={}, police_callouts=number + 2,
    ), assessor=idva)
    perpetrator_form = assessments.current_form("perpetrator")
    ratings = {item.id: str((i + number) % 3) for i, item in enumerate(perpetrator_form.items)}
    assessments.record_assessment(case, perpetrator_form, assessments.Submission(
        assessed_on=today, answers=ratings, sources={}, judgement_level=PERPETRATOR_LEVELS[number],
        firearms_access="no",
    ), assessor=programme)
    events.record_event(case, EventKind.ENROLLED, today, "Attended the assessment session", by=programme)
    if number in (1, 3):
        events.record_event(case, EventKind.MISSED, today, "No reason given", by=programme)
    if number in (0, 1, 3):
        referrals.refer_case(case, by=idva, reasons={ReferralReason.PROFESSIONAL_JUDGEMENT},
                             consent=Consent.GIVEN)


def _demo_partnership(agencies: dict[str, Agency], admin: User) -> None:
    """The programme and the IDVA service in partnership, under a protocol in force."""
    programme, idva = agencies["Safer Futures Programme"], agencies["Northshire IDVA Service"]
    partnerships.create_partnership(partnerships.PartnershipPlan(
        name="Safer Futures with Northshire IDVA", programme_agency_id=programme.id,
        service_agency_ids=frozenset({idva.id}), model=CooperationModel.EXTERNAL, max_days_to_offer=7,
        contacts={"programme_contact": "Programme manager", "service_contact": "Partner support lead"},
        matrix={"contacts_partner": "IDVA service, partner support worker",
                "informs_survivor": "IDVA service"},
    ), by=admin)
    flows = frozenset((c, FlowDirection.TO_SURVIVOR_SIDE) for c in (
        Category.ATTENDANCE, Category.NON_COMPLIANCE, Category.RISK_EVENTS, Category.COMPLETION)) | {
        (Category.PARTNER_CONTACT_STATUS, FlowDirection.TO_PROGRAMME)}  # whether it is in place, nothing more
    partnerships.create_protocol(partnerships.ProtocolPlan(
        title="Northshire programme information-sharing protocol",
        party_agency_ids=frozenset(a.id for a in agencies.values()),
        effective_from=date.today() - timedelta(days=90), review_on=date.today() + timedelta(days=275),
        legal_basis="safeguarding", flows=flows,
        terms={"consent_rules": "Partner consent is sought unless asking would be unsafe."},
    ), by=admin)


def _demo_meetings(users: dict[str, User], agencies: dict[str, Agency]) -> None:
    """A closed meeting with minutes and actions (one overdue), and the next one with its agenda."""
    chair, police = users["chair@demo.riskhub.test"], users["police@demo.riskhub.test"]
    invited = frozenset(a.id for a in agencies.values())
    start = datetime.combine(date.today() + timedelta(days=1), time(9, 30), tzinfo=UTC)
    plan = meetings.MeetingPlan(starts_at=start, duration_minutes=120, venue="Northtown Civic Centre, Room 2",
                                online_link="", agency_ids=invited)
    past = meetings.schedule_meetings(plan, chair=chair)[0]
    meetings.propose_agenda(past, by=chair)
    meeting_run.start_meeting(past, by=chair)
    for user in (chair, police, users["idva@demo.riskhub.test"], users["programme@demo.riskhub.test"]):
        row = meeting_run.add_attendance(past, AttendanceKind.ATTENDEE, user.agency, user=user, by=chair)
        meeting_run.confirm_confidentiality(past, row, by=chair)
    meeting_run.add_attendance(past, AttendanceKind.APOLOGY, agencies["Northshire Housing"], name="Hari Housing",
                               info_sent_on=date.today(), by=chair)
    first = next(i for i in past.items if i.case is not None)
    meeting_run.save_minutes(first, minutes="Risk rising since separation; he has been seen near her work.",
                             decisions="Police to flag the address; IDVA to review the safety plan.",
                             informs_survivor="IDVA", version=first.version, by=chair,
                             survivor_minutes="She plans to move to her sister's in the new year.",
                             survivor_version=first.survivor_minutes_version)
    overdue = actions.agree_action(first, actions.ActionPlan(
        "Flag the address for an urgent response", police.agency_id, police.id, start.date()), by=chair)
    actions.agree_action(first, actions.ActionPlan(
        "Review the safety plan with her", users["idva@demo.riskhub.test"].agency_id, None,
        start.date() + timedelta(days=30)), by=chair)
    actions.agree_action(first, actions.ActionPlan(
        "Support her application for a place at the Eastvale refuge", users["idva@demo.riskhub.test"].agency_id,
        None, start.date() + timedelta(days=14), survivor_only=True), by=chair)
    meeting_run.mark_heard(first, by=chair)
    meeting_run.close_meeting(past, by=chair)
    # Demo history: that meeting took place three weeks ago, so its first action is now overdue.
    past.starts_at = start - timedelta(days=22)
    overdue.deadline = date.today() - timedelta(days=7)
    upcoming = meetings.schedule_meetings(
        meetings.MeetingPlan(starts_at=start + timedelta(days=6), duration_minutes=180,
                             venue="Northtown Civic Centre, Room 2", online_link="", agency_ids=invited),
        chair=chair)[0]
    meetings.propose_agenda(upcoming, by=chair)


def load_demo_data(logins_file: Path) -> list[str]:
    """Create the demo data once; return the login lines (from the file on later runs)."""
    if accounts.find_user_by_email(USERS[0][0]) is not None:
        if logins_file.exists():
            return logins_file.read_text().splitlines()
        return ["Demo data is loaded, but instance/demo-logins.txt is missing: reset passwords as admin"]
    agencies = {name: accounts.create_agency(name, kind, actor=audit.SYSTEM) for name, kind in AGENCIES}
    lines, users = [], {}
    for email, name, agency, roles in USERS:
        password = "-".join(secrets.token_hex(3) for _ in range(4))
        users[email] = accounts.create_user(agency=agencies[agency], email=email, name=name, roles=roles,
                                            password=password, actor=audit.SYSTEM)
        lines.append(f"{email:32} {password}   ({', '.join(sorted(r.value for r in roles))}; {agency})")
    idva = users["idva@demo.riskhub.test"]
    programme = users["programme@demo.riskhub.test"]
    _demo_partnership(agencies, users["admin@demo.riskhub.test"])
    for number, (survivor, perpetrator, contact) in enumerate(CASES):
        case = cases.create_case(
            creator=idva,
            survivor=cases.PersonDetails(*survivor),
            perpetrators=[cases.PersonDetails(*perpetrator)],
            contact=contact,
            survivor_profile=cases.SurvivorProfile(language="English" if number != 2 else "Polish",
                                                   interpreter_needed=number == 2),
            perpetrator_profile=cases.PerpetratorProfile(relationship="partner" if number % 2 else "ex_partner",
                                                         weapons_access="unknown"),
        )
        for name in CASE_AGENCIES[1:]:
            cases.involve_agency(case, agencies[name], by=idva)
        if number in (0, 3):
            cases.add_child(case, "Child", survivor[1], 4 + number, True, by=idva)
        _demo_history(case, number, idva, programme)
    _demo_meetings(users, agencies)
    db.session.commit()
    logins_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(logins_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return lines
