"""What riskhub does. Views and the CLI both call these; they flush, the caller commits once.

The reads every page makes build their statements once per shape (`functools.cache` on a
function returning a statement with `bindparam` placeholders) and bind the values at each
execution: building a select and its cache key costs SQLAlchemy more than running a small one.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import Select, bindparam, event, inspect, select
from sqlalchemy.orm import Mapper, RelationshipProperty, Session, SessionTransaction
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.interfaces import ONETOMANY

T = TypeVar("T")
_PER_TRANSACTION: set[str] = set()


class OperationError(Exception):
    """A request the rules refuse; the message is safe to show the user who asked."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(OperationError):
    """The record changed since the user loaded it; their edit was not applied."""


def changed_meanwhile() -> ConflictError:
    """The refusal of an edit made on an out-of-date copy of a record."""
    return ConflictError(
        "Someone else changed this record while you were editing it. Your changes have not been "
        "saved: they are still in the form below. Check the current record, then save again."
    )


def check_version(record: Any, submitted: int | None) -> None:
    """Refuse an edit made on an out-of-date copy of a record (two people editing at once)."""
    if submitted is None or record.version != submitted:
        raise changed_meanwhile()


@contextmanager
def attempt() -> Iterator[None]:
    """Run an operation in a savepoint: if it refuses, undo everything it did except its
    records of denial, which the access log must keep (a refused flow, a denied access)."""
    from flask import g

    from riskhub import audit
    from riskhub.extensions import db

    # Entries noted but not yet appended (requests, bulk jobs that defer) are undone here; the
    # others were appended inside the savepoint and are undone with it.
    facts = g.setdefault("audit_facts", []) if audit.deferring() else []
    marker = len(facts)
    try:
        with db.session.begin_nested():
            yield
    except OperationError:
        undone = facts[marker:]
        del facts[marker:]
        if audit.deferring():
            audit.forget_written_after(marker)
        for fact in undone:
            if fact["outcome"] == audit.DENIED:
                audit.record(fact["action"], actor=fact["actor"], outcome=audit.DENIED,
                             object_type=fact["object_type"], object_id=fact["object_id"],
                             case_ref=fact["case_ref"], sections=fact["sections"].split(",") if fact["sections"]
                             else (), purpose=fact["purpose"], at=fact["at"])
        raise


@cache
def _collection_of(owner: Mapper[Any], name: str, many: bool = False) -> tuple[Select[Any], str, str]:
    """The statement reading the rows of the collection `name` of one parent ("parent"), or of
    several ("parents", `many`), in the relationship's order; the parent's attribute it binds,
    and the child's attribute that holds that value."""
    relationship: RelationshipProperty[Any] = owner.relationships[name]
    pairs = relationship.local_remote_pairs or []
    if relationship.direction is not ONETOMANY or relationship.secondary is not None or len(pairs) != 1:
        raise TypeError(f"{owner.class_.__name__}.{name} is not a one-to-many collection joined on one column")
    ((local, remote),) = pairs
    statement = select(relationship.mapper).where(
        remote.in_(bindparam("parents", expanding=True)) if many else remote == bindparam("parent"))
    if relationship.order_by:
        statement = statement.order_by(*relationship.order_by)
    return (statement, owner.get_property_by_column(local).key,
            relationship.mapper.get_property_by_column(remote).key)


def load_collections(record: Any, *names: str) -> None:
    """Load those of `record`'s one-to-many collections not loaded yet, one statement each,
    built once. The ORM's `selectinload` builds its statement again at every load (a case and
    four of its lists took 4.6 ms that way against 2.4 ms here), and loading on first use
    would read wherever the attribute happened to be touched, rendering included."""
    from riskhub.extensions import db

    state = inspect(record)
    for name in names:
        if name in state.unloaded:
            statement, key, _ = _collection_of(state.mapper, name)
            set_committed_value(record, name, db.session.scalars(statement, {"parent": getattr(record, key)}).all())


def load_collection_of_each(records: list[Any], name: str) -> None:
    """Load the one-to-many collection `name` of those of `records` (all of one class) that have
    not loaded it yet, in one statement built once, as `load_collections` does for one record."""
    from riskhub.extensions import db

    records = [record for record in records if name in inspect(record).unloaded]
    if not records:
        return
    statement, key, child_key = _collection_of(inspect(records[0]).mapper, name, True)
    found: dict[Any, list[Any]] = {getattr(record, key): [] for record in records}
    for child in db.session.scalars(statement, {"parents": list(found)}):
        found[getattr(child, child_key)].append(child)
    for record in records:
        set_committed_value(record, name, found[getattr(record, key)])


def per_transaction(key: str, make: Callable[[], T]) -> T:
    """A value kept in the session for the current transaction (what an operation learnt that
    later ones in it may reuse): forgotten when the transaction or a savepoint ends, so nothing
    outlives a commit or survives the rollback of what it describes."""
    from riskhub.extensions import db

    _PER_TRANSACTION.add(key)
    info = db.session.info
    if key not in info:
        info[key] = make()
    value: T = info[key]
    return value


def forget_for_transaction(session: Session, key: str) -> None:
    session.info.pop(key, None)


@event.listens_for(Session, "after_transaction_end")
def _forget_per_transaction(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None or transaction.nested:  # not the inner one each flush opens
        for key in _PER_TRANSACTION:
            session.info.pop(key, None)
