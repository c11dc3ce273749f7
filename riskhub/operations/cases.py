"""Creating cases and finding people in them without decrypting the whole table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError

from riskhub import audit, policy
from riskhub.crypto import normalise_phone
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.base import field_cipher, utcnow
from riskhub.models.cases import (
    Case,
    CaseAgency,
    CaseNote,
    CaseStatus,
    CaseStatusChange,
    CaseWorker,
    EmergencyAccess,
    Person,
    PersonRole,
    ReferenceCounter,
    SurvivorContact,
    WorkerSide,
)
from riskhub.operations import OperationError, check_version
from riskhub.operations.events import open_alerts_for_joining_agency, opened_without_events


@dataclass(frozen=True)
class PersonDetails:
    given_name: str
    family_name: str
    date_of_birth: date | None


@dataclass(frozen=True)
class ContactDetails:
    address: str = ""
    phone: str = ""
    email: str = ""
    safe_contact: str = ""
    do_not_contact: str = ""


@dataclass(frozen=True)
class PossibleDuplicate:
    """What a user outside a case may learn: that it exists and, where the policy allows, which
    agencies hold it (empty otherwise)."""

    reference: str
    agencies: tuple[str, ...]


def next_reference(year: int | None = None) -> str:
    """Issue the next readable reference for the year, e.g. RH-2026-0042."""
    year = year or utcnow().year
    prefix = current_app.config["CASE_REFERENCE_PREFIX"]
    number = db.session.execute(
        update(ReferenceCounter)
        .where(ReferenceCounter.year == year)
        .values(last=ReferenceCounter.last + 1)
        .returning(ReferenceCounter.last)
    ).scalar()
    if number is None:
        try:
            with db.session.begin_nested():
                db.session.add(ReferenceCounter(year=year, last=1))
            number = 1
        except IntegrityError:  # another request created the year's counter first
            return next_reference(year)
    return f"{prefix}-{year}-{number:04d}"


def _add_person(case: Case, role: PersonRole, details: PersonDetails) -> Person:
    person = Person(role=role)
    case.people.append(person)
    _set_identity(person, details)
    return person


def _set_identity(person: Person, details: PersonDetails) -> None:
    person.given_name = details.given_name.strip()
    person.family_name = details.family_name.strip()
    person.date_of_birth_text = details.date_of_birth.isoformat() if details.date_of_birth else None
    person.identity_index = field_cipher().blind_index(
        "person-identity", Person.identity_key(details.given_name, details.family_name, details.date_of_birth)
    )


def _set_contact(case: Case, details: ContactDetails) -> SurvivorContact:
    contact = SurvivorContact()
    case.survivor_contact = contact
    _fill_contact(contact, details)
    return contact


def _fill_contact(contact: SurvivorContact, details: ContactDetails) -> None:
    contact.address = details.address.strip()
    contact.phone = details.phone.strip()
    contact.email = details.email.strip()
    contact.safe_contact = details.safe_contact.strip()
    contact.do_not_contact = details.do_not_contact.strip()
    phone = normalise_phone(details.phone)
    contact.phone_index = field_cipher().blind_index("phone", phone) if phone else None


@dataclass(frozen=True)
class PerpetratorProfile:
    relationship: str = ""
    address: str = ""
    weapons_access: str = ""  # yes / no / unknown (Istanbul Convention article 51)


def create_case(
    *,
    creator: User,
    survivor: PersonDetails,
    perpetrators: list[PersonDetails],
    contact: ContactDetails,
    survivor_profile: SurvivorProfile | None = None,
    perpetrator_profile: PerpetratorProfile | None = None,
) -> Case:
    """Open a case for a survivor; the creator's agency is involved from the start."""
    # A new case has no workers yet: said here, naming the first is not a query for the others.
    case = Case(reference=next_reference(), status=CaseStatus.OPEN, created_by_agency_id=creator.agency_id,
                workers=[])
    db.session.add(case)
    survivor_row = _add_person(case, PersonRole.SURVIVOR, survivor)
    if survivor_profile is not None:
        survivor_row.details = _profile_dict(survivor_profile)
    for details in perpetrators:
        person = _add_person(case, PersonRole.PERPETRATOR, details)
        if perpetrator_profile is not None:
            person.details = _profile_dict(perpetrator_profile)
    _set_contact(case, contact)
    case.involvements.append(CaseAgency(agency_id=creator.agency_id, added_by_id=creator.id))
    case.status_history.append(CaseStatusChange(status=CaseStatus.OPEN, by_user_id=creator.id))
    db.session.flush()
    opened_without_events(case.id)
    audit.record("case.create", actor=audit.actor_for(creator), object_type="case",
                 object_id=case.id, case_ref=case.reference,
                 sections=("summary", "people", "survivor_contact"))
    side = policy.worker_side_for(policy.viewer_of(creator))
    if side is not None:
        assign_worker(case, creator, WorkerSide(side), by=creator)
    return case


