"""Referrals of a case to the joint risk meeting."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, enum_column, utcnow


class ReferralReason(enum.StrEnum):
    VISIBLE_HIGH_RISK = "visible_high_risk"
    PROFESSIONAL_JUDGEMENT = "professional_judgement"
    ESCALATION = "escalation"
    REPEAT = "repeat"


REASON_LABELS = {
    ReferralReason.VISIBLE_HIGH_RISK: "Visible high risk (checklist score at or above the high threshold)",
    ReferralReason.PROFESSIONAL_JUDGEMENT: "Professional judgement",
    ReferralReason.ESCALATION: "Potential escalation (police call-outs in the last 12 months)",
    ReferralReason.REPEAT: "Repeat (new abuse within 12 months of the last referral)",
}


class Consent(enum.StrEnum):
    GIVEN = "given"
    REFUSED = "refused"
    NOT_SOUGHT_UNSAFE = "not_sought_unsafe"


CONSENT_LABELS = {
    Consent.GIVEN: "Given",
    Consent.REFUSED: "Refused: sharing without consent",
    Consent.NOT_SOUGHT_UNSAFE: "Not sought because asking would be unsafe",
}


class ReferralStatus(enum.StrEnum):
    WAITING = "waiting"  # in the queue the agenda is built from
    SCHEDULED = "scheduled"
    HEARD = "heard"
    WITHDRAWN = "withdrawn"


class Referral(Base):
    """A case sent to the joint meeting, with reasons and the consent basis."""

    __tablename__ = "referrals"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    referred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    referred_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    reasons: Mapped[str] = mapped_column(String(200))  # comma-separated ReferralReason values
    consent: Mapped[Consent] = mapped_column(enum_column(Consent))
    status: Mapped[ReferralStatus] = mapped_column(enum_column(ReferralStatus), default=ReferralStatus.WAITING)
    repeat_of_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("referrals.id"))
    consent_decided_by_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    consent_reason_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    consent_decided_by = Encrypted(CASE_CONTENT)
    consent_reason = Encrypted(CASE_CONTENT)

    case = relationship("Case", lazy="joined")
    agency = relationship("Agency", lazy="joined")
    # Pages only ask whether a referral repeats (repeat_of_id); the earlier one loads if asked for.
    repeat_of = relationship("Referral", remote_side=[id])

    __table_args__ = (Index("ix_referrals_status_referred_at", "status", "referred_at"),)

    @property
    def reason_list(self) -> list[ReferralReason]:
        return [ReferralReason(r) for r in self.reasons.split(",") if r]

