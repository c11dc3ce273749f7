"""Form submissions already acted on: a form that creates something is acted on once.

Each such form carries a random token made when the form was shown. The view stores it in the
same transaction as what the form creates; the same form posted again (a double click, a
resubmission from the browser's history, a retry after a slow answer) finds its token taken
and creates nothing more. Tokens are kept for a day.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from riskhub.extensions import Base
from riskhub.models.base import utcnow


class FormSubmission(Base):
    __tablename__ = "form_submissions"

    token: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, made when the form was shown
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid)  # who submitted it (a token is only ever theirs)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    result: Mapped[str] = mapped_column(String(200), default="")  # where the first submission led (a path)
