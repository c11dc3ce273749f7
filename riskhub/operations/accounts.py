"""Agencies, users, sign-in, server-side sessions and sign-in throttling."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
import uuid
from datetime import datetime, timedelta
from functools import cache

from flask import current_app
from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import flag_modified

from riskhub import audit
from riskhub.extensions import db
from riskhub.models.accounts import Agency, AgencyKind, Role, SignInThrottle, User, UserSession
from riskhub.models.base import as_utc, field_cipher, utcnow
from riskhub.models.cases import CaseAgency
from riskhub.models.meetings import SafetyAction
from riskhub.operations import OperationError, check_version
from riskhub.passwords import hash_password, needs_rehash, password_problem, verify_password
from riskhub.policy import is_perpetrator_facing

SIGNIN_FAILED = "Email address or password not recognised"
_FAILURE_WINDOW = timedelta(hours=1)
_LAST_SEEN_GRANULARITY = timedelta(seconds=60)
_LOCK_BASE_SECONDS = 30  # first lock after the free failures; doubles with each further failure


class SignInRefused(Exception):
    """Sign-in did not succeed; the message never says whether the account exists."""


def normalise_email(email: str) -> str:
    return email.strip().lower()


# Agencies -----------------------------------------------------------------------------------

AGENCY_NAME_TAKEN = "An agency with this name already exists"


def _name_key(name: str) -> str:
    """What makes two agency names the same: letter case in any script ("Ébène", "ÉBÈNE") and
    Unicode spelling (an accent as one character or two) do not."""
    return unicodedata.normalize("NFKC", name).casefold()


def agency_name_taken(name: str, *, other_than: uuid.UUID | None = None) -> bool:
    """Whether another agency has this name. Compared here, not with SQL lower(), which on SQLite
    folds only ASCII letters; agencies are few, so reading their names is cheap."""
    wanted = _name_key(name)
    return any(_name_key(existing) == wanted
               for agency_id, existing in db.session.execute(select(Agency.id, Agency.name))
               if agency_id != other_than)


def _flush_agency() -> None:
    """Save an agency; if another request took the name since it was checked, say so."""
    try:
        db.session.flush()
    except IntegrityError:
        raise OperationError(AGENCY_NAME_TAKEN, "name") from None


def create_agency(name: str, kind: AgencyKind, *, actor: audit.Actor) -> Agency:
    """Add an agency; names are unique regardless of letter case."""
    name = " ".join(name.split())
    if not name:
        raise OperationError("Enter the agency's name", "name")
    if agency_name_taken(name):
        raise OperationError(AGENCY_NAME_TAKEN, "name")
    agency = Agency(name=name, kind=AgencyKind(kind), active=True)
    db.session.add(agency)
    _flush_agency()
    audit.record("admin.agency.create", actor=actor, object_type="agency", object_id=agency.id)
    return agency


def update_agency(agency: Agency, *, name: str, kind: AgencyKind, active: bool, actor: audit.Actor,
                  version: int | None) -> None:
    """Rename, reclassify or (de)activate an agency, refusing an edit of an out-of-date copy."""
    check_version(agency, version)
    name = " ".join(name.split())
    if not name:
        raise OperationError("Enter the agency's name", "name")
    if agency_name_taken(name, other_than=agency.id):
        raise OperationError(AGENCY_NAME_TAKEN, "name")
    if is_perpetrator_facing(AgencyKind(kind)) != is_perpetrator_facing(agency.kind) and _works_on_cases(agency):
        raise OperationError(f"{agency.name} already works on cases, so it cannot become or stop being a "
                             "perpetrator programme: what its staff may see would change on every one of them. "
                             "Add a new agency instead", "kind")
    agency.name, agency.kind, agency.active = name, AgencyKind(kind), active
    _flush_agency()
    audit.record("admin.agency.update", actor=actor, object_type="agency", object_id=agency.id)


def _works_on_cases(agency: Agency) -> bool:
    """Whether the agency is involved in any case or owns any agreed action."""
    return db.session.scalar(select(
        select(CaseAgency.case_id).where(CaseAgency.agency_id == agency.id).exists()
        | select(SafetyAction.id).where(SafetyAction.owner_agency_id == agency.id).exists())) or False


# Users --------------------------------------------------------------------------------------


def find_user_by_email(email: str) -> User | None:
    """Look a user up through the email blind index, confirming after decryption."""
    wanted = normalise_email(email)
    if not wanted:
        return None
    indexes = field_cipher().blind_index_candidates("user-email", wanted)
    for user in db.session.scalars(select(User).where(User.email_index.in_(indexes))):
        if user.email == wanted:
            return user
    return None


def _email_index(email: str) -> bytes:
    return field_cipher().blind_index("user-email", email)


def create_user(
    *,
    agency: Agency,
    email: str,
    name: str,
    roles: set[Role],
    password: str,
    actor: audit.Actor,
    must_change_password: bool = False,
) -> User:
    """Add a user to an agency with one or more roles. An admin adding someone sets
    `must_change_password`: the password they chose is for the first sign-in only."""
    email = normalise_email(email)
    name = " ".join(name.split())
    # No space, line break or other invisible character: mail cannot be addressed to it.
    if "@" not in email or len(email) > 254 or not email.isprintable() or any(c.isspace() for c in email):
        raise OperationError("Enter an email address like name@example.org", "email")
    if not name:
        raise OperationError("Enter the person's name", "name")
    if not roles:
        raise OperationError("Choose at least one role", "roles")
    problem = password_problem(password, email=email)
    if problem:
        raise OperationError(problem, "password")
    if find_user_by_email(email) is not None:
        raise OperationError("A user with this email address already exists", "email")
    user = User(agency=agency, password_hash=hash_password(password), active=True,
                must_change_password=must_change_password)
    user.email = email
    user.email_index = _email_index(email)
    user.name = name
    user.set_roles(roles)
    db.session.add(user)
    db.session.flush()
    audit.record("admin.user.create", actor=actor, object_type="user", object_id=user.id)
    return user


def set_user_roles(user: User, roles: set[Role], *, actor: audit.Actor, version: int | None) -> None:
    """Replace a user's roles, refusing a change made on an out-of-date copy of the user; an
    admin cannot take away their own admin role."""
    check_version(user, version)
    if not roles:
        raise OperationError("Choose at least one role", "roles")
    if actor.user_id == user.id and Role.ADMIN in user.roles and Role.ADMIN not in roles:
        raise OperationError("You cannot remove your own admin role: ask another admin to do it", "roles")
    user.set_roles(roles)
    # The roles live in their own rows: touch the user row too, so its version moves on and a
    # second admin's change made on the same copy is refused (here or by the version check at flush).
    flag_modified(user, "active")
    db.session.flush()
    audit.record("admin.user.roles", actor=actor, object_type="user", object_id=user.id,
                 purpose=",".join(sorted(r.value for r in roles)))


def set_user_active(user: User, active: bool, *, actor: audit.Actor) -> None:
    """Deactivating a user also ends every session they hold, at once; nobody can deactivate themselves."""
    if not active and actor.user_id == user.id:
        raise OperationError("You cannot deactivate your own account: ask another admin to do it")
    user.active = active
    db.session.flush()
    audit.record("admin.user.activate" if active else "admin.user.deactivate",
                 actor=actor, object_type="user", object_id=user.id)
    if not active:
        end_sessions(user, reason="deactivated", actor=actor)


def reset_password(user: User, password: str, *, actor: audit.Actor, version: int | None) -> None:
    """Set a new password and end the user's sessions; they choose their own at the next sign-in.
    Refused on an out-of-date copy of the user: another admin's reset just before is not
    silently replaced (each would tell the person a different password)."""
    check_version(user, version)
    problem = password_problem(password, email=user.email or "")
    if problem:
        raise OperationError(problem, "password")
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.must_change_password = True
    db.session.flush()
    audit.record("admin.user.password_reset", actor=actor, object_type="user", object_id=user.id)
    end_sessions(user, reason="password reset", actor=actor)


# Sessions -----------------------------------------------------------------------------------


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User) -> str:
    """Open a server-side session; the returned token is all the browser holds."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_token_hash(token), user_id=user.id))
    user.session_token = token
    user.session_seen_at = user.session_started_at = utcnow()
    return token


