"""Agencies, users and their roles, server-side sessions and sign-in throttling."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Uuid, false
from sqlalchemy.orm import Mapped, mapped_column, relationship, selectinload
from sqlalchemy.orm.interfaces import LoaderOption

from riskhub.crypto import CASE_CONTENT
from riskhub.extensions import Base
from riskhub.models.base import Encrypted, enum_column, utcnow


class AgencyKind(enum.StrEnum):
    """What an agency does; perpetrator programmes are perpetrator-facing."""

    PERPETRATOR_PROGRAMME = "perpetrator_programme"
    SURVIVOR_SUPPORT = "survivor_support"
    POLICE = "police"
    CHILDRENS_SERVICES = "childrens_services"
    HEALTH = "health"
    HOUSING = "housing"
    PROBATION = "probation"
    OTHER = "other"

    @property
    def label(self) -> str:
        return AGENCY_KIND_LABELS[self]


AGENCY_KIND_LABELS = {
    AgencyKind.PERPETRATOR_PROGRAMME: "Perpetrator programme",
    AgencyKind.SURVIVOR_SUPPORT: "Survivor support service (including IDVA and partner support)",
    AgencyKind.POLICE: "Police",
    AgencyKind.CHILDRENS_SERVICES: "Children's services",
    AgencyKind.HEALTH: "Health",
    AgencyKind.HOUSING: "Housing",
    AgencyKind.PROBATION: "Probation",
    AgencyKind.OTHER: "Other",
}


class Role(enum.StrEnum):
    """What a user may do; a user holds one or more."""

    PRACTITIONER = "practitioner"
    CHAIR = "chair"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Agency(Base):
    """An organisation taking part in the joint meetings. Its name is organisational data."""

    __tablename__ = "agencies"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[AgencyKind] = mapped_column(
        enum_column(AgencyKind, 40)
    )
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    users: Mapped[list[User]] = relationship(back_populates="agency")

    __mapper_args__ = {"version_id_col": version}

    @property
    def perpetrator_facing(self) -> bool:
        """Staff of this agency work with the person causing harm."""
        return self.kind == AgencyKind.PERPETRATOR_PROGRAMME


class User(Base):
    """A person who signs in. Email and name are personal data, so they are encrypted."""

    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    agency_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agencies.id"), index=True)
    email_enc: Mapped[bytes] = mapped_column(LargeBinary)
    email_index: Mapped[bytes] = mapped_column(LargeBinary(16), index=True)
    name_enc: Mapped[bytes] = mapped_column(LargeBinary)
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Set when an admin chose the password (a new account, a reset): the user chooses their own
    # before anything else.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    version: Mapped[int] = mapped_column(Integer, default=1)

    email = Encrypted(CASE_CONTENT)
    name = Encrypted(CASE_CONTENT)

    agency: Mapped[Agency] = relationship(back_populates="users", lazy="joined")
    # Loaded when asked for: a page listing who wrote a note or owns an action needs no
    # roles; the signed-in user's are loaded with the session (`accounts.load_session`) and
    # lists that show or test roles load them with `with_roles()`.
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="select", order_by="UserRole.role"
    )

    __mapper_args__ = {"version_id_col": version}

    BLIND_INDEXES = {"email_index": ("user-email", lambda u: u.email)}

    # Flask-Login: the identifier kept in the browser is the server-side session token,
    # set by the sign-in code, never the user id.
    # Not a column: the server-side session token of the request that loaded this user.
    __allow_unmapped__ = True
    session_token: str | None = None
    # Not a column either: when that session was last known active, for the idle sign-out warning.
    session_seen_at: datetime | None = None
    # ... and when it began, for the warning before the lifetime limit.
    session_started_at: datetime | None = None

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def set_roles(self, roles: set[Role] | frozenset[Role]) -> None:
        """Replace the user's roles."""
        wanted = {Role(r) for r in roles}
        self.role_rows = [r for r in self.role_rows if Role(r.role) in wanted]
        held = {Role(r.role) for r in self.role_rows}
        self.role_rows.extend(UserRole(role=r.value) for r in sorted(wanted - held))

    # Flask-Login protocol
    @property
    def is_active(self) -> bool:
        return self.active and self.agency.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.session_token


class UserRole(Base):
    """One role held by one user."""

    __tablename__ = "user_roles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(20), primary_key=True)


class UserSession(Base):
    """A signed-in session held on the server; the browser keeps only a random token.

    Ending the row (sign-out, deactivation, an admin's "end sessions", timeouts) ends the
    session at once on every application instance.
    """

    __tablename__ = "user_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    end_reason: Mapped[str | None] = mapped_column(String(40))

    user: Mapped[User] = relationship(lazy="joined")


class SignInThrottle(Base):
    """Failed sign-ins per account or per client address, with the lock they earned.

    The key is a keyed hash of the email or address, so the table names nobody.
    """

    __tablename__ = "signin_throttle"

    key: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


def with_roles() -> LoaderOption:
    """Load option for queries whose users' roles are used. Made when asked for, not at import:
    building it configures every mapper, which must wait until all model modules are imported."""
    return selectinload(User.role_rows)
