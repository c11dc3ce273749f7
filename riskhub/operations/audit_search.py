"""Searching the access log for auditors: filters, keyset pages, names for the ids, CSV export.

Every page is "the newest N entries below seq X" over an index that starts with the filtered
column and ends with seq, so a page costs the same at a thousand entries or ten million. X
travels in links sealed (`cursor`): an agency's auditor, who sees only their own staff's
entries, is never shown a place in the whole log, whose gaps would tell how busy the other
agencies were in between.
"""

from __future__ import annotations

import base64
import binascii
import csv
import io
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, g, has_request_context
from sqlalchemy import Select, select, text

from riskhub.crypto import CASE_CONTENT, CryptoError
from riskhub.extensions import db
from riskhub.models.accounts import Agency, User
from riskhub.models.audit import AccessLogEntry
from riskhub.models.base import as_utc, field_cipher

ENTRY_COLUMNS = ("seq", "at", "user_id", "agency_id", "roles", "action", "object_type", "object_id",
                 "case_ref", "sections", "purpose", "outcome", "request_id", "client_address")


@dataclass
class Filters:
    """What an auditor asked for; every field optional."""

    user_id: uuid.UUID | None = None
    agency_id: uuid.UUID | None = None
    case_ref: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None  # UTC, inclusive
    until: datetime | None = None  # UTC, exclusive

    def describe(self) -> str:
        """The filters for the access log's purpose column: ids, codes and dates only."""
        parts = [f"{name}={value}" for name, value in (
            ("user", self.user_id), ("agency", self.agency_id), ("case", self.case_ref), ("action", self.action),
            ("outcome", self.outcome), ("from", self.since and self.since.date()),
            ("to", self.until and self.until.date())) if value]
        return ("search " + " ".join(parts))[:200]


@dataclass
class Entry:
    """One access-log entry with the names an auditor needs (staff and agency names, never case content)."""

    seq: int
    at: datetime
    user_id: uuid.UUID | None
    agency_id: uuid.UUID | None
    roles: str
    action: str
    object_type: str | None
    object_id: str | None
    case_ref: str | None
    sections: str
    purpose: str | None
    outcome: str
    request_id: str | None
    client_address: str | None
    user_name: str = ""
    agency_name: str = ""


@dataclass
class Page:
    entries: list[Entry]
    next_before: str | None  # the `cursor` to pass as `before` for the next (older) page
    extra: dict[str, Any] = field(default_factory=dict)


def timezone() -> ZoneInfo:
    return ZoneInfo(current_app.config["AUDIT_TIMEZONE"])


def day_bounds(first: date | None, last: date | None) -> tuple[datetime | None, datetime | None]:
    """Local calendar days (inclusive) as a UTC half-open range."""
    zone = timezone()
    since = datetime.combine(first, time(), zone) if first else None
    until = datetime.combine(last + timedelta(days=1), time(), zone) if last else None
    return since, until


def local(moment: datetime | None) -> str:
    """A time as the auditor reads it: local date and time with the zone's abbreviation."""
    if moment is None:
        return ""
    return as_utc(moment).astimezone(timezone()).strftime("%d %b %Y %H:%M:%S %Z")


def limit_query_time() -> None:
    """On PostgreSQL, stop any one query of this request after AUDIT_STATEMENT_TIMEOUT_MS."""
    if db.engine.dialect.name == "postgresql":
        milliseconds = int(current_app.config["AUDIT_STATEMENT_TIMEOUT_MS"])
        db.session.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))


def entry_columns() -> list[Any]:
    table = AccessLogEntry.__table__
    return [table.c[name] for name in ENTRY_COLUMNS]


def agency_scope() -> uuid.UUID | None:
    """The agency whose staff's entries this request may read, or None for the whole log. The
    audit pages set it from the policy (`policy.audit_scope`); outside a request it is the whole log."""
    return g.get("audit_agency_scope") if has_request_context() else None


def in_scope(query: Select[Any]) -> Select[Any]:
    """`query` over the access log, limited to the request's agency scope if it has one."""
    scope = agency_scope()
    return query if scope is None else query.where(AccessLogEntry.__table__.c.agency_id == scope)


def entries() -> Select[Any]:
    """Every column of the entries the request may read: the start of each query of the log an auditor sees."""
    return in_scope(select(*entry_columns()))


