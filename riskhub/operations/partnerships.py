"""Partnerships and information-sharing protocols, and the check every flow of information passes."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import event as sqlalchemy_events
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, User
from riskhub.models.events import EventKind
from riskhub.models.partnerships import (
    CATEGORY_LABELS,
    LEGAL_BASES,
    SURVIVOR_DATA,
    Category,
    CooperationModel,
    FlowDirection,
    Partnership,
    PartnershipService,
    Protocol,
    ProtocolFlow,
    ProtocolParty,
)
from riskhub.operations import ConflictError, OperationError, forget_for_transaction, per_transaction

EVENT_CATEGORY = {
    EventKind.REFERRED: Category.ATTENDANCE,
    EventKind.ENROLLED: Category.ATTENDANCE,
    EventKind.STARTED: Category.ATTENDANCE,
    EventKind.ATTENDED: Category.ATTENDANCE,
    EventKind.MISSED: Category.NON_COMPLIANCE,
    EventKind.EXCLUDED: Category.NON_COMPLIANCE,
    EventKind.DISCLOSURE: Category.RISK_EVENTS,
    EventKind.CONCERNING: Category.RISK_EVENTS,
    EventKind.COMPLETED: Category.COMPLETION,
}


class FlowRefused(OperationError):
    """No protocol in force lets this information flow this way."""


@dataclass(frozen=True)
class PartnershipPlan:
    name: str
    programme_agency_id: uuid.UUID
    service_agency_ids: frozenset[uuid.UUID]
    model: CooperationModel
    max_days_to_offer: int = 7
    contacts: dict[str, str] = field(default_factory=dict)
    matrix: dict[str, str] = field(default_factory=dict)


def create_partnership(plan: PartnershipPlan, *, by: User) -> Partnership:
    """Link a programme with the survivor service(s) supporting the men's partners."""
    programme = db.session.get(Agency, plan.programme_agency_id)
    if programme is None or programme.kind != AgencyKind.PERPETRATOR_PROGRAMME:
        raise OperationError("Choose the perpetrator programme", "programme_agency")
    if not plan.service_agency_ids:
        raise OperationError("A partnership needs at least one survivor support service", "services")
    services = [db.session.get(Agency, a) for a in sorted(plan.service_agency_ids)]
    if any(s is None or s.kind != AgencyKind.SURVIVOR_SUPPORT for s in services):
        raise OperationError("Partner services must be survivor support services", "services")
    if not plan.name.strip():
        raise OperationError("Enter a name for the partnership", "name")
    if db.session.scalar(select(Partnership.id).where(Partnership.name == plan.name.strip())):
        raise OperationError("A partnership with this name already exists", "name")
    partnership = Partnership(name=plan.name.strip(), programme_agency_id=programme.id, model=plan.model,
                              max_days_to_offer=plan.max_days_to_offer)
    partnership.services = [PartnershipService(agency_id=s.id) for s in services if s is not None]
    partnership.contacts = {k: v.strip() for k, v in plan.contacts.items() if v and v.strip()}
    partnership.matrix = {k: v.strip() for k, v in plan.matrix.items() if v and v.strip()}
    db.session.add(partnership)
    db.session.flush()
    audit.record("partnership.create", actor=audit.actor_for(by), object_type="partnership", object_id=partnership.id)
    return partnership


@dataclass(frozen=True)
class ProtocolPlan:
    title: str
    party_agency_ids: frozenset[uuid.UUID]
    effective_from: date
    review_on: date
    legal_basis: str
    flows: frozenset[tuple[Category, FlowDirection]]
    terms: dict[str, str] = field(default_factory=dict)  # signatories, consent rules, escalation


def check_protocol_plan(plan: ProtocolPlan) -> None:
    """Refuse a protocol that could not be in force, or that would let survivor data reach the programme."""
    if not plan.title.strip():
        raise OperationError("Enter the protocol's title", "title")
    if plan.review_on <= plan.effective_from:
        raise OperationError("The review date must be after the date it takes effect", "review_on")
    if len(plan.party_agency_ids) < 2:
        raise OperationError("A protocol needs at least two agencies as parties", "parties")
    if plan.legal_basis not in LEGAL_BASES:
        raise OperationError("Choose the legal basis from the list", "legal_basis")
    if not plan.flows:
        raise OperationError("Choose at least one category of information and its direction", "flows")
    leaking = sorted(c.value for c, d in plan.flows if c in SURVIVOR_DATA and d == FlowDirection.TO_PROGRAMME)
    if leaking:
        names = ", ".join(CATEGORY_LABELS[Category(c)] for c in leaking)
        raise OperationError(f"Survivor data can never flow to the programme: remove {names}", "flows")


ALREADY_SUPERSEDED = ("A newer version of this protocol has already been recorded, so this one has not been "
                      "saved. Open the protocols list to see the current version, and record a new version of "
                      "that one if it needs changing.")


