"""A synthetic deployment at a chosen volume, for benchmarks (`riskhub bench-data --cases N`).

Everything goes through the operations layer, so it is encrypted, indexed and logged in the
access-log hash chain exactly as real data is. At 20,000 cases it makes what a large area
holds: 60,000 assessments of both sides, 1,500 meetings with agendas and minutes, 80,000
safety actions, 200 users in 30 agencies and 1,000,000 access-log entries. People, places
and numbers are invented; the same seed gives the same content (ids, nonces and meeting
references are random, as in production). This module makes the agencies, users and cases;
`riskhub.bench_data` adds the meetings, actions and access log and holds the command.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import click

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, Role, User, UserRole
from riskhub.models.cases import Case, WorkerSide
from riskhub.models.events import EventKind
from riskhub.operations import (
    OperationError,
    accounts,
    assessments,
    cases,
    events,
)

LARGE_CASES = 20_000


def _words(text: str, sep: str | None = None) -> list[str]:
    return text.split(sep)


GIVEN = _words("Aisha Amy Beth Carys Chloe Dana Eilidh Emma Fatima Grace Hana Isla Jade Kasia Leah Maya Nadia Niamh "
         "Olivia Priya Rosa Sara Siobhan Tegan Zofia Amara Bronwen Joanne Lucy Mei")
MEN = _words("Adam Ben Callum Darren Dean Imran Jamal Kyle Lee Liam Marek Mark Neil Owen Paul Reece Ryan Scott "
       "Stuart Tom Wayne Zak Dale Gary Jason")
CHILDREN = _words("Alfie Ava Ellie Finn Isaac Lily Mia Noah Oscar Ruby Sam Theo Zara Leo")
FAMILY = _words("Ahmed Baker Brennan Campbell Davies Evans Fraser Hughes Jones Kaur Kowalski Lewis Mackenzie Morgan "
          "Nowak Okafor Patel Price Qureshi Rahman Roberts Shah Smith Taylor Thomas Walsh Williams Wright "
          "Holt Khan Murphy Reid Singh Ward Young")
STREETS = _words("Larch Close,Quay Street,Heather Row,Mill Lane,Station Road,Park View,Church Walk,Elm Grove", ",")
TOWNS = ("Northtown NT", "Porthaven PH", "Glenby GB", "Ashford Vale AV", "Kingsmere KM")
KINDS = ([AgencyKind.SURVIVOR_SUPPORT] * 6 + [AgencyKind.POLICE] * 3 + [AgencyKind.PERPETRATOR_PROGRAMME] * 2
         + [AgencyKind.CHILDRENS_SERVICES] * 4 + [AgencyKind.HEALTH] * 5 + [AgencyKind.HOUSING] * 4
         + [AgencyKind.PROBATION] * 2 + [AgencyKind.OTHER] * 4)

@dataclass(frozen=True)
class Volume:
    """How much of everything to make for a number of cases (proportional to the large setting)."""

    cases: int
    agencies: int
    users: int
    meetings: int
    actions: int
    access_log: int

    @classmethod
    def for_cases(cls, cases: int) -> Volume:
        share = cases / LARGE_CASES
        return cls(cases=cases, agencies=30 if cases >= 1000 else 10, users=200 if cases >= 1000 else 24,
                   meetings=max(3, round(1500 * share)), actions=round(80_000 * share),
                   access_log=round(1_000_000 * share))


@dataclass
class World:
    """What later phases need from earlier ones (ids, and the users and agencies loaded once)."""

    rng: random.Random
    volume: Volume
    today: date
    agencies: dict[AgencyKind, list[Any]] = field(default_factory=dict)
    users: dict[Any, list[Any]] = field(default_factory=dict)  # agency id -> practitioner ids
    chairs: list[Any] = field(default_factory=list)
    emails: dict[Any, str] = field(default_factory=dict)
    cases: list[tuple[Any, str]] = field(default_factory=list)  # (id, reference), oldest first
    first_meeting: dict[int, int] = field(default_factory=dict)  # case number -> meeting number
    manifest: dict[str, Any] = field(default_factory=dict)
    filler_people: list[tuple[Any, Any]] = field(default_factory=list)
    refused_events: int = 0

    loaded: dict[Any, Any] = field(default_factory=dict)  # users and agencies, kept across batches

    def user(self, user_id: Any) -> User:
        if user_id not in self.loaded:
            self.loaded[user_id] = db.session.get(User, user_id)
        return self.loaded[user_id]

    def agency(self, agency_id: Any) -> Agency:
        if agency_id not in self.loaded:
            self.loaded[agency_id] = db.session.get(Agency, agency_id)
        return self.loaded[agency_id]

    def practitioner(self, kind: AgencyKind) -> User:
        agency = self.rng.choice(self.agencies[kind])
        return self.user(self.rng.choice(self.users[agency]))


@contextmanager
def phase(label: str, length: int, timings: dict[str, float]) -> Iterator[Callable[[int], None]]:
    """A progress bar for one phase, its time recorded."""
    started = time.monotonic()
    with click.progressbar(length=length, label=f"{label:<22}", show_pos=True, file=sys.stderr) as bar:
        yield bar.update
    timings[label] = round(time.monotonic() - started, 1)


def commit_batch() -> None:
    """Commit the batch and forget its objects (the session scans them on every flush).

    Users and agencies stay: batches are committed without expiring them (see `generate`).
    The batch's access-log entries go in with it, appended together as a request's are.
    """
    audit.commit_pending()
    for obj in list(db.session.identity_map.values()):
        if not isinstance(obj, User | Agency | UserRole) and obj in db.session:
            db.session.expunge(obj)


@contextmanager
def one_password_hash(password: str) -> Iterator[None]:
    """Hash the shared password once and let create_user reuse that hash for every generated
    user: argon2 at its production cost takes about a quarter of a second per hash here."""
    shared = accounts.hash_password(password)
    original = accounts.hash_password
    accounts.hash_password = lambda _password: shared  # type: ignore[assignment]
    try:
        yield
    finally:
        accounts.hash_password = original


def make_accounts(world: World, password: str, timings: dict[str, float]) -> None:
    """Agencies of every kind and users of every role.

    Users are made by accounts.create_user; they share one password (and its one argon2 hash,
    see `one_password_hash`), written to the bench manifest, because the data is synthetic.
    """
    rng, volume = world.rng, world.volume
    kinds = KINDS if volume.agencies == 30 else KINDS[::3]
    with phase("agencies and users", volume.agencies + volume.users, timings) as step, one_password_hash(password):
        agencies = []
        for number, kind in enumerate(kinds[:volume.agencies]):
            agency = accounts.create_agency(f"{rng.choice(TOWNS)[:-3]} {kind.label} {number + 1}", kind,
                                            actor=audit.SYSTEM)
            world.agencies.setdefault(kind, []).append(agency.id)
            world.loaded[agency.id] = agency
            agencies.append(agency)
            step(1)
        wanted = {Role.CHAIR: max(2, volume.users // 25), Role.AUDITOR: max(1, volume.users // 50),
                  Role.ADMIN: max(1, volume.users // 100)}
        for number in range(volume.users):
            agency = agencies[number % len(agencies)]
            roles = {Role.PRACTITIONER}  # every agency's first user is a practitioner
            chairing = agency.kind in (AgencyKind.POLICE, AgencyKind.SURVIVOR_SUPPORT)
            if number >= len(agencies) and chairing and len(world.chairs) < wanted[Role.CHAIR]:
                roles = {Role.CHAIR, Role.PRACTITIONER}
            elif number >= len(agencies) and not chairing and not agency.perpetrator_facing and wanted[Role.AUDITOR]:
                # Information governance of an agency that reviews every agency's entries (a
                # programme's own auditor would review its staff's only).
                roles, wanted[Role.AUDITOR] = {Role.AUDITOR}, wanted[Role.AUDITOR] - 1
            elif number >= len(agencies) and not chairing and wanted[Role.ADMIN]:
                roles, wanted[Role.ADMIN] = {Role.ADMIN}, wanted[Role.ADMIN] - 1
            given, family = rng.choice(GIVEN + MEN), rng.choice(FAMILY)
            user = accounts.create_user(agency=agency, email=f"{given}.{family}.{number}@bench.riskhub.test".lower(),
                                        name=f"{given} {family}", roles=roles, password=password, actor=audit.SYSTEM)
            world.emails[user.id] = user.email or ""
            world.loaded[user.id] = user
            if Role.CHAIR in roles:
                world.chairs.append(user.id)
            if Role.PRACTITIONER in roles:
                world.users.setdefault(agency.id, []).append(user.id)
            step(1)
        commit_batch()


def sharing_protocol(world: World) -> None:
    """Where riskhub has information-sharing protocols, one in force between every agency for
    everything the programme may tell survivor services (nothing ever flows the other way)."""
    try:
        from riskhub.models.partnerships import Category, FlowDirection
        from riskhub.operations import partnerships
    except ImportError:
        return
    agencies = frozenset(a for ids in world.agencies.values() for a in ids)
    partnerships.create_protocol(partnerships.ProtocolPlan(
        title="Area information-sharing protocol", party_agency_ids=agencies,
        effective_from=world.today - timedelta(days=4 * 365), review_on=world.today + timedelta(days=365),
        legal_basis="safeguarding", flows=frozenset((c, FlowDirection.TO_SURVIVOR_SIDE) for c in Category)),
        by=None)


def _person(rng: random.Random, names: list[str], age: tuple[int, int], today: date) -> cases.PersonDetails:
    born = today - timedelta(days=rng.randint(age[0] * 365, age[1] * 365))
    return cases.PersonDetails(rng.choice(names), rng.choice(FAMILY), born if rng.random() < 0.9 else None)


def _contact(rng: random.Random) -> cases.ContactDetails:
    town = rng.choice(TOWNS)
    return cases.ContactDetails(
        f"{rng.randint(1, 120)} {rng.choice(STREETS)}, {town}{rng.randint(1, 9)} {rng.randint(1, 9)}QP",
        f"07700 9{rng.randint(0, 99999):05d}", "", rng.choice(("Weekdays 10:00-14:00", "Text first", "Via IDVA")),
        rng.choice(("Home landline", "Shared email account", "Letters to the house", "")))


def _assess(world: World, case: Case, side: str, assessor: User, on: date) -> None:
    rng = world.rng
    form = assessments.current_form(side)
    if side == "survivor":
        yes = rng.choice((4, 8, 11, 12, 14, 15, 17, 19))
        answers = {item.id: ("yes" if i < yes else rng.choice(("no", "unknown"))) for i, item in enumerate(form.items)}
        submission = assessments.Submission(assessed_on=on, answers=answers, sources={},
                                            police_callouts=rng.randint(0, 8), notes="Completed with her by phone")
    else:
        answers = {item.id: rng.choice(("0", "1", "2", "unknown")) for item in form.items}
        submission = assessments.Submission(assessed_on=on, answers=answers, sources={},
                                            judgement_level=rng.choice(("low", "medium", "medium", "high")),
                                            firearms_access=rng.choice(("no", "no", "unknown", "yes")))
    assessments.record_assessment(case, form, submission, assessor=assessor)


def make_case(world: World, number: int, created: datetime) -> None:
    """One case: people, contact, agencies, workers, three assessments, events and a note."""
    rng, today = world.rng, world.today
    creator = world.practitioner(rng.choice((AgencyKind.SURVIVOR_SUPPORT,) * 3 + (AgencyKind.POLICE,)))
    case = cases.create_case(
        creator=creator, survivor=_person(rng, GIVEN, (17, 70), today),
        perpetrators=[_person(rng, MEN, (18, 70), today)], contact=_contact(rng),
        survivor_profile=cases.SurvivorProfile(language=rng.choice(("English",) * 6 + ("Polish", "Urdu", "Welsh")),
                                               gender="female", pregnant=rng.choice(("no", "no", "yes", ""))),
        perpetrator_profile=cases.PerpetratorProfile(relationship=rng.choice(("partner", "ex_partner", "family")),
                                                     weapons_access=rng.choice(("no", "unknown", "yes"))))
    case.created_at = created  # history: the case was opened on this date
    programme = rng.random() < 0.6
    wanted = [AgencyKind.POLICE] + ([AgencyKind.PERPETRATOR_PROGRAMME] if programme else [])
    children = rng.choice((0, 0, 0, 1, 1, 2, 3))
    if children:
        wanted.append(AgencyKind.CHILDRENS_SERVICES)
    wanted += rng.sample((AgencyKind.HEALTH, AgencyKind.HOUSING, AgencyKind.PROBATION, AgencyKind.SURVIVOR_SUPPORT),
                         rng.randint(0, 2))
    involved = {kind: rng.choice(world.agencies[kind]) for kind in wanted}
    for agency_id in involved.values():
        cases.involve_agency(case, world.agency(agency_id), by=creator)
    for child in range(children):
        cases.add_child(case, rng.choice(CHILDREN), case.survivor.family_name or "", rng.randint(0, 16),  # type: ignore[union-attr]
                        child < 2, by=creator)
    span = max(1, (today - created.date()).days)
    survivor_assessor = creator if creator.agency.kind != AgencyKind.POLICE else world.practitioner(AgencyKind.POLICE)
    _assess(world, case, "survivor", survivor_assessor, created.date())
    _assess(world, case, "survivor", survivor_assessor, created.date() + timedelta(days=rng.randint(0, min(span, 120))))
    if programme:
        worker = world.user(rng.choice(world.users[involved[AgencyKind.PERPETRATOR_PROGRAMME]]))
        cases.assign_worker(case, worker, WorkerSide.PERPETRATOR, by=worker)
        _assess(world, case, "perpetrator", worker, created.date() + timedelta(days=rng.randint(0, min(span, 30))))
        for _ in range(rng.randint(1, 2)):
            kind = rng.choice((EventKind.STARTED, EventKind.ATTENDED, EventKind.MISSED, EventKind.DISCLOSURE))
            on = created.date() + timedelta(days=rng.randint(0, min(span, 60)))
            try:
                events.record_event(case, kind, on, "Session notes", by=worker)
            except OperationError:  # e.g. no information-sharing protocol in force: refused and logged
                world.refused_events += 1
    else:
        police = world.user(rng.choice(world.users[involved[AgencyKind.POLICE]]))
        _assess(world, case, "perpetrator", police, created.date() + timedelta(days=rng.randint(0, min(span, 30))))
    cases.add_note(case, "Spoke with her; safety plan reviewed.", by=creator, confidential=rng.random() < 0.3)
    world.cases.append((case.id, case.reference))


def meeting_time(world: World, number: int) -> datetime:
    """Past meetings spread over three years up to yesterday; the last few are upcoming."""
    upcoming = max(2, world.volume.meetings // 50)
    past = world.volume.meetings - upcoming
    start = datetime.combine(world.today, datetime.min.time(), tzinfo=UTC).replace(hour=9, minute=30)
    if number >= past:
        return start + timedelta(days=2 + 7 * (number - past))
    return start - timedelta(days=3 * 365) + timedelta(days=(3 * 365 - 1) * number / max(1, past))


def plan_first_meetings(world: World) -> None:
    """Which meeting first hears each case: cases are spread evenly over the meetings, oldest first."""
    count, meetings_total = world.volume.cases, world.volume.meetings
    world.first_meeting = {number: min(meetings_total - 1, number * meetings_total // count)
                           for number in range(count)}


def each_case(world: World, batch: int) -> Iterator[bool]:
    """Make the cases oldest first, committing every `batch` and after the last; yield after
    each case whether it has been committed (so another process may now read it and those before)."""
    count = world.volume.cases
    for number in range(count):
        opened = min(meeting_time(world, world.first_meeting[number]), datetime.now(UTC) - timedelta(days=1))
        make_case(world, number, opened - timedelta(days=world.rng.randint(14, 45)))
        committed = number % batch == batch - 1 or number == count - 1
        if committed:
            commit_batch()
        yield committed


def make_cases(world: World, timings: dict[str, float], batch: int) -> None:
    with phase("cases", world.volume.cases, timings) as step:
        for _committed in each_case(world, batch):
            step(1)
