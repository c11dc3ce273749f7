"""`riskhub bench-data`: the meetings, safety actions and access log of a synthetic deployment,
on top of the agencies, users and cases made by `riskhub.demo_scale`, and the command itself.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import queue
import random
import time
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import func, insert, select, text

from riskhub import audit
from riskhub.demo_scale import (
    Volume,
    World,
    commit_batch,
    each_case,
    make_accounts,
    make_cases,
    meeting_time,
    phase,
    plan_first_meetings,
    sharing_protocol,
)
from riskhub.extensions import db
from riskhub.models.accounts import AgencyKind, Role, User
from riskhub.models.audit import AccessLogEntry, AuditChainHead
from riskhub.models.cases import Case
from riskhub.models.meetings import ActionStatus, AttendanceKind, Meeting, NotDoneReason
from riskhub.models.referrals import Consent, ReferralReason
from riskhub.operations import (
    actions,
    meeting_run,
    meetings,
    referrals,
)
from riskhub.operations.audit_checkpoints import checkpoint_if_due

FILLER = (("case.view", "summary,people,assessments,actions"), ("meeting.case_view", "summary,assessments,minutes"),
          ("agenda.view", "assessments"), ("actions.list", "actions"), ("assessment.view", "assessments"),
          ("case.alerts", "programme_events"))


def _referrer(world: World, case: Case) -> User:
    return world.user(world.rng.choice(world.users[case.created_by_agency_id]))


def _attend(world: World, meeting: Meeting, chair: User) -> None:
    """The chair and about eight agencies' practitioners attend and sign; one agency sends apologies."""
    row = meeting_run.add_attendance(meeting, AttendanceKind.ATTENDEE, chair.agency, user=chair, by=chair)
    meeting_run.confirm_confidentiality(meeting, row, by=chair)
    agencies = world.rng.sample(sorted(world.users, key=str), 9)
    for agency_id in agencies[:8]:
        user = world.user(world.rng.choice(world.users[agency_id]))
        if user.id != chair.id:
            row = meeting_run.add_attendance(meeting, AttendanceKind.ATTENDEE, user.agency, user=user, by=chair)
            meeting_run.confirm_confidentiality(meeting, row, by=chair)
    meeting_run.add_attendance(meeting, AttendanceKind.APOLOGY, world.agency(agencies[8]), name="Duty manager",
                               info_sent_on=meeting.starts_at.date(), by=chair)


def _hear(world: World, item: Any, chair: User, per_item: float) -> None:
    """Minutes, the agreed actions and the case marked heard."""
    rng, case = world.rng, item.case
    meeting_run.save_minutes(item, minutes="Risk discussed; agencies shared what they hold.",
                             decisions="Actions agreed as listed.", informs_survivor="IDVA", version=item.version,
                             by=chair, survivor_minutes="She wants contact through the IDVA only.",
                             survivor_version=item.survivor_minutes_version)
    owners = sorted(case.agency_ids, key=str)
    for _ in range(int(per_item) + (rng.random() < per_item % 1)):
        agency_id = rng.choice(owners)
        person = rng.choice(world.users[agency_id]) if rng.random() < 0.6 else None
        deadline = item.meeting.starts_at.date() + timedelta(days=rng.randint(7, 42))
        actions.agree_action(item, actions.ActionPlan(
            rng.choice(("Flag the address for an urgent response", "Review the safety plan with her",
                        "Share the bail conditions with the IDVA", "Home visit by the health visitor",
                        "Check school attendance of the children", "Offer a place on the programme")),
            agency_id, person, deadline), by=chair)
    meeting_run.mark_heard(item, by=chair)