def _session_expired(row: UserSession, now: datetime) -> str | None:
    config = current_app.config
    if now - as_utc(row.last_seen_at) > timedelta(minutes=config["SESSION_IDLE_MINUTES"]):
        return "idle timeout"
    if now - as_utc(row.created_at) > timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]):
        return "lifetime reached"
    return None


@cache
def _session_by_token() -> Select[UserSession]:
    return (select(UserSession).where(UserSession.token_hash == bindparam("token_hash"))
            .options(joinedload(UserSession.user).joinedload(User.role_rows)))


def find_session(token: str) -> UserSession | None:
    """The session row of a token, with its user, their agency and roles, in one statement
    that only reads (`resume_session` decides what it means)."""
    return db.session.execute(_session_by_token(), {"token_hash": _token_hash(token)}).unique().scalar_one_or_none()


def resume_session(row: UserSession | None, token: str, *, touch: bool = True) -> User | None:
    """The user of a found session if it is live; end it if it has timed out.
    `touch=False` asks without counting as activity (the page script's "am I still signed in?")."""
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    reason = _session_expired(row, now)
    if reason is None and not row.user.is_active:
        reason = "deactivated"
    if reason:
        row.ended_at, row.end_reason = now, reason
        audit.record("session.end", actor=audit.actor_for(row.user), object_type="user",
                     object_id=row.user_id, purpose=reason)
        return None
    if touch and now - as_utc(row.last_seen_at) > _LAST_SEEN_GRANULARITY:
        row.last_seen_at = now
    row.user.session_token = token
    row.user.session_seen_at = as_utc(row.last_seen_at)
    row.user.session_started_at = as_utc(row.created_at)
    return row.user