def filtered(filters: Filters, before: int | None = None) -> Select[Any]:
    """The query for entries matching the filters, newest first, below the `before` cursor."""
    c = AccessLogEntry.__table__.c
    query = entries()
    if filters.user_id:
        query = query.where(c.user_id == filters.user_id)
    if filters.agency_id:
        query = query.where(c.agency_id == filters.agency_id)
    if filters.case_ref:
        query = query.where(c.case_ref == filters.case_ref)
    if filters.action:
        if filters.action.endswith("*"):
            query = query.where(c.action.startswith(filters.action[:-1], autoescape=True))
        else:
            query = query.where(c.action == filters.action)
    if filters.outcome:
        query = query.where(c.outcome == filters.outcome)
    if filters.since:
        query = query.where(c.at >= filters.since)
    if filters.until:
        query = query.where(c.at < filters.until)
    if before:
        query = query.where(c.seq < before)
    return query.order_by(c.seq.desc())


def user_names(user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Staff names for some user ids, each user loaded once."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    return {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def agency_names() -> dict[uuid.UUID, str]:
    return dict(db.session.execute(select(Agency.id, Agency.name)).all())


def with_names(rows: Iterable[Sequence[Any]]) -> list[Entry]:
    """Turn rows into entries carrying user and agency names."""
    entries = [Entry(*row[:len(ENTRY_COLUMNS)]) for row in rows]
    names = user_names(e.user_id for e in entries if e.user_id)
    agencies = agency_names()
    for entry in entries:
        entry.user_name = names.get(entry.user_id, "") if entry.user_id else ("system" if entry.roles == "system"
                                                                              else "not signed in")
        entry.agency_name = agencies.get(entry.agency_id, "") if entry.agency_id else ""
    return entries


def cursor(seq: int) -> str:
    """A page's `before` cursor for links: the entry number sealed by the app's cipher (under
    the case-content key, bound to this use), so that no URL an auditor is given shows it."""
    sealed = field_cipher().encrypt(CASE_CONTENT, str(seq), **_CURSOR_PLACE)
    return base64.urlsafe_b64encode(sealed).decode().rstrip("=")


def cursor_seq(value: str) -> int | None:
    """The entry number a cursor was made from; None for anything `cursor` did not make."""
    try:
        sealed = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
        return int(field_cipher().decrypt(CASE_CONTENT, sealed, **_CURSOR_PLACE))
    except (ValueError, binascii.Error, CryptoError):
        return None


_CURSOR_PLACE = {"table": "access_log", "column": "paging_cursor", "row_id": "before"}


def page_of(query: Select[Any], size: int | None = None) -> Page:
    """One keyset page: `size` entries and the cursor for the next page, if there is one."""
    size = size or int(current_app.config["AUDIT_PAGE_SIZE"])
    rows = db.session.execute(query.limit(size + 1)).all()
    entries = with_names(rows[:size])
    return Page(entries, cursor(entries[-1].seq) if len(rows) > size else None)


def search(filters: Filters, before: int | None = None) -> Page:
    return page_of(filtered(filters, before))


# Spreadsheets run a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_HEADER = ("Entry", "Time (UTC)", "User", "User id", "Agency", "Roles at the time", "Action", "Object type",
              "Object id", "Case reference", "Sections", "Purpose", "Outcome", "Request id", "Client address")


def spreadsheet_safe(value: Any) -> str:
    """A cell value no spreadsheet will run as a formula: such cells get a leading quote."""
    cell = "" if value is None else str(value)
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def export_part(filters: Filters, before: int | None) -> tuple[str, list[Entry], str | None]:
    """One CSV file of at most AUDIT_EXPORT_MAX_ROWS entries, and the cursor of the next file."""
    cap = int(current_app.config["AUDIT_EXPORT_MAX_ROWS"])
    page = page_of(filtered(filters, before), cap)
    first = 0 if agency_scope() is None else 1  # an agency's auditor is given no entry numbers
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER[first:])
    for e in page.entries:
        writer.writerow([spreadsheet_safe(v) for v in (
            e.seq, as_utc(e.at).isoformat(timespec="seconds"), e.user_name, e.user_id, e.agency_name, e.roles,
            e.action, e.object_type, e.object_id, e.case_ref, e.sections, e.purpose, e.outcome, e.request_id,
            e.client_address)[first:]])
    return out.getvalue(), page.entries, page.next_before
