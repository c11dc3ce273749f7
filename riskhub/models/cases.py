"""Cases, the people in them, the survivor contact compartment and agency involvement."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT, SURVIVOR_CONTACT, normalise_for_index, normalise_phone
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, EncryptedJSON, enum_column, utcnow


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    REFERRED = "referred"
    HEARD = "heard"
    UNDER_REVIEW = "under_review"
    CLOSED = "closed"


class PersonRole(enum.StrEnum):
    SURVIVOR = "survivor"
    PERPETRATOR = "perpetrator"
    CHILD = "child"


class Case(Base):
    """One survivor's case. Users see the readable reference; the id stays internal."""

    __tablename__ = "cases"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus), default=CaseStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)

    people: Mapped[list[Person]] = relationship(
        back_populates="case", cascade="all, delete-orphan", order_by="Person.role"
    )
    involvements: Mapped[list[CaseAgency]] = relationship(
        back_populates="case", cascade="all, delete-orphan"
    )
    survivor_contact: Mapped[SurvivorContact | None] = relationship(
        back_populates="case", cascade="all, delete-orphan", uselist=False
    )
    status_history: Mapped[list[CaseStatusChange]] = relationship(
        cascade="all, delete-orphan", order_by="CaseStatusChange.at", back_populates="case"
    )
    workers: Mapped[list[CaseWorker]] = relationship(cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}

    def people_in_role(self, role: PersonRole) -> list[Person]:
        return [p for p in self.people if p.role == role]

    @property
    def survivor(self) -> Person | None:
        found = self.people_in_role(PersonRole.SURVIVOR)
        return found[0] if found else None

    @property
    def agency_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(i.agency_id for i in self.involvements)


class CaseAgency(Base):
    """An agency involved in a case: the legitimate relationship that lets its staff see it."""

    __tablename__ = "case_agencies"

    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agencies.id"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    case: Mapped[Case] = relationship(back_populates="involvements")
    agency = relationship("Agency", lazy="joined")


class Person(Base):
    """Survivor, person causing harm, or child. Every identifying field is encrypted."""

    __tablename__ = "people"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    role: Mapped[PersonRole] = mapped_column(enum_column(PersonRole, 20))
    given_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    family_name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    date_of_birth_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    details_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_index: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    given_name = Encrypted(CASE_CONTENT)
    family_name = Encrypted(CASE_CONTENT)
    date_of_birth_text = Encrypted(CASE_CONTENT, column="date_of_birth_enc")
    # Everything else about the person (gender, language, equality data, relationship,
    # his address, access to weapons, a child's age...), as one encrypted JSON document.
    details_text = Encrypted(CASE_CONTENT, column="details_enc")
    details = EncryptedJSON("details_text")

    case: Mapped[Case] = relationship(back_populates="people")

    __mapper_args__ = {"version_id_col": version}

    @staticmethod
    def identity_key(given_name: str, family_name: str, date_of_birth: date | None) -> str:
        """The normalised text behind the name-and-date-of-birth blind index."""
        born = date_of_birth.isoformat() if date_of_birth else ""
        return normalise_for_index(given_name, family_name) + "|" + born

    def own_identity_key(self) -> str:
        return self.identity_key(self.given_name or "", self.family_name or "", self.date_of_birth)

    # Blind index column -> (purpose, how to compute its normalised value from the row).
    BLIND_INDEXES = {"identity_index": ("person-identity", lambda p: p.own_identity_key())}

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.given_name, self.family_name) if p)

    @property
    def date_of_birth(self) -> date | None:
        text = self.date_of_birth_text
        return date.fromisoformat(text) if text else None


class SurvivorContact(Base):
    """The contact and location compartment: survivor-side only, under its own key."""

    __tablename__ = "survivor_contacts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), unique=True
    )
    address_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    email_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    safe_contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    do_not_contact_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    phone_index: Mapped[bytes | None] = mapped_column(LargeBinary(16), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)

    address = Encrypted(SURVIVOR_CONTACT)
    phone = Encrypted(SURVIVOR_CONTACT)
    email = Encrypted(SURVIVOR_CONTACT)
    safe_contact = Encrypted(SURVIVOR_CONTACT)
    do_not_contact = Encrypted(SURVIVOR_CONTACT)

    case: Mapped[Case] = relationship(back_populates="survivor_contact")

    BLIND_INDEXES = {"phone_index": ("phone", lambda c: normalise_phone(c.phone or "") or None)}

    __mapper_args__ = {"version_id_col": version}


class ReferenceCounter(Base):
    """Last case number issued per year; updated under a row lock so references never clash."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last: Mapped[int] = mapped_column(Integer, default=0)


class CaseStatusChange(Base):
    """One step in a case's status history."""

    __tablename__ = "case_status_changes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    status: Mapped[CaseStatus] = mapped_column(enum_column(CaseStatus))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    # Setting this on a new change queues it on the case's history without loading the history.
    case: Mapped[Case] = relationship(back_populates="status_history")


class WorkerSide(enum.StrEnum):
    SURVIVOR = "survivor"
    PERPETRATOR = "perpetrator"


class CaseWorker(Base):
    """A named worker for one side of a case; one person may not hold both sides."""

    __tablename__ = "case_workers"

    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True)
    side: Mapped[WorkerSide] = mapped_column(enum_column(WorkerSide, 20), primary_key=True)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmergencyAccess(Base):
    """Time-limited access to a case by someone outside it, with a written reason, for audit review."""

    __tablename__ = "emergency_access"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    reason_enc: Mapped[bytes] = mapped_column(LargeBinary)
    granted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    review_outcome: Mapped[str | None] = mapped_column(String(20))
    review_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    reason = Encrypted(CASE_CONTENT)
    review_note = Encrypted(CASE_CONTENT)

    __table_args__ = (Index("ix_emergency_access_user_case", "user_id", "case_id", "expires_at"),)


class CaseNote(Base):
    """A note on a case. Survivor-confidential notes are under the survivor-only key."""

    __tablename__ = "case_notes"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    survivor_confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    confidential_body_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    body = Encrypted(CASE_CONTENT)
    confidential_body = Encrypted(SURVIVOR_CONTACT)

    author = relationship("User", lazy="joined")
    agency = relationship("Agency", lazy="joined")

    @property
    def text(self) -> str:
        """The note's text, from whichever compartment holds it."""
        return (self.confidential_body if self.survivor_confidential else self.body) or ""