def session_time_left(user: User) -> tuple[int, bool]:
    """How long the user's session has before the server ends it, in seconds, and whether that
    end is the lifetime limit (which no activity moves) rather than the idle sign-out."""
    config = current_app.config
    now = utcnow()
    seen = user.session_seen_at or now
    started = user.session_started_at or now
    idle_left = seen + timedelta(minutes=config["SESSION_IDLE_MINUTES"]) - now
    life_left = started + timedelta(hours=config["SESSION_ABSOLUTE_HOURS"]) - now
    return max(0, int(min(idle_left, life_left).total_seconds())), life_left <= idle_left


def end_session(token: str, reason: str = "signed out") -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _token_hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_sessions(user: User, *, reason: str, actor: audit.Actor) -> int:
    """End every live session of a user (admin "end sessions", deactivation, reset)."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    audit.record("admin.user.end_sessions", actor=actor, object_type="user", object_id=user.id,
                 purpose=reason)
    return count


def end_other_sessions(user: User, *, reason: str) -> int:
    """End every live session of the user but the one this request belongs to."""
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None),
               UserSession.token_hash != _token_hash(user.session_token or ""))
        .values(ended_at=utcnow(), end_reason=reason)
    )
    count = result.rowcount or 0  # type: ignore[attr-defined]
    audit.record("account.sessions.end_others", actor=audit.actor_for(user), object_type="user",
                 object_id=user.id, purpose=f"{count} ended")
    return count


def live_sessions(user: User) -> list[UserSession]:
    """The user's live sessions, newest first (ended and timed-out ones left out)."""
    now = utcnow()
    rows = db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.ended_at.is_(None)).order_by(UserSession.created_at.desc()))
    return [row for row in rows if _session_expired(row, now) is None]


def is_current_session(user: User, row: UserSession) -> bool:
    return row.token_hash == _token_hash(user.session_token or "")


class PasswordChangeRefused(OperationError):
    """The current password was wrong, or too many wrong ones were tried."""


