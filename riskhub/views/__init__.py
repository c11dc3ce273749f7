"""Blueprints, one module per area, and the navigation every page shows."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, render_template, request, url_for
from flask_login import current_user

from riskhub import policy
from riskhub.access import CaseNotShared, current_viewer
from riskhub.forms import page_has_errors
from riskhub.operations import accounts


@dataclass(frozen=True)
class NavItem:
    label: str
    url: str
    current: bool


def navigation() -> list[NavItem]:
    """Links the signed-in user may follow, decided by the policy."""
    if not current_user.is_authenticated:
        return []
    viewer = current_viewer()
    items = [("Dashboard", "main.dashboard", True)]
    items.append(("Cases", "cases.index", policy.may_work_cases(viewer)))
    items.append(("Referral queue", "referrals.queue", policy.may_see_referral_queue(viewer)))
    items.append(("Meetings", "meetings.index", policy.may_work_cases(viewer) or policy.may_schedule_meetings(viewer)))
    items.append(("My actions", "actions.mine", policy.may_work_cases(viewer)))
    items.append(("Partner contact", "partnerships.tasks", policy.may_do_partner_contact(viewer)))
    items.append(("Partnerships", "partnerships.index",
                  policy.may_administer(viewer) or policy.may_schedule_meetings(viewer)))
    items.append(("Access log", "audit.index", policy.may_review_audit(viewer)))
    items.append(("Administration", "admin.index", policy.may_administer(viewer)))
    endpoint = request.endpoint or ""
    return [
        NavItem(label, url_for(target), endpoint.split(".")[0] == target.split(".")[0])
        for label, target, allowed in items
        if allowed
    ]


def requested_page(total: int, per_page: int) -> tuple[int, int]:
    """The page `?page=` asks for, and how many pages there are.

    Anything that is not a plain positive number shows the first page; past the end, the last.
    """
    pages = max(1, -(-total // per_page))
    number = whole_number(request.args.get("page", "1"))
    page = min(number, pages) if number else 1
    return page, pages


def whole_number(text: object, max_digits: int = 18) -> int | None:
    """A whole number written in ASCII digits 0-9 (a version, a page, a cursor), or None.

    str.isdigit() also accepts "²" and other digits int() refuses, and str.isdecimal() digits
    from other scripts; neither is what a form or link of ours sends.
    """
    if not isinstance(text, str) or not 0 < len(text) <= max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)


DO_NOT_DISCLOSE = (
    "Do not disclose to the person causing harm: nothing on this page may be shared with him "
    "or with anyone who might pass it on."
)


def page_markings() -> dict[str, str]:
    """The banner perpetrator-facing staff see on every page."""
    if current_user.is_authenticated and current_viewer().perpetrator_facing:
        return {"restricted_banner": DO_NOT_DISCLOSE}
    return {}


def case_not_shared(error: CaseNotShared) -> tuple[str, int]:
    """What someone outside a case may learn: it exists, who holds it, how to ask for access."""
    return render_template("cases/not_shared.html", error=error), 403


def register_blueprints(app: Flask) -> None:
    from riskhub.views import (
        account,
        actions,
        admin,
        assessments,
        auth,
        calendar,
        case_details,
        cases,
        main,
        meeting_run,
        meetings,
        minutes,
        partnerships,
        referrals,
    )

    for module in (auth, account, main, admin, cases, case_details, assessments, referrals, meetings, meeting_run,
                   minutes, actions, calendar, partnerships):
        app.register_blueprint(module.bp)
    from riskhub.views import audit, sharing

    app.register_blueprint(audit.bp)
    app.register_blueprint(sharing.bp)
    app.register_error_handler(CaseNotShared, case_not_shared)
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["session_time_left"] = accounts.session_time_left
    app.jinja_env.globals["page_has_errors"] = page_has_errors
    app.context_processor(page_markings)
