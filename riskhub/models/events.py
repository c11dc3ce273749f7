"""Programme events: information that flows from the perpetrator side to the survivor side."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Date, DateTime, ForeignKey, Index, LargeBinary, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, enum_column, utcnow


class EventKind(enum.StrEnum):
    REFERRED = "referred"
    ENROLLED = "enrolled"
    STARTED = "started"
    ATTENDED = "attended"
    MISSED = "missed_session"
    EXCLUDED = "excluded"
    COMPLETED = "completed"
    DISCLOSURE = "disclosure"
    CONCERNING = "concerning_behaviour"

    @property
    def label(self) -> str:
        return EVENT_LABELS[self]

    @property
    def raises_risk(self) -> bool:
        return self in {EventKind.MISSED, EventKind.EXCLUDED, EventKind.DISCLOSURE, EventKind.CONCERNING}


EVENT_LABELS = {
    EventKind.REFERRED: "Referred to the programme",
    EventKind.ENROLLED: "Enrolled on the programme",
    EventKind.STARTED: "Started the programme",
    EventKind.ATTENDED: "Attended a session",
    EventKind.MISSED: "Missed a session",
    EventKind.EXCLUDED: "Excluded from the programme",
    EventKind.COMPLETED: "Completed the programme",
    EventKind.DISCLOSURE: "New disclosure",
    EventKind.CONCERNING: "Concerning behaviour",
}


class ProgrammeEvent(Base):
    """Recorded by programme staff; shown to survivor-side workers on the case as an alert."""

    __tablename__ = "programme_events"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EventKind] = mapped_column(
        enum_column(EventKind, 30)
    )
    occurred_on: Mapped[date] = mapped_column(Date)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    note = Encrypted(CASE_CONTENT)

    agency = relationship("Agency", lazy="joined")
    acknowledgements: Mapped[list[EventAcknowledgement]] = relationship(cascade="all, delete-orphan")


class EventAcknowledgement(Base):
    """A survivor-side agency has seen an event alert."""

    __tablename__ = "event_acknowledgements"

    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("programme_events.id", ondelete="CASCADE"), primary_key=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EventAlert(Base):
    """An event an agency involved in the case has not acknowledged yet: its open alert.

    Written when the event is recorded (and when an agency joins a case that has events), and
    removed when that agency acknowledges the event, so the dashboard reads the agency's open
    alerts newest first from one index instead of checking every event on its cases.
    """

    __tablename__ = "event_alerts"

    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), primary_key=True)
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("programme_events.id", ondelete="CASCADE"), primary_key=True
    )
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_event_alerts_agency_recorded", "agency_id", "recorded_at"),)
