"""Minutes of a closed meeting, one copy per reader: the firewall decides what each copy holds."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from fpdf import FPDF

from riskhub import policy
from riskhub.assessments import LEVEL_LABELS
from riskhub.models.meetings import AgendaItem, Attendance, AttendanceKind, ItemKind, Meeting, SafetyAction
from riskhub.operations import actions as action_ops
from riskhub.operations import assessments as assessment_ops

FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
)
RESTRICTED = ("RESTRICTED: joint risk meeting minutes. Do not copy or forward. "
              "Do not disclose to the person causing harm.")


@dataclass
class CaseMinutes:
    reference: str
    levels: dict[str, str]
    repeat: bool
    heard: bool
    minutes: str
    survivor_minutes: str | None  # None: this copy may not carry it
    decisions: str
    informs_survivor: str
    actions: list[SafetyAction] = field(default_factory=list)


@dataclass
class MinutesCopy:
    meeting: Meeting
    attendees: dict[str, list[Attendance]]
    apologies: list[Attendance]
    observers: list[Attendance]
    cases: list[CaseMinutes]
    sections: frozenset[str]


def _case_minutes(item: AgendaItem, sections: frozenset[str], actions: list[SafetyAction]) -> CaseMinutes:
    latest = assessment_ops.latest_by_side(assessment_ops.assessments_of(item.case))
    return CaseMinutes(
        reference=item.case.reference, levels={side: LEVEL_LABELS[a.level] for side, a in latest.items()},
        repeat=item.repeat_referral, heard=item.heard_at is not None,
        minutes=item.minutes or "",
        survivor_minutes=(item.survivor_minutes or "") if policy.SECTION_SURVIVOR_MINUTES in sections else None,
        decisions=item.decisions or "", informs_survivor=item.informs_survivor or "",
        actions=[a for a in actions if a.case_id == item.case_id],
    )


def minutes_for(meeting: Meeting, viewer: policy.Viewer) -> MinutesCopy:
    """Assemble the copy this viewer may hold."""
    sections = policy.visible_sections(viewer, (policy.SECTION_MINUTES, policy.SECTION_SURVIVOR_MINUTES,
                                                policy.SECTION_ASSESSMENTS, policy.SECTION_ACTIONS,
                                                policy.SECTION_SURVIVOR_ACTIONS))
    actions = action_ops.actions_of_meeting(
        meeting.id, survivor_side=policy.SECTION_SURVIVOR_ACTIONS in sections)
    attendees: dict[str, list[Attendance]] = {}
    for row in meeting.attendance:
        if row.kind == AttendanceKind.ATTENDEE:
            attendees.setdefault(row.agency.name, []).append(row)
    return MinutesCopy(
        meeting=meeting, attendees=dict(sorted(attendees.items())),
        apologies=[r for r in meeting.attendance if r.kind == AttendanceKind.APOLOGY],
        observers=[r for r in meeting.attendance if r.kind == AttendanceKind.OBSERVER],
        cases=[_case_minutes(i, sections, actions) for i in meeting.items if i.kind == ItemKind.CASE],
        sections=sections,
    )


def _font(pdf: FPDF) -> str:
    for candidate in FONT_CANDIDATES:
        if Path(candidate).is_file():
            pdf.add_font("body", "", candidate)
            return "body"
    return "helvetica"


def minutes_pdf(copy: MinutesCopy) -> bytes:
    """The same copy as a PDF, marked restricted on every page."""
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=18)
    font = _font(pdf)
    unicode_font = font != "helvetica"

    def text(value: str) -> str:
        return value if unicode_font else value.encode("latin-1", "replace").decode("latin-1")

    def line(value: str, size: int = 10, height: float = 5.5) -> None:
        pdf.set_font(font, size=size)
        pdf.multi_cell(0, height, text(value), new_x="LMARGIN", new_y="NEXT")

    pdf.set_title(f"Minutes {copy.meeting.reference}")
    pdf.add_page()
    line(RESTRICTED, size=9)
    meeting = copy.meeting
    line(f"Joint risk meeting minutes: {meeting.reference}", size=16, height=9)
    line(f"Date: {meeting.starts_at:%d %B %Y %H:%M} UTC")
    line(f"Venue: {meeting.venue or 'Online'}")
    line(f"Chair: {meeting.chair.name}")
    for agency, rows in copy.attendees.items():
        confirmed = ", ".join(
            f"{r.name} ({'confidentiality signed' if r.confidentiality_confirmed_at else 'NOT signed'})" for r in rows)
        line(f"{agency}: {confirmed}")
    for row in copy.apologies:
        sent = f"information sent {row.info_sent_on:%d %B %Y}" if row.info_sent_on else "no information sent"
        line(f"Apologies: {row.name}, {row.agency.name} ({sent})")
    for row in copy.observers:
        line(f"Observer: {row.name}, {row.agency.name}")
    for case in copy.cases:
        pdf.ln(3)
        line(f"Case {case.reference}{' (repeat)' if case.repeat else ''}", size=13, height=7)
        line("Risk: " + "; ".join(f"{side} side {level}" for side, level in sorted(case.levels.items())))
        line(f"Discussion: {case.minutes or 'None recorded'}")
        if case.survivor_minutes is not None and case.survivor_minutes:
            line(f"Survivor-side only: {case.survivor_minutes}")
        line(f"Decisions: {case.decisions or 'None recorded'}")
        line(f"Informs the survivor: {case.informs_survivor or 'Not named'}")
        for action in case.actions:
            owner = action.owner_agency.name + (f", {action.owner_user.name}" if action.owner_user else "")
            marking = "Survivor-side only action" if action.survivor_only else "Action"
            line(f"{marking}: {action.description} (owner {owner}; deadline {action.deadline:%d %B %Y})")
    return bytes(pdf.output())
