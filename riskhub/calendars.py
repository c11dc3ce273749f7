"""Calendar files (RFC 5545): times, venue and an opaque meeting reference, nothing else."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from icalendar import Calendar, Event

from riskhub.models.base import as_utc, utcnow
from riskhub.models.meetings import Meeting


def meetings_calendar(meetings: Iterable[Meeting], name: str = "riskhub meetings") -> bytes:
    """An iCalendar file for the meetings; it names no case, person or address of anyone at risk."""
    cal = Calendar()
    cal.add("prodid", "-//riskhub//joint risk meetings//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    for meeting in meetings:
        event = Event()
        event.add("uid", f"{meeting.id}@riskhub")
        event.add("dtstamp", utcnow())
        starts = as_utc(meeting.starts_at)
        event.add("dtstart", starts)
        event.add("dtend", starts + timedelta(minutes=meeting.duration_minutes))
        event.add("summary", f"Joint risk meeting {meeting.reference}")
        event.add("location", meeting.venue or "Online")
        if meeting.online_link:
            event.add("url", meeting.online_link)
        event.add("description", "Restricted meeting. The agenda and papers are in riskhub only.")
        event.add("status", "CONFIRMED")
        cal.add_component(event)
    return cal.to_ical()