def make_meetings(world: World, step: Callable[[int], None], ready: Callable[[int], None]) -> None:
    """Past meetings held and closed (16 cases each, some repeats), then the upcoming ones.

    `ready(n)` returns once the first n cases have been committed (see `CasesMadeApart`)."""
    rng, volume = world.rng, world.volume
    upcoming = max(2, volume.meetings // 50)
    past = volume.meetings - upcoming
    per_item = volume.actions / max(1, past * 16)
    by_meeting: dict[int, list[int]] = {}
    for number, meeting_number in world.first_meeting.items():
        by_meeting.setdefault(meeting_number, []).append(number)
    heard: list[int] = []
    everyone = frozenset(a for ids in world.agencies.values() for a in ids)
    for number in range(volume.meetings):
        chair = world.user(world.chairs[number % len(world.chairs)])
        plan = meetings.MeetingPlan(starts_at=datetime.now(UTC) + timedelta(days=1), duration_minutes=240,
                                    venue="Civic Centre, Room 2", online_link="", agency_ids=everyone)
        meeting = meetings.schedule_meetings(plan, chair=chair)[0]
        meeting.starts_at = meeting_time(world, number)  # history: it was (or will be) held then
        chosen = by_meeting.get(number, [])[:16]
        ready(max(chosen, default=-1) + 1)
        # `heard` can hold a case twice (heard again long after); a meeting takes it once.
        repeats = [n for n in dict.fromkeys(rng.sample(heard, min(len(heard), 24))) if n not in chosen]
        chosen += repeats[:16 - len(chosen)]
        for case_number in chosen:
            case = db.session.get(Case, world.cases[case_number][0])
            assert case is not None
            referral = referrals.refer_case(case, by=_referrer(world, case), consent=Consent.GIVEN,
                                            reasons={ReferralReason.PROFESSIONAL_JUDGEMENT})
            meetings.add_case(meeting, referral, by=chair)
        if number < past:
            meeting_run.start_meeting(meeting, by=chair)
            _attend(world, meeting, chair)
            for item in [i for i in meeting.items if i.case is not None]:
                _hear(world, item, chair, per_item)
            meeting_run.close_meeting(meeting, by=chair)
            heard += [n for n in chosen if n not in heard[-2000:]]
        else:  # on an open agenda now: not a repeat for the next upcoming meeting
            heard = [n for n in heard if n not in chosen]
        if number == past:  # the next meeting is under way: the agenda view the bench reads
            meeting_run.start_meeting(meeting, by=chair)
            _attend(world, meeting, chair)
            world.manifest["meeting"] = {"reference": meeting.reference, "chair": world.emails[chair.id],
                                         "items": [str(i.id) for i in meeting.items if i.case is not None]}
        commit_batch()
        step(1)


class CasesMadeApart:
    """The cases made by a forked process while this one holds the meetings.

    The child makes them exactly as `make_cases` does, in the world as it was at the fork (its
    random stream included), committing every batch, and sends the (id, reference) of each
    committed batch. `ready` waits for the cases a meeting hears."""

    def __init__(self, world: World, batch: int) -> None:
        self.world, self.seconds, self.finished = world, 0.0, False
        context = multiprocessing.get_context("fork")
        self.messages: Any = context.Queue()
        # Neither process may use a connection the other opened: the child starts with an
        # empty pool, and this one opens new connections after the fork.
        db.engine.dispose()
        self.process = context.Process(target=self._make, args=(batch,), name="riskhub bench cases", daemon=True)
        self.process.start()

    def _make(self, batch: int) -> None:  # in the child
        try:
            started, sent = time.monotonic(), 0
            for committed in each_case(self.world, batch):
                if committed:
                    self.messages.put(("committed", self.world.cases[sent:]))
                    sent = len(self.world.cases)
            self.messages.put(("done", (self.world.refused_events, time.monotonic() - started)))
        except BaseException:
            self.messages.put(("failed", traceback.format_exc()))
        finally:
            db.session.close()
            db.engine.dispose()

    def _take(self) -> None:
        """Wait for the child's next word and act on it; stop if the child has gone silent for good."""
        try:
            word, detail = self.messages.get(timeout=1)
        except queue.Empty:
            if not self.process.is_alive():
                raise click.ClickException(f"The process making the cases stopped (exit code "
                                           f"{self.process.exitcode}) before it had made them all") from None
            return
        if word == "failed":
            raise click.ClickException(f"Making the cases failed:\n{detail}")
        if word == "done":
            self.world.refused_events, self.seconds = detail
            self.finished = True
        else:
            self.world.cases.extend(detail)

    def ready(self, count: int) -> None:
        while len(self.world.cases) < count:
            self._take()

    def finish(self) -> float:
        """Wait for the child to make the rest; how long it took."""
        while not self.finished:
            self._take()
        self.process.join()
        return self.seconds

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def make_cases_and_meetings(world: World, timings: dict[str, float], batch: int) -> None:
    """The cases, then the meetings that hear them (the meetings draw from a random stream of
    their own, so both backends make the same meetings from the same seed).

    On PostgreSQL the cases are made by a second process while this one holds the meetings, each
    meeting waiting until its cases are committed: both are mostly Python, and the machine has
    more than one core. SQLite has one writer at a time, so there they are made in turn."""
    plan_first_meetings(world)
    meetings_rng = random.Random(world.rng.getrandbits(64))
    if db.engine.dialect.name == "sqlite":
        make_cases(world, timings, batch)
        world.rng = meetings_rng
        with phase("meetings", world.volume.meetings, timings) as step:
            make_meetings(world, step, ready=lambda _count: None)
        return
    audit.commit_pending()  # the protocol and anything else noted go in before the fork
    started = time.monotonic()
    # The bar counts the meetings: they wait for their cases, so they finish last.
    with phase("cases and meetings", world.volume.meetings, timings) as step:
        maker = CasesMadeApart(world, batch)
        world.rng = meetings_rng
        try:
            make_meetings(world, step, maker.ready)
            timings["meetings"] = round(time.monotonic() - started, 1)
            timings["cases"] = round(maker.finish(), 1)
        finally:
            maker.stop()


def report_on_actions(world: World, timings: dict[str, float], batch: int) -> None:
    """Owners report on actions whose deadline has passed: most done, some not, a few overdue."""
    rng, model = world.rng, actions.SafetyAction
    due = list(db.session.scalars(select(model.id).where(model.deadline < world.today).order_by(model.deadline)))
    with phase("action updates", len(due), timings) as step:
        for start in range(0, len(due), batch):
            chunk = list(db.session.scalars(select(model).where(model.id.in_(due[start:start + batch]))))
            for action in sorted(chunk, key=lambda a: (a.deadline, str(a.id))):
                roll = rng.random()
                if roll >= 0.9:
                    continue  # left open: overdue
                by = world.user(action.owner_user_id or rng.choice(world.users[action.owner_agency_id]))
                done = roll < 0.82
                actions.update_action(
                    action, status=ActionStatus.DONE if done else ActionStatus.NOT_DONE,
                    note="Done and recorded." if done else "Could not be done in time.",
                    reason=None if done else rng.choice(list(NotDoneReason)), version=action.version, by=by,
                    today=action.deadline)
            commit_batch()
            step(len(chunk))


def _chained_rows(world: World, count: int, seq: int, prev: bytes) -> tuple[list[dict[str, Any]], bytes]:
    """`count` access-log rows after entry `seq`, hashed exactly as audit.record hashes them."""
    rng, rows = world.rng, []
    people = world.filler_people
    for number in range(1, count + 1):
        user_id, agency_id = rng.choice(people)
        action, sections = rng.choice(FILLER)
        row = {"seq": seq + number, "at": datetime.now(UTC), "user_id": user_id, "agency_id": agency_id,
               "roles": "practitioner", "action": action, "object_type": "case", "object_id": None,
               "case_ref": rng.choice(world.cases)[1], "sections": sections, "purpose": None,
               "outcome": audit.ALLOWED, "request_id": None, "client_address": None}
        prev = audit.chained_row(prev, row)
        rows.append(row)
        checkpoint_if_due(row["seq"], prev)
    return rows, prev


def fill_access_log(world: World, timings: dict[str, float], batch: int) -> None:
    """Top the log up to the target with the everyday reading the operations above do not do:
    case pages, agenda views and action lists by practitioners.

    These are appended in bulk rather than one `audit.record` at a time (a million ORM appends
    alone would take longer than the whole budget), but each row is built, hashed and chained
    by riskhub.audit's own code, so `riskhub audit verify` checks them like any other.
    """
    def head() -> AuditChainHead:
        found = db.session.get(AuditChainHead, 1, populate_existing=True)
        assert found is not None
        return found

    audit.commit_pending()  # nothing noted may be appended behind the bulk rows' backs
    wanted = max(0, world.volume.access_log - head().seq)
    world.filler_people = [(uid, agency) for agency, ids in world.users.items() for uid in ids]
    with phase("access log", wanted, timings) as step:
        for start in range(0, wanted, batch):
            count, current = min(batch, wanted - start), head()
            rows, last = _chained_rows(world, count, current.seq, bytes(current.last_hash))
            db.session.execute(insert(AccessLogEntry), rows)
            current.seq, current.last_hash = current.seq + count, last
            commit_batch()
            step(count)


def refresh_statistics(timings: dict[str, float]) -> None:
    """On PostgreSQL, what autovacuum does after a bulk load: clear the dead row versions the
    updates left and give the planner the tables' real sizes.

    A deployment's autovacuum would have done this within a minute of the load; a server with
    autovacuum turned off (as some test servers are) would otherwise plan every page's queries
    from an empty table's statistics, and the benchmark would measure that instead. SQLite keeps
    no statistics unless asked, in production too, so it is left as it is.
    """
    if db.engine.dialect.name != "postgresql":
        return
    tables = db.metadata.sorted_tables
    quote = db.engine.dialect.identifier_preparer.quote
    autocommit = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with phase("statistics", len(tables), timings) as step, autocommit as connection:
        for table in tables:  # riskhub's own tables only, in the schema it uses
            connection.execute(text(f"VACUUM (ANALYZE) {quote(table.name)}"))
            step(1)


def write_manifest(world: World, password: str, path: Path) -> dict[str, Any]:
    """What the benchmark signs in as and reads: synthetic logins and references only."""
    from riskhub.models.cases import CaseAgency

    rng = world.rng
    idva_agency = world.agencies[AgencyKind.SURVIVOR_SUPPORT][0]
    open_counts = dict(db.session.execute(
        select(actions.SafetyAction.owner_user_id, func.count()).where(
            actions.SafetyAction.owner_user_id.is_not(None),
            actions.SafetyAction.status.in_(actions.OPEN_STATUSES)).group_by(actions.SafetyAction.owner_user_id)
    ).all())
    ranked = sorted(open_counts.items(), key=lambda kv: (kv[1], str(kv[0])))
    busy, busy_count = ranked[int(len(ranked) * 0.9)] if ranked else (world.users[idva_agency][0], 0)
    references = list(db.session.scalars(select(Case.reference).join(CaseAgency, CaseAgency.case_id == Case.id)
                                         .where(CaseAgency.agency_id == idva_agency).order_by(Case.reference)))
    # An auditor of every agency's entries (a programme's own reviews its staff only): the search
    # and "who saw this" the targets are about run over the whole log.
    auditor = next(u for u in db.session.scalars(select(User))
                   if Role.AUDITOR in u.roles and not u.agency.perpetrator_facing)
    world.manifest.update({
        "volume": world.volume.__dict__, "password": password,
        "practitioner": world.emails[world.users[idva_agency][0]],
        "practitioner_cases": len(references), "cases": rng.sample(references, min(200, len(references))),
        "my_actions_user": world.emails[busy], "my_actions_open": busy_count, "auditor": auditor.email,
        "access_log_entries": db.session.scalar(select(AuditChainHead.seq)),
        "programme_events_refused": world.refused_events,
    })
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(world.manifest, handle, indent=2)
    return world.manifest


def generate(cases_count: int, *, seed: int, password: str, manifest: Path, batch: int = 200) -> dict[str, Any]:
    """Make the whole deployment in an empty database; return the manifest with phase timings."""
    if db.session.scalar(select(func.count()).select_from(User)):
        raise click.ClickException("The database already has users: bench data goes into a fresh instance only")
    world = World(rng=random.Random(seed), volume=Volume.for_cases(cases_count), today=date.today())
    timings: dict[str, float] = {}
    started = time.monotonic()
    # Batches are committed without expiring what is loaded: nothing else writes meanwhile,
    # and it saves reloading every user and agency after each commit.
    db.session().expire_on_commit = False
    audit.defer()
    make_accounts(world, password, timings)
    sharing_protocol(world)
    make_cases_and_meetings(world, timings, batch)
    report_on_actions(world, timings, batch * 5)
    fill_access_log(world, timings, 5000)
    result = write_manifest(world, password, manifest)
    audit.commit_pending()
    refresh_statistics(timings)
    result["timings"] = {**timings, "total": round(time.monotonic() - started, 1)}
    return result


@click.command("bench-data")
@click.option("--cases", "cases_count", default=2000, show_default=True, type=click.IntRange(50, 200_000),
              help="20000 is a large area; everything else scales with it")
@click.option("--seed", default=20261123, show_default=True, type=int)
@with_appcontext
def bench_data_command(cases_count: int, seed: int) -> None:
    """Fill a fresh instance with a synthetic deployment for benchmarks (never real data)."""
    password = os.environ.get("RISKHUB_PASSWORD") or f"bench-{seed}-lantern-harbour"
    path = Path(current_app.instance_path) / "bench-manifest.json"
    result = generate(cases_count, seed=seed, password=password, manifest=path)
    click.echo(f"Generated {cases_count} cases in {result['timings']['total']} s; manifest in {path}")
    click.echo(json.dumps(result["timings"]))
