"""Information-sharing records: what was shared with whom, why, on what basis, and decisions not to."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, enum_column, utcnow
from riskhub.models.partnerships import Category


class SharingDecision(enum.StrEnum):
    SHARED = "shared"
    NOT_SHARED = "not_shared"


class SharingConsent(enum.StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT_UNSAFE = "not_sought_unsafe"
    NOT_SOUGHT_OTHER = "not_sought_other"


CONSENT_LABELS = {
    SharingConsent.GIVEN: "Consent given",
    SharingConsent.REFUSED: "Consent refused (shared without consent)",
    SharingConsent.NOT_SOUGHT_UNSAFE: "Not sought: asking would be unsafe",
    SharingConsent.NOT_SOUGHT_OTHER: "Not sought for another reason",
}

DECISION_LABELS = {
    SharingDecision.SHARED: "Shared",
    SharingDecision.NOT_SHARED: "Decided not to share",
}


class SharingRecord(Base):
    """One decision to share (or not) information about a case with another agency.

    The agencies, basis, consent and dates are plain so auditors can review them without
    case content; what was shared and why are encrypted. Records made by survivor-side
    agencies are under the survivor-only key: they may describe her, so they never cross
    the firewall to perpetrator-facing staff.
    """

    __tablename__ = "sharing_records"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))  # the case
    decision: Mapped[SharingDecision] = mapped_column(enum_column(SharingDecision))  # shared or not
    category: Mapped[Category | None] = mapped_column(enum_column(Category))  # what kind, when a programme is involved
    with_agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))  # recipient or requester
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))  # the recording agency
    recorded_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))  # the deciding practitioner
    decided_on: Mapped[date] = mapped_column(Date)  # when it was shared or refused
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    legal_basis: Mapped[str | None] = mapped_column(String(40))  # key of SHARING_LEGAL_BASES (if shared)
    consent: Mapped[SharingConsent] = mapped_column(enum_column(SharingConsent))  # consent status
    survivor_side: Mapped[bool] = mapped_column(Boolean, default=False)  # recorded on the survivor side
    information_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # what was shared or asked for
    reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)  # why shared, or why not
    survivor_information_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    survivor_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    _information = Encrypted(CASE_CONTENT, column="information_enc")
    _reason = Encrypted(CASE_CONTENT, column="reason_enc")
    _survivor_information = Encrypted(SURVIVOR_CONTACT, column="survivor_information_enc")
    _survivor_reason = Encrypted(SURVIVOR_CONTACT, column="survivor_reason_enc")

    with_agency = relationship("Agency", lazy="joined", foreign_keys=[with_agency_id])
    agency = relationship("Agency", lazy="joined", foreign_keys=[agency_id])
    recorded_by = relationship("User", lazy="joined", foreign_keys=[recorded_by_id])

    __table_args__ = (Index("ix_sharing_records_case_recorded", "case_id", "recorded_at"),
                      Index("ix_sharing_records_recorded_at", "recorded_at"))

    def set_text(self, information: str, reason: str) -> None:
        """Store the free text under the key that matches the recording side."""
        if self.survivor_side:
            self._survivor_information, self._survivor_reason = information, reason
        else:
            self._information, self._reason = information, reason

    @property
    def information(self) -> str:
        return (self._survivor_information if self.survivor_side else self._information) or ""

    @property
    def reason(self) -> str:
        return (self._survivor_reason if self.survivor_side else self._reason) or ""

    @property
    def consent_label(self) -> str:
        return CONSENT_LABELS[self.consent]

    @property
    def decision_label(self) -> str:
        return DECISION_LABELS[self.decision]