def _profile_dict(profile: Any) -> dict[str, Any]:
    return {k: v for k, v in profile.__dict__.items() if v not in ("", None, False)}


def find_people(given_name: str, family_name: str, date_of_birth: date | None) -> list[Person]:
    """People whose normalised name and date of birth match exactly, confirmed after decryption."""
    return [p for _, p in people_with_identities({Person.identity_key(given_name, family_name, date_of_birth)})]


def people_with_identities(wanted: set[str]) -> list[tuple[str, Person]]:
    """(identity key, person) for everyone whose identity key (`Person.identity_key`) is one of
    `wanted`: found by blind index in one query, confirmed after decryption."""
    cipher = field_cipher()
    indexes = [index for key in sorted(wanted) for index in cipher.blind_index_candidates("person-identity", key)]
    keyed = ((p.own_identity_key(), p) for p in db.session.scalars(select(Person).where(
        Person.identity_index.in_(indexes))))
    return [(key, p) for key, p in keyed if key in wanted]


def possible_duplicates(details: PersonDetails, *, name_agencies: bool) -> list[PossibleDuplicate]:
    """Existing cases with this person in them, described only by reference and, if
    `name_agencies` (`policy.may_see_holding_agencies`), the agencies holding them."""
    cases = {p.case_id: p.case for p in find_people(details.given_name, details.family_name, details.date_of_birth)}
    results = []
    for case in sorted(cases.values(), key=lambda c: c.reference):
        agencies = db.session.scalars(
            select(Agency.name).join(CaseAgency, CaseAgency.agency_id == Agency.id)
            .where(CaseAgency.case_id == case.id).order_by(Agency.name)
        ) if name_agencies else ()
        results.append(PossibleDuplicate(case.reference, tuple(agencies)))
    return results


def find_cases_by_phone(phone: str) -> list[Case]:
    """Cases whose survivor contact phone matches, confirmed after decryption.

    Needs the survivor contact key, so only survivor-side requests can run it.
    """
    digits = normalise_phone(phone)
    if not digits:
        return []
    indexes = field_cipher().blind_index_candidates("phone", digits)
    contacts = db.session.scalars(select(SurvivorContact).where(SurvivorContact.phone_index.in_(indexes)))
    return [c.case for c in contacts if normalise_phone(c.phone or "") == digits]


def involve_agency(case: Case, agency: Agency, *, by: User) -> None:
    """Record that an agency is involved in a case (its staff may then see it)."""
    if agency.id in case.agency_ids:
        return
    case.involvements.append(CaseAgency(agency_id=agency.id, added_by_id=by.id))
    db.session.flush()
    open_alerts_for_joining_agency(case, agency)
    audit.record("case.involve", actor=audit.actor_for(by), object_type="case", object_id=case.id,
                 case_ref=case.reference, purpose=f"agency:{agency.id}")


def change_status(case: Case, status: CaseStatus, *, by: User) -> None:
    """Move a case to a new status, keeping the history."""
    if case.status == status:
        return
    case.status = status
    # Not `case.status_history.append`: that would load the whole history to add one step.
    db.session.add(CaseStatusChange(case=case, status=status, by_user_id=by.id))
    db.session.flush()
    audit.record("case.status", actor=audit.actor_for(by), object_type="case", object_id=case.id,
                 case_ref=case.reference, purpose=status.value)


@dataclass(frozen=True)
class SurvivorProfile:
    gender: str = ""
    language: str = ""
    interpreter_needed: bool = False
    ethnicity: str = ""
    disability: str = ""
    lgbt: str = ""
    pregnant: str = ""


def update_survivor(case: Case, details: PersonDetails, profile: SurvivorProfile, *, by: User,
                    version: int | None) -> None:
    """Correct the survivor's identity and profile, refusing a stale edit."""
    survivor = case.survivor
    if survivor is None:
        raise OperationError("This case has no survivor recorded")
    check_version(survivor, version)
    _set_identity(survivor, details)
    survivor.details = _profile_dict(profile)
    db.session.flush()
    audit.record("case.update", actor=audit.actor_for(by), object_type="person", object_id=survivor.id,
                 case_ref=case.reference, sections=("people", "survivor_details"))


