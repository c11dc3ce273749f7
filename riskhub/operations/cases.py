"""Creating cases and finding people in them without decrypting the whole table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from riskhub import audit
from riskhub.crypto import normalise_phone
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.base import field_cipher, utcnow
from riskhub.models.cases import Case, CaseAgency, CaseStatus, Person, PersonRole, ReferenceCounter, SurvivorContact


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
    """What a user outside a case may learn: that it exists and which agencies hold it."""

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
    person.given_name = details.given_name.strip()
    person.family_name = details.family_name.strip()
    person.date_of_birth_text = details.date_of_birth.isoformat() if details.date_of_birth else None
    person.identity_index = field_cipher().blind_index(
        "person-identity", Person.identity_key(details.given_name, details.family_name, details.date_of_birth)
    )
    return person


def _set_contact(case: Case, details: ContactDetails) -> SurvivorContact:
    contact = SurvivorContact()
    case.survivor_contact = contact
    contact.address = details.address.strip()
    contact.phone = details.phone.strip()
    contact.email = details.email.strip()
    contact.safe_contact = details.safe_contact.strip()
    contact.do_not_contact = details.do_not_contact.strip()
    phone = normalise_phone(details.phone)
    contact.phone_index = field_cipher().blind_index("phone", phone) if phone else None
    return contact


def create_case(
    *,
    creator: User,
    survivor: PersonDetails,
    perpetrators: list[PersonDetails],
    contact: ContactDetails,
) -> Case:
    """Open a case for a survivor; the creator's agency is involved from the start."""
    case = Case(reference=next_reference(), status=CaseStatus.OPEN, created_by_agency_id=creator.agency_id)
    db.session.add(case)
    _add_person(case, PersonRole.SURVIVOR, survivor)
    for details in perpetrators:
        _add_person(case, PersonRole.PERPETRATOR, details)
    _set_contact(case, contact)
    case.involvements.append(CaseAgency(agency_id=creator.agency_id, added_by_id=creator.id))
    db.session.flush()
    audit.record("case.create", actor=audit.actor_for(creator), object_type="case",
                 object_id=case.id, case_ref=case.reference,
                 sections=("summary", "people", "survivor_contact"))
    return case


def find_people(given_name: str, family_name: str, date_of_birth: date | None) -> list[Person]:
    """People whose normalised name and date of birth match exactly, confirmed after decryption."""
    wanted = Person.identity_key(given_name, family_name, date_of_birth)
    indexes = field_cipher().blind_index_candidates("person-identity", wanted)
    found = db.session.scalars(select(Person).where(Person.identity_index.in_(indexes)))
    return [p for p in found if p.own_identity_key() == wanted]


def possible_duplicates(details: PersonDetails) -> list[PossibleDuplicate]:
    """Existing cases with this person in them, described only by reference and agencies."""
    cases = {p.case_id: p.case for p in find_people(details.given_name, details.family_name, details.date_of_birth)}
    results = []
    for case in sorted(cases.values(), key=lambda c: c.reference):
        agencies = db.session.scalars(
            select(Agency.name).join(CaseAgency, CaseAgency.agency_id == Agency.id)
            .where(CaseAgency.case_id == case.id).order_by(Agency.name)
        )
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
    audit.record("case.involve", actor=audit.actor_for(by), object_type="case", object_id=case.id,
                 case_ref=case.reference, purpose=f"agency:{agency.id}")
