"""Who may do what to which thing: pure functions, no Flask, no database.

Every authorisation decision in riskhub is made here and enforced by `riskhub.access`.
Views never compare roles themselves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from riskhub.crypto import BLIND_INDEX, CASE_CONTENT, SURVIVOR_CONTACT
from riskhub.models.accounts import AgencyKind, Role

# Compartments of a case page; each view of one is named in the access log.
SECTION_SUMMARY = "summary"
SECTION_PEOPLE = "people"
SECTION_SURVIVOR_CONTACT = "survivor_contact"
SURVIVOR_ONLY_SECTIONS = frozenset({SECTION_SURVIVOR_CONTACT})


@dataclass(frozen=True)
class Viewer:
    """The facts about a signed-in user that decisions depend on."""

    user_id: uuid.UUID
    agency_id: uuid.UUID
    agency_kind: AgencyKind
    roles: frozenset[Role]

    @property
    def perpetrator_facing(self) -> bool:
        return is_perpetrator_facing(self.agency_kind)


def is_perpetrator_facing(kind: AgencyKind) -> bool:
    """Staff who work with the person causing harm: the firewall keeps survivor data from them."""
    return kind == AgencyKind.PERPETRATOR_PROGRAMME


def key_classes_for(viewer: Viewer) -> frozenset[str]:
    """The data classes whose keys a request by this viewer may use at all."""
    if viewer.perpetrator_facing:
        return frozenset({CASE_CONTENT, BLIND_INDEX})
    return frozenset({CASE_CONTENT, BLIND_INDEX, SURVIVOR_CONTACT})


def may_administer(viewer: Viewer) -> bool:
    return Role.ADMIN in viewer.roles


def may_review_audit(viewer: Viewer) -> bool:
    return Role.AUDITOR in viewer.roles


def may_work_cases(viewer: Viewer) -> bool:
    """Practitioners and chairs handle case content; auditors and admins alone do not."""
    return bool(viewer.roles & {Role.PRACTITIONER, Role.CHAIR})


def may_view_case(viewer: Viewer, involved_agency_ids: Iterable[uuid.UUID]) -> bool:
    """Only staff of an agency involved in the case (a legitimate relationship)."""
    return may_work_cases(viewer) and viewer.agency_id in set(involved_agency_ids)


def may_create_case(viewer: Viewer) -> bool:
    return may_work_cases(viewer)


def visible_sections(viewer: Viewer, requested: Iterable[str]) -> frozenset[str]:
    """The requested case sections this viewer may see; survivor-only ones never cross the firewall."""
    sections = frozenset(requested)
    if viewer.perpetrator_facing:
        sections -= SURVIVOR_ONLY_SECTIONS
    return sections


def may_view_section(viewer: Viewer, section: str) -> bool:
    return section in visible_sections(viewer, {section})