def update_contact(case: Case, details: ContactDetails, *, by: User, version: int | None) -> None:
    """Correct the survivor contact compartment (survivor side only), refusing a stale edit."""
    contact = case.survivor_contact
    if contact is None:
        contact = _set_contact(case, details)
    else:
        check_version(contact, version)
        _fill_contact(contact, details)
    db.session.flush()
    audit.record("case.update", actor=audit.actor_for(by), object_type="survivor_contact",
                 object_id=contact.id, case_ref=case.reference, sections=("survivor_contact",))


def add_child(case: Case, given_name: str, family_name: str, age: int | None, in_household: bool,
              *, by: User) -> Person:
    child = _add_person(case, PersonRole.CHILD, PersonDetails(given_name, family_name, None))
    child.details = {"age": age, "in_household": in_household}
    db.session.flush()
    audit.record("case.child.add", actor=audit.actor_for(by), object_type="person", object_id=child.id,
                 case_ref=case.reference, sections=("people",))
    return child


def children_of(case: Case) -> list[Person]:
    return case.people_in_role(PersonRole.CHILD)


def take_emergency_access(case: Case, reason: str, *, by: User) -> EmergencyAccess:
    """Time-limited access for someone outside the case; the reason is kept for audit review."""
    if len(reason.strip()) < 20:
        raise OperationError("Explain in at least 20 characters why you need emergency access", "reason")
    hours = current_app.config["EMERGENCY_ACCESS_HOURS"]
    grant = EmergencyAccess(case_id=case.id, user_id=by.id, expires_at=utcnow() + timedelta(hours=hours))
    grant.reason = reason.strip()
    db.session.add(grant)
    db.session.flush()
    audit.record("case.emergency_access", actor=audit.actor_for(by), object_type="case", object_id=case.id,
                 case_ref=case.reference, purpose="emergency access (awaiting audit review)")
    return grant


def live_emergency_access(case_id: Any, user_id: Any) -> EmergencyAccess | None:
    return db.session.scalar(
        select(EmergencyAccess).where(EmergencyAccess.case_id == case_id, EmergencyAccess.user_id == user_id,
                                      EmergencyAccess.expires_at > utcnow())
        .order_by(EmergencyAccess.expires_at.desc()).limit(1)
    )


def assign_worker(case: Case, user: User, side: WorkerSide, *, by: User) -> None:
    """Name a worker for one side; the same person may never work both sides of a case."""
    existing = [(w.user_id, w.side.value) for w in case.workers]
    if policy.worker_conflict(user.id, side.value, existing):
        raise OperationError("The same person cannot support both the survivor and the person causing harm")
    if (user.id, side.value) in existing:
        return
    case.workers.append(CaseWorker(user_id=user.id, side=side))
    db.session.flush()
    audit.record("case.worker", actor=audit.actor_for(by), object_type="case", object_id=case.id,
                 case_ref=case.reference, purpose=f"{side.value} worker")


def add_note(case: Case, text: str, *, by: User, confidential: bool) -> CaseNote:
    """Add a note; survivor-confidential ones go under the survivor-only key."""
    if not text.strip():
        raise OperationError("Enter the note", "text")
    note = CaseNote(case_id=case.id, author_id=by.id, agency_id=by.agency_id, survivor_confidential=confidential)
    if confidential:
        note.confidential_body = text.strip()
    else:
        note.body = text.strip()
    db.session.add(note)
    db.session.flush()
    audit.record("case.note", actor=audit.actor_for(by), object_type="case_note", object_id=note.id,
                 case_ref=case.reference, sections=("confidential_notes" if confidential else "notes",))
    return note


@cache
def _notes_of_case(include_confidential: bool) -> Select[CaseNote]:
    query = select(CaseNote).where(CaseNote.case_id == bindparam("case_id"))
    if not include_confidential:
        query = query.where(CaseNote.survivor_confidential.is_(False))
    return query.order_by(CaseNote.created_at)


def notes_of(case: Case, *, include_confidential: bool) -> list[CaseNote]:
    """Notes in the order written; confidential ones only when the caller may see them."""
    return list(db.session.scalars(_notes_of_case(include_confidential), {"case_id": case.id}))


@cache
def _active_agency_names() -> Select[Any, str]:
    return select(Agency.id, Agency.name).where(Agency.active.is_(True)).order_by(Agency.name)


def agency_choices_to_invite(case: Case) -> list[tuple[str, str]]:
    """Active agencies not yet involved in the case, as (id, name) choices, read as two columns."""
    involved = case.agency_ids
    return [(str(agency_id), name) for agency_id, name in db.session.execute(_active_agency_names())
            if agency_id not in involved]