def already_superseded(protocol: Protocol) -> bool:
    """A newer version replacing this one has been recorded."""
    return db.session.scalar(select(Protocol.id).where(Protocol.supersedes_id == protocol.id).limit(1)) is not None


def create_protocol(plan: ProtocolPlan, *, by: User | None, supersedes: Protocol | None = None) -> Protocol:
    """Record a protocol, or a new version of one (the old version is kept). `by` None: the system."""
    check_protocol_plan(plan)
    if supersedes is not None and already_superseded(supersedes):
        raise ConflictError(ALREADY_SUPERSEDED)
    protocol = Protocol(title=plan.title.strip(), effective_from=plan.effective_from, review_on=plan.review_on,
                        legal_basis=plan.legal_basis, supersedes_id=supersedes.id if supersedes else None,
                        version_number=(supersedes.version_number + 1) if supersedes else 1)
    protocol.parties = [ProtocolParty(agency_id=a) for a in sorted(plan.party_agency_ids)]
    protocol.flows = [ProtocolFlow(category=c, direction=d) for c, d in sorted(plan.flows)]
    protocol.terms = {k: v.strip() for k, v in plan.terms.items() if v and v.strip()}
    try:
        with db.session.begin_nested():
            db.session.add(protocol)
    except IntegrityError:  # another request recorded a new version of the same one at the same moment
        raise ConflictError(ALREADY_SUPERSEDED) from None
    audit.record("protocol.create", actor=audit.actor_for(by) if by else audit.SYSTEM, object_type="protocol",
                 object_id=protocol.id, purpose=f"version {protocol.version_number}")
    return protocol


# The protocols in force, kept for the rest of the transaction (every programme event and
# shared fact checks them, three queries each time), and forgotten as soon as a protocol, its
# parties or its flows are about to be written.
_IN_FORCE = "riskhub.protocols_in_force"
_PROTOCOL_MODELS = (Protocol, ProtocolParty, ProtocolFlow)


@sqlalchemy_events.listens_for(Session, "before_flush")
def _forget_in_force_on_change(session: Session, _context: object, _instances: object) -> None:
    if _IN_FORCE in session.info and any(isinstance(o, _PROTOCOL_MODELS)
                                         for o in (*session.new, *session.dirty, *session.deleted)):
        forget_for_transaction(session, _IN_FORCE)


def protocols_in_force(today: date | None = None) -> list[Protocol]:
    """Versions that have taken effect and that no newer version in effect has replaced."""
    today = today or date.today()
    known: dict[date, list[Protocol]] = per_transaction(_IN_FORCE, dict)
    if today not in known:
        started = list(db.session.scalars(select(Protocol).where(Protocol.effective_from <= today)))
        replaced = {p.supersedes_id for p in started if p.supersedes_id}
        known[today] = [p for p in started if p.id not in replaced]
    return list(known[today])


def due_for_review(today: date | None = None) -> list[Protocol]:
    today = today or date.today()
    return [p for p in protocols_in_force(today) if p.review_on < today]


def allowing_protocol(from_agency: uuid.UUID, to_agencies: Iterable[uuid.UUID], category: Category,
                      direction: FlowDirection, today: date | None = None) -> Protocol | None:
    """A protocol in force with the sender and a receiver as parties, covering the category this way."""
    receivers = set(to_agencies)
    for protocol in protocols_in_force(today):
        parties = protocol.party_agency_ids
        if from_agency in parties and receivers & parties and protocol.covers(category, direction):
            return protocol
    return None


def require_flow(*, sender: User, receivers: Iterable[uuid.UUID], category: Category, direction: FlowDirection,
                 case_ref: str | None) -> Protocol:
    """Let the information through only along a protocol in force; log and explain a refusal."""
    receivers = list(receivers)
    protocol = allowing_protocol(sender.agency_id, receivers, category, direction)
    if protocol is not None:
        return protocol
    audit.record("protocol.refused", actor=audit.actor_for(sender), outcome=audit.DENIED, object_type="flow",
                 case_ref=case_ref, purpose=f"{category.value}:{direction.value}")
    if not receivers:
        missing = "no survivor-side agency is involved in this case to receive it"
    else:
        missing = (f"no information-sharing protocol in force between {sender.agency.name} and the survivor "
                   f"services on this case covers \"{CATEGORY_LABELS[category]}\"")
    raise FlowRefused(f"Not shared: {missing}. Ask your administrator to put a protocol in place.")


def partnerships_of(agency_id: uuid.UUID) -> list[Partnership]:
    """Partnerships an agency belongs to (as the programme or a partner service)."""
    every = db.session.scalars(select(Partnership).order_by(Partnership.name))
    return [p for p in every if agency_id == p.programme_agency_id or agency_id in p.service_agency_ids]