def change_own_password(user: User, current: str, new: str) -> int:
    """The signed-in user replaces their password, proving it with the current one.

    Wrong current passwords count against the account as failed sign-ins do (so an unlocked
    screen is no way to guess it), with the same lock. Every other session of the user ends;
    returns how many did.
    """
    config = current_app.config
    now = utcnow()
    account_key = _throttle_key("account", normalise_email(user.email or ""))
    wait = _locked_for(_throttle_row(account_key, now), now)
    if wait:
        raise PasswordChangeRefused(f"Too many wrong passwords. {_try_again_in(wait)}", "current_password")
    if not verify_password(user.password_hash, current):
        _note_failure(account_key, config["SIGNIN_ACCOUNT_FREE_FAILURES"], now)
        audit.record("account.password_change", actor=audit.actor_for(user), outcome=audit.DENIED,
                     object_type="user", object_id=user.id, purpose="wrong current password")
        raise PasswordChangeRefused("Your current password is not right", "current_password")
    if new == current:
        raise OperationError("Choose a new password, not the one you have now", "new_password")
    problem = password_problem(new, email=user.email or "")
    if problem:
        raise OperationError(problem, "new_password")
    user.password_hash = hash_password(new)
    user.password_changed_at = now
    user.must_change_password = False
    _forget_failures(account_key)  # proven, as by a sign-in: earlier wrong guesses stop counting
    db.session.flush()
    audit.record("account.password_change", actor=audit.actor_for(user), object_type="user", object_id=user.id)
    return end_other_sessions(user, reason="password changed")


def live_session_count(user: User) -> int:
    return db.session.scalar(
        select(db.func.count()).select_from(UserSession).where(
            UserSession.user_id == user.id, UserSession.ended_at.is_(None)
        )
    ) or 0


# Sign-in and throttling ---------------------------------------------------------------------


def _throttle_key(kind: str, value: str) -> bytes:
    return hashlib.sha256(field_cipher().blind_index(f"throttle-{kind}", value)).digest()


def _throttle_row(key: bytes, now: datetime) -> SignInThrottle | None:
    row = db.session.get(SignInThrottle, key)
    if row is not None and now - as_utc(row.last_failure_at) > _FAILURE_WINDOW:
        row.failures, row.locked_until = 0, None
    return row


def _locked_for(row: SignInThrottle | None, now: datetime) -> int:
    if row is None or row.locked_until is None:
        return 0
    remaining = (as_utc(row.locked_until) - now).total_seconds()
    return max(0, int(remaining + 0.999))


def _try_again_in(wait: int) -> str:
    minutes = max(1, (wait + 59) // 60)
    return f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."


def _forget_failures(key: bytes) -> None:
    """The password was proven: the account's earlier failures stop counting."""
    row = db.session.get(SignInThrottle, key)
    if row is not None:
        db.session.delete(row)


def _note_failure(key: bytes, free: int, now: datetime) -> None:
    row = _throttle_row(key, now)
    if row is None:
        row = SignInThrottle(key=key, failures=0)
        db.session.add(row)
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    if row.failures >= free:  # the free attempts are used up: the next one waits, doubling each time
        cap = current_app.config["SIGNIN_MAX_LOCK_SECONDS"]
        row.locked_until = now + timedelta(seconds=min(cap, _LOCK_BASE_SECONDS * 2 ** (row.failures - free)))


def sign_in(email: str, password: str, address: str) -> User:
    """Check credentials under throttling and open a session, or raise SignInRefused.

    Failures are counted per account (by email, whether or not it exists) and per client
    address, with exponential backoff once the free attempts are used up.
    """
    config = current_app.config
    now = utcnow()
    email = normalise_email(email)
    account_key = _throttle_key("account", email)
    address_key = _throttle_key("address", address or "unknown")
    wait = max(_locked_for(_throttle_row(account_key, now), now),
               _locked_for(_throttle_row(address_key, now), now))
    if wait:
        audit.record("signin.throttled", actor=audit.Actor(None, None, ""), outcome=audit.DENIED)
        raise SignInRefused(f"Too many failed attempts. {_try_again_in(wait)}")
    user = find_user_by_email(email)
    valid = verify_password(user.password_hash if user else None, password)
    if not valid or user is None or not user.is_active:
        _note_failure(account_key, config["SIGNIN_ACCOUNT_FREE_FAILURES"], now)
        _note_failure(address_key, config["SIGNIN_ADDRESS_FREE_FAILURES"], now)
        audit.record("signin.failed", actor=audit.Actor(user.id if user else None, None, ""),
                     outcome=audit.DENIED)
        raise SignInRefused(SIGNIN_FAILED)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    _forget_failures(account_key)
    start_session(user)
    audit.record("signin", actor=audit.actor_for(user), object_type="user", object_id=user.id)
    return user
