"""Referring a case to the joint meeting, with repeat detection, and the referral queue."""

from __future__ import annotations

from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import selectinload

from riskhub import audit
from riskhub.assessments import SURVIVOR_SIDE
from riskhub.extensions import db
from riskhub.models.accounts import User
from riskhub.models.base import as_utc, utcnow
from riskhub.models.cases import Case, CaseStatus, PersonRole
from riskhub.models.referrals import Consent, Referral, ReferralReason, ReferralStatus
from riskhub.operations import OperationError
from riskhub.operations.assessments import assessments_of, escalation, latest_by_side
from riskhub.operations.cases import change_status, people_with_identities


def earlier_referral_of_pair(case: Case) -> Referral | None:
    """The latest referral within the repeat window for the same survivor and person causing
    harm (matched by blind index, confirmed after decryption), in this case or another."""
    survivor = case.survivor
    perpetrators = {p.own_identity_key() for p in case.people_in_role(PersonRole.PERPETRATOR)}
    if survivor is None or not perpetrators:
        return None
    wanted = survivor.own_identity_key()
    found = people_with_identities({wanted} | perpetrators)  # one query for the whole pair
    survivor_cases = {p.case_id for key, p in found if p.role == PersonRole.SURVIVOR and key == wanted}
    pair_cases = {p.case_id for key, p in found if p.role == PersonRole.PERPETRATOR and key in perpetrators}
    matching = survivor_cases & pair_cases
    if not matching:
        return None
    since = utcnow() - timedelta(days=current_app.config["REPEAT_WINDOW_DAYS"])
    return db.session.scalar(
        select(Referral).where(Referral.case_id.in_(matching), Referral.referred_at >= since)
        .order_by(Referral.referred_at.desc()).limit(1)
    )


def automatic_reasons(case: Case) -> set[ReferralReason]:
    """Reasons the latest survivor-side assessment establishes by itself."""
    latest = latest_by_side(assessments_of(case)).get(SURVIVOR_SIDE)
    found = set()
    if latest is not None and latest.form_level == "high":
        found.add(ReferralReason.VISIBLE_HIGH_RISK)
    if escalation(latest):
        found.add(ReferralReason.ESCALATION)
    return found


def refer_case(case: Case, *, by: User, reasons: set[ReferralReason], consent: Consent,
               decided_by: str = "", consent_reason: str = "") -> Referral:
    """Put a case in the queue for the next meeting; repeats are flagged automatically."""
    if any(r.status == ReferralStatus.WAITING for r in waiting_referrals_of(case)):
        raise OperationError("This case is already waiting for a meeting", "reasons")
    if consent != Consent.GIVEN and not (decided_by.strip() and consent_reason.strip()):
        raise OperationError("Without consent, record who decided to share and why", "consent_reason")
    earlier = earlier_referral_of_pair(case)
    reasons = set(reasons) | automatic_reasons(case)
    if earlier is not None:
        reasons.add(ReferralReason.REPEAT)
    if not reasons:
        raise OperationError("Choose at least one reason for the referral", "reasons")
    referral = Referral(
        case_id=case.id, referred_by_id=by.id, agency_id=by.agency_id,
        reasons=",".join(sorted(r.value for r in reasons)), consent=consent,
        status=ReferralStatus.WAITING, repeat_of_id=earlier.id if earlier else None,
    )
    if consent != Consent.GIVEN:
        referral.consent_decided_by = decided_by.strip()
        referral.consent_reason = consent_reason.strip()
    db.session.add(referral)
    db.session.flush()
    change_status(case, CaseStatus.REFERRED, by=by)
    audit.record("referral.create", actor=audit.actor_for(by), object_type="referral", object_id=referral.id,
                 case_ref=case.reference, purpose="repeat" if earlier else None)
    return referral


def waiting_referrals_of(case: Case) -> list[Referral]:
    return list(db.session.scalars(select(Referral).where(Referral.case_id == case.id,
                                                          Referral.status == ReferralStatus.WAITING)))


def referrals_of(case: Case) -> list[Referral]:
    """A case's referrals, newest first, with the earlier referral each repeats (the case page
    shows its date and case reference)."""
    return list(db.session.scalars(_referrals_of_case(), {"case_id": case.id}))


@cache
def _referrals_of_case() -> Select[Referral]:
    return (select(Referral).where(Referral.case_id == bindparam("case_id"))
            .options(selectinload(Referral.repeat_of)).order_by(Referral.referred_at.desc()))


def referral_queue() -> list[Referral]:
    """Referred cases not yet heard, oldest first: what agendas are built from."""
    return list(db.session.scalars(select(Referral).where(Referral.status == ReferralStatus.WAITING)
                                   .order_by(Referral.referred_at)))


def days_waiting(referral: Referral) -> int:
    return (utcnow() - as_utc(referral.referred_at)).days
