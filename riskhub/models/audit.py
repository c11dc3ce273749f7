"""The access log: an append-only, hash-chained record of who saw or changed what."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from riskhub.extensions import Base

GENESIS_HASH = bytes(32)


class AccessLogEntry(Base):
    """One event. Holds identifiers and section names only: never names, narratives or contact data."""

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(  # position in the chain
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC time of the event
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # who acted (None: anonymous or system)
    agency_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # their agency at the time
    roles: Mapped[str] = mapped_column(String(100), default="")  # their roles at the time, comma-separated
    action: Mapped[str] = mapped_column(String(40))  # what was done, e.g. case.view, signin.failed
    object_type: Mapped[str | None] = mapped_column(String(40))  # kind of object acted on
    object_id: Mapped[str | None] = mapped_column(String(64))  # its opaque id
    case_ref: Mapped[str | None] = mapped_column(String(20))  # the readable case reference
    sections: Mapped[str] = mapped_column(String(400), default="")  # compartments shown, comma-separated
    purpose: Mapped[str | None] = mapped_column(String(200))  # reason category given (no free text)
    outcome: Mapped[str] = mapped_column(String(10))  # allowed, denied or failed (allowed, then rolled back)
    request_id: Mapped[str | None] = mapped_column(String(36))  # ties entries of one request together
    client_address: Mapped[str | None] = mapped_column(String(64))  # where the request came from
    prev_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # the previous entry's hash
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # SHA-256(prev_hash + canonical content)

    __table_args__ = (
        Index("ix_access_log_case_ref_seq", "case_ref", "seq"),
        Index("ix_access_log_user_seq", "user_id", "seq"),
        Index("ix_access_log_at", "at"),
        # The auditor's searches page backwards by seq within one of these filters.
        Index("ix_access_log_agency_seq", "agency_id", "seq"),
        Index("ix_access_log_action_seq", "action", "seq"),
        Index("ix_access_log_outcome_seq", "outcome", "seq"),
    )


class AuditChainHead(Base):
    """The single row holding the chain's tip; updating it first serialises appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)  # always 1
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))  # last sequence number issued
    last_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # hash of that entry


class AuditCheckpoint(Base):
    """A signed statement that the chain's entry `seq` had hash `entry_hash`.

    Signed with an Ed25519 key kept outside the database, so someone who can write to the
    database can recompute the SHA-256 chain but cannot forge the checkpoints that pin it.
    """

    __tablename__ = "audit_checkpoints"

    seq: Mapped[int] = mapped_column(  # the entry this checkpoint pins
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False
    )
    entry_hash: Mapped[bytes] = mapped_column(LargeBinary(32))  # that entry's hash
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC time of signing
    key_id: Mapped[str] = mapped_column(String(64))  # SHA-256 of the public key, hex
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))  # Ed25519 over the canonical statement


class CasePurge(Base):
    """A case whose personal content was removed under the retention policy (irreversible)."""

    __tablename__ = "case_purges"

    case_id: Mapped[uuid.UUID] = mapped_column(  # the purged case (its row and reference stay)
        Uuid, ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(30))  # the case's status when purged
    status_since: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it entered that status
    purged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # UTC time of the purge
