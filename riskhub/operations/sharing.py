"""Information-sharing records: what an agency shared about a case, with whom, why and on what
basis, and its decisions not to share. The free text is encrypted; the rest is for audit."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from flask import current_app
from sqlalchemy import Select, bindparam, select

from riskhub import audit, policy
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.base import utcnow
from riskhub.models.cases import Case
from riskhub.models.partnerships import Category, FlowDirection
from riskhub.models.sharing import SharingConsent, SharingDecision, SharingRecord
from riskhub.operations import OperationError
from riskhub.operations.partnerships import require_flow


def legal_bases() -> dict[str, str]:
    """SHARING_LEGAL_BASES: key -> label (a JSON object when it comes from the environment)."""
    value: Any = current_app.config["SHARING_LEGAL_BASES"]
    if isinstance(value, str):
        value = json.loads(value)
    if isinstance(value, list | tuple):
        value = {str(k): str(label) for k, label in value}
    return dict(value)


def basis_label(key: str | None) -> str:
    if not key:
        return "None given"
    return legal_bases().get(key, key.replace("_", " ").capitalize())


@dataclass(frozen=True)
class SharingDetails:
    decision: SharingDecision
    with_agency: Agency
    decided_on: date
    consent: SharingConsent
    legal_basis: str | None
    information: str
    reason: str
    category: Category | None = None  # needed when a perpetrator programme is on either side


def _check(details: SharingDetails, recorder: User) -> None:
    if details.with_agency.id == recorder.agency_id:
        raise OperationError("Choose another agency: this records sharing outside your own", "with_agency")
    if details.decided_on > utcnow().date():
        raise OperationError("The date cannot be in the future", "decided_on")
    if details.decision == SharingDecision.SHARED:
        if details.legal_basis not in legal_bases():
            raise OperationError("Choose the legal basis for sharing", "legal_basis")
        if not details.information.strip():
            raise OperationError("Say what information was shared", "information")
    if not details.reason.strip():
        field_message = ("Explain why it was shared" if details.decision == SharingDecision.SHARED
                         else "Explain why you decided not to share")
        raise OperationError(field_message, "reason")


def _check_protocol(case: Case, details: SharingDetails, sender: User) -> None:
    """Information to or from a perpetrator programme flows only along a protocol in force."""
    programme_sends = policy.is_perpetrator_facing(sender.agency.kind)
    if details.decision != SharingDecision.SHARED or not (
            programme_sends or policy.is_perpetrator_facing(details.with_agency.kind)):
        return
    if details.category is None:
        raise OperationError("Choose the kind of information shared", "category")
    require_flow(sender=sender, receivers=[details.with_agency.id], category=details.category,
                 direction=FlowDirection.TO_SURVIVOR_SIDE if programme_sends else FlowDirection.TO_PROGRAMME,
                 case_ref=case.reference)


def record_sharing(case: Case, details: SharingDetails, *, by: User) -> SharingRecord:
    """Record a decision to share or not; survivor-side records go under the survivor-only key."""
    _check(details, by)
    _check_protocol(case, details, by)
    survivor_side = not policy.is_perpetrator_facing(by.agency.kind)
    record = SharingRecord(
        case_id=case.id, decision=details.decision, with_agency_id=details.with_agency.id, agency_id=by.agency_id,
        recorded_by_id=by.id, decided_on=details.decided_on, consent=details.consent,
        legal_basis=details.legal_basis if details.decision == SharingDecision.SHARED else None,
        category=details.category if details.decision == SharingDecision.SHARED else None,
        survivor_side=survivor_side)
    record.set_text(details.information.strip(), details.reason.strip())
    db.session.add(record)
    db.session.flush()
    section = policy.SECTION_SURVIVOR_SHARING if survivor_side else policy.SECTION_SHARING
    audit.record("sharing.record", actor=audit.actor_for(by), object_type="sharing_record", object_id=record.id,
                 case_ref=case.reference, sections=(section,),
                 purpose=f"{details.decision.value} with agency:{details.with_agency.id}"
                         f"{' basis:' + record.legal_basis if record.legal_basis else ''}")
    return record


@cache
def _records_of_case() -> Select[SharingRecord]:
    return (select(SharingRecord).where(SharingRecord.case_id == bindparam("case_id"))
            .order_by(SharingRecord.decided_on.desc(), SharingRecord.recorded_at.desc()))


def records_of(case: Case, sections: frozenset[str] | None = None) -> list[SharingRecord]:
    """A case's records, newest first; given the sections a viewer may see, only those records."""
    records = list(db.session.scalars(_records_of_case(), {"case_id": case.id}))
    if sections is None:
        return records
    return [r for r in records if (policy.SECTION_SURVIVOR_SHARING if r.survivor_side
                                   else policy.SECTION_SHARING) in sections]


def agencies_to_share_with(user: User) -> list[Agency]:
    return list(db.session.scalars(select(Agency).where(Agency.active.is_(True), Agency.id != user.agency_id)
                                   .order_by(Agency.name)))
