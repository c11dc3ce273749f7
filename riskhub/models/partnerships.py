"""Partnerships between a perpetrator programme and survivor services, their information-sharing
protocols, and the partner-contact work those protocols make possible."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, EncryptedJSON, enum_column, utcnow


class CooperationModel(enum.StrEnum):
    INTEGRATED = "integrated"  # partner support inside the programme's organisation, separate staff
    EXTERNAL = "external"  # an external specialist service under agreement
    CO_LOCATED = "co_located"


MODEL_LABELS = {
    CooperationModel.INTEGRATED: "Integrated support service (same organisation, separate staff)",
    CooperationModel.EXTERNAL: "External specialist service under agreement",
    CooperationModel.CO_LOCATED: "Co-located service",
}


class Partnership(Base):
    """A perpetrator programme and the survivor service(s) that support the men's (ex-)partners."""

    __tablename__ = "partnerships"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)  # organisational, e.g. "Safer Futures and IDVA"
    programme_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    model: Mapped[CooperationModel] = mapped_column(enum_column(CooperationModel, 20))
    max_days_to_offer: Mapped[int] = mapped_column(Integer, default=7)  # enrolment to first offer of contact
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    contacts_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # contact people of both sides, escalation
    matrix_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # responsibilities matrix
    version: Mapped[int] = mapped_column(Integer, default=1)

    contacts_text = Encrypted(CASE_CONTENT, column="contacts_enc")
    matrix_text = Encrypted(CASE_CONTENT, column="matrix_enc")
    contacts = EncryptedJSON("contacts_text")
    matrix = EncryptedJSON("matrix_text")

    programme_agency = relationship("Agency", lazy="joined")
    services: Mapped[list[PartnershipService]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    __mapper_args__ = {"version_id_col": version}

    @property
    def service_agency_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(s.agency_id for s in self.services)


class PartnershipService(Base):
    """A survivor support service in a partnership."""

    __tablename__ = "partnership_services"

    partnership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partnerships.id", ondelete="CASCADE"),
                                                      primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)

    agency = relationship("Agency", lazy="joined")


class FlowDirection(enum.StrEnum):
    TO_SURVIVOR_SIDE = "to_survivor_side"  # from the programme to survivor services
    TO_PROGRAMME = "to_programme"  # from survivor services to the programme


class Category(enum.StrEnum):
    """Kinds of information a protocol may let flow."""

    ATTENDANCE = "attendance"
    NON_COMPLIANCE = "non_compliance"
    RISK_EVENTS = "risk_events"
    COMPLETION = "completion"
    PARTNER_CONTACT_STATUS = "partner_contact_status"  # only whether contact is in place
    RISK_LEVEL = "risk_level"
    SURVIVOR_CONTACT = "survivor_contact"
    SURVIVOR_DISCLOSURES = "survivor_disclosures"


CATEGORY_LABELS = {
    Category.ATTENDANCE: "Programme attendance",
    Category.NON_COMPLIANCE: "Non-compliance and exclusion",
    Category.RISK_EVENTS: "Risk events: disclosures and concerning behaviour",
    Category.COMPLETION: "Completion",
    Category.PARTNER_CONTACT_STATUS: "Whether partner contact is in place (never its content)",
    Category.RISK_LEVEL: "Level of risk",
    Category.SURVIVOR_CONTACT: "Survivor contact and location details",
    Category.SURVIVOR_DISCLOSURES: "What the survivor told her worker",
}
LEGAL_BASES = {
    "safeguarding": "Safeguarding (DPA 2018 Sch. 1 para 18)",
    "public_task": "Public task (UK GDPR 6(1)(e))",
    "legitimate_interests": "Legitimate interests (UK GDPR 6(1)(f))",
    "vital_interests": "Vital interests (life or death only)",
    "consent": "Consent",
    "legal_obligation": "Legal obligation",
}
# Survivor data: may never flow to the programme under any protocol.
SURVIVOR_DATA = frozenset({Category.SURVIVOR_CONTACT, Category.SURVIVOR_DISCLOSURES})


class Protocol(Base):
    """One version of an information-sharing protocol. A new version supersedes; the old is kept."""

    __tablename__ = "protocols"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    version_number: Mapped[int] = mapped_column(Integer, default=1)
    # Unique: a version is superseded once; a later version supersedes the newer one.
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("protocols.id"), unique=True, index=True)
    effective_from: Mapped[date] = mapped_column(Date)
    review_on: Mapped[date] = mapped_column(Date)
    legal_basis: Mapped[str] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    terms_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # signatories, consent rules, escalation

    terms_text = Encrypted(CASE_CONTENT, column="terms_enc")
    terms = EncryptedJSON("terms_text")

    parties: Mapped[list[ProtocolParty]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    flows: Mapped[list[ProtocolFlow]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def party_agency_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(p.agency_id for p in self.parties)

    def covers(self, category: Category, direction: FlowDirection) -> bool:
        return any(f.category == category and f.direction == direction for f in self.flows)


class ProtocolParty(Base):
    """An agency party to a protocol (signatories and dates are in the protocol's terms)."""

    __tablename__ = "protocol_parties"

    protocol_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protocols.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)

    agency = relationship("Agency", lazy="joined")


class ProtocolFlow(Base):
    """One category of information allowed to flow in one direction."""

    __tablename__ = "protocol_flows"

    protocol_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("protocols.id", ondelete="CASCADE"), primary_key=True)
    category: Mapped[Category] = mapped_column(enum_column(Category), primary_key=True)
    direction: Mapped[FlowDirection] = mapped_column(enum_column(FlowDirection, 20), primary_key=True)


class ContactOutcome(enum.StrEnum):
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    UNREACHABLE = "unreachable"
    UNSAFE = "unsafe"


class PartnerContactTask(Base):
    """Offer support to the (ex-)partner of a man enrolled on the programme, within the agreed days."""

    __tablename__ = "partner_contact_tasks"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    partnership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partnerships.id"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)  # the survivor service
    enrolled_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_offer_on: Mapped[date | None] = mapped_column(Date)
    in_place: Mapped[bool] = mapped_column(default=False)  # the only fact the programme sees

    case = relationship("Case", lazy="joined")
    partnership = relationship("Partnership", lazy="joined")
    attempts: Mapped[list[PartnerContactAttempt]] = relationship(cascade="all, delete-orphan",
                                                                 order_by="PartnerContactAttempt.at")


class PartnerContactAttempt(Base):
    """One attempt to reach the partner; what was said and planned stays on the survivor side."""

    __tablename__ = "partner_contact_attempts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_contact_tasks.id", ondelete="CASCADE"), index=True)
    on: Mapped[date] = mapped_column(Date)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    outcome: Mapped[ContactOutcome] = mapped_column(enum_column(ContactOutcome, 20))
    by_user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    support_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    safety_planning_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    support = Encrypted(SURVIVOR_CONTACT)
    safety_planning = Encrypted(SURVIVOR_CONTACT)


class RiskNotice(Base):
    """A programme event that raises risk, for the partner-contact worker to pass on (or say why not)."""

    __tablename__ = "risk_notices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("programme_events.id", ondelete="CASCADE"), index=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("partner_contact_tasks.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    partner_informed: Mapped[bool | None] = mapped_column()
    resolved_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    reason = Encrypted(SURVIVOR_CONTACT)  # why she was not told: survivor-side only

    event = relationship("ProgrammeEvent", lazy="joined")
    task = relationship("PartnerContactTask", lazy="joined")
