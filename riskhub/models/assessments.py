"""Risk assessments from both services. Never edited: a correction supersedes."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from riskhub.crypto import CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, EncryptedJSON, utcnow


class Assessment(Base):
    """One submitted assessment on one form version.

    Score and level stay in plain columns (they order agendas and queues and name nobody);
    answers, sources and rationale are encrypted. Survivor-side content is under the
    survivor-only key, so perpetrator-facing requests cannot read it at all.
    """

    __tablename__ = "assessments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    case_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    side: Mapped[str] = mapped_column(String(20))  # survivor or perpetrator
    form_key: Mapped[str] = mapped_column(String(60))
    form_version: Mapped[int] = mapped_column(Integer)
    assessed_on: Mapped[date] = mapped_column(Date)
    score: Mapped[int] = mapped_column(Integer)
    form_level: Mapped[str] = mapped_column(String(20))  # from the score bands or the assessor's judgement
    level: Mapped[str] = mapped_column(String(20))  # after professional judgement
    judgement_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    police_callouts: Mapped[int | None] = mapped_column(Integer)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"))
    assessor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Unique: an assessment is corrected once; a later correction replaces the correction.
    supersedes_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("assessments.id"), unique=True, index=True)
    content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)
    survivor_content_enc: Mapped[bytes | None] = mapped_column(LargeBinary)

    content_text = Encrypted(CASE_CONTENT, column="content_enc")
    survivor_content_text = Encrypted(SURVIVOR_CONTACT, column="survivor_content_enc")
    _content = EncryptedJSON("content_text")
    _survivor_content = EncryptedJSON("survivor_content_text")

    agency = relationship("Agency", lazy="joined")
    assessor = relationship("User", lazy="joined", foreign_keys=[assessor_id])

    __table_args__ = (Index("ix_assessments_case_side_date", "case_id", "side", "assessed_on"),)

    @property
    def content(self) -> dict:
        """Answers, sources, rationale: from the compartment that matches the side."""
        return self._survivor_content if self.side == "survivor" else self._content

    def set_content(self, value: dict) -> None:
        if self.side == "survivor":
            self._survivor_content = value
        else:
            self._content = value
