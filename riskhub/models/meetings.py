"""Joint risk meetings: schedule, attendance, agenda, minutes and safety actions."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Uuid, exists, false
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, enum_column, utcnow
from riskhub.models.referrals import Referral


class MeetingStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    CLOSED = "closed"


class Meeting(Base):
    """One occurrence of a joint risk meeting. Its reference is opaque: it names no case or person."""

    __tablename__ = "meetings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    series_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)  # occurrences of one repeating series
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    venue: Mapped[str] = mapped_column(String(200), default="")  # a place or "Online": organisational, not personal
    online_link: Mapped[str] = mapped_column(String(500), default="")
    chair_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    status: Mapped[MeetingStatus] = mapped_column(enum_column(MeetingStatus), default=MeetingStatus.SCHEDULED)
    slot_minutes: Mapped[int] = mapped_column(Integer, default=12)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1)

    chair = relationship("User", lazy="joined")
    invites: Mapped[list[MeetingInvite]] = relationship(cascade="all, delete-orphan", lazy="selectin")
    items: Mapped[list[AgendaItem]] = relationship(
        cascade="all, delete-orphan", order_by="AgendaItem.position", back_populates="meeting"
    )
    attendance: Mapped[list[Attendance]] = relationship(cascade="all, delete-orphan", order_by="Attendance.created_at")

    __mapper_args__ = {"version_id_col": version}

    @property
    def invited_agency_ids(self) -> frozenset[uuid.UUID]:
        return frozenset(i.agency_id for i in self.invites)

    @property
    def closed(self) -> bool:
        return self.status == MeetingStatus.CLOSED


class MeetingInvite(Base):
    """An agency invited to a meeting (it receives the agenda list)."""

    __tablename__ = "meeting_invites"

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True, index=True)

    # Every meeting page's gate reads the invitations for their agency ids only; the agencies
    # themselves are read by `operations.meetings.invited_agencies`, where a page names them.
    agency = relationship("Agency")


class AttendanceKind(enum.StrEnum):
    ATTENDEE = "attendee"
    APOLOGY = "apology"
    OBSERVER = "observer"


class Attendance(Base):
    """Someone present, sending apologies, or observing. Names of people are encrypted."""

    __tablename__ = "attendance"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[AttendanceKind] = mapped_column(enum_column(AttendanceKind, 20))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    name_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    info_sent: Mapped[bool] = mapped_column(Boolean, default=False)  # apologies: information sent beforehand
    info_sent_on: Mapped[date | None] = mapped_column(Date)
    confidentiality_confirmed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    name = Encrypted(CASE_CONTENT)

    agency = relationship("Agency", lazy="joined")


class ItemKind(enum.StrEnum):
    ACTIONS_REVIEW = "actions_review"
    CASE = "case"
    OTHER_BUSINESS = "other_business"


class AgendaGroup(enum.IntEnum):
    """Default order of the agenda, following practice."""

    ACTIONS_REVIEW = 0
    CHILDREN = 1
    ADULTS = 2
    LAPSED = 3
    OTHER_BUSINESS = 4


class AgendaItem(Base):
    """One line of the agenda; case items carry the minutes of that case's discussion."""

    __tablename__ = "agenda_items"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind, 20))
    agenda_group: Mapped[int] = mapped_column(Integer)  # AgendaGroup
    position: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("cases.id"), index=True)
    referral_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    heard_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minutes_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    survivor_minutes_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    decisions_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    informs_survivor_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(Integer, default=1)
    # The survivor-side part is written past `version` (see operations.meeting_run.save_minutes):
    # perpetrator-facing chairs see `version` move, so it must not move for what they cannot read.
    survivor_minutes_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    minutes = Encrypted(CASE_CONTENT)  # discussion summary, shared with every attending agency
    survivor_minutes = Encrypted(SURVIVOR_CONTACT)  # what only survivor-side agencies may read
    decisions = Encrypted(CASE_CONTENT)
    informs_survivor = Encrypted(CASE_CONTENT)  # who tells the survivor the outcome

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    case = relationship("Case", lazy="joined")
    # Loaded when an operation changes its status; pages only ask whether it repeats an earlier
    # referral, read with the item (a joined referral, its case and agency, cost the 16-case
    # agenda about 1 ms of its database turn).
    referral = relationship(Referral)
    repeat_referral: Mapped[bool] = column_property(
        exists().where(Referral.id == referral_id, Referral.repeat_of_id.is_not(None)))

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (Index("ix_agenda_items_meeting_position", "meeting_id", "position"),)


class ActionStatus(enum.StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    NOT_DONE = "not_done"


class NotDoneReason(enum.StrEnum):
    CIRCUMSTANCES_CHANGED = "circumstances_changed"
    AGENCY_DID_NOT_ACT = "agency_did_not_act"  # escalated to the steering group


class SafetyAction(Base):
    """An action agreed at a meeting: SMART, owned by an agency (and optionally a person)."""

    __tablename__ = "safety_actions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id"), index=True)
    owner_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    owner_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    deadline: Mapped[date] = mapped_column(Date)
    status: Mapped[ActionStatus] = mapped_column(enum_column(ActionStatus, 20), default=ActionStatus.OPEN)
    status_reported_on: Mapped[date | None] = mapped_column(Date)
    not_done_reason: Mapped[NotDoneReason | None] = mapped_column(enum_column(NotDoneReason))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    description_enc: Mapped[bytes] = mapped_column(LargeBinary)
    completion_note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    # Survivor-side only (a refuge place, a sanctuary scheme at her new address): never listed,
    # counted or copied to a perpetrator-facing user; owned by a survivor-side agency.
    survivor_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)

    description = Encrypted(CASE_CONTENT)
    completion_note = Encrypted(CASE_CONTENT)

    case = relationship("Case", lazy="joined")
    meeting = relationship("Meeting", lazy="joined")
    owner_agency = relationship("Agency", lazy="joined")
    owner_user = relationship("User", lazy="joined")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_safety_actions_owner_user_status_deadline", "owner_user_id", "status", "deadline"),
        Index("ix_safety_actions_owner_agency_status_deadline", "owner_agency_id", "status", "deadline"),
        Index("ix_safety_actions_case_status", "case_id", "status"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)

    def overdue(self, today: date) -> bool:
        return self.is_open and self.deadline < today


class MinutesDistribution(Base):
    """A copy of the minutes given to an agency (restricted: each copy is recorded)."""

    __tablename__ = "minutes_distribution"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("meetings.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    format: Mapped[str] = mapped_column(String(10))  # html, print or pdf
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CalendarFeed(Base):
    """A personal calendar feed; the URL carries a random token that can be revoked."""

    __tablename__ = "calendar_feeds"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
