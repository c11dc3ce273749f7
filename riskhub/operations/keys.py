"""Key rotation: add new primary keys, re-encrypt every value, recompute blind indexes.

Safe to interrupt: old keys are kept until every value has moved, the keyring records that a
rotation is pending, and running the rotation again finishes it instead of starting another.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import func, select

from riskhub import audit
from riskhub.crypto import Keyring
from riskhub.extensions import db
from riskhub.models.base import Model, encrypted_attributes, field_cipher

BATCH_SIZE = 500
Progress = Callable[[int], None]


def encrypted_models() -> list[type]:
    """Every mapped class with encrypted attributes or blind indexes."""
    found = []
    for mapper in Model.registry.mappers:
        klass = mapper.class_
        if encrypted_attributes(klass) or getattr(klass, "BLIND_INDEXES", None):
            found.append(klass)
    return sorted(found, key=lambda k: k.__tablename__)


def rows_to_visit() -> int:
    """How many rows a rotation walks through (the progress bar's length)."""
    return sum(db.session.scalar(select(func.count()).select_from(m)) or 0 for m in encrypted_models())


def _batches(model: Any) -> Iterator[list[Any]]:
    last = None
    while True:
        query = select(model).order_by(model.id).limit(BATCH_SIZE)
        if last is not None:
            query = query.where(model.id > last)
        rows = list(db.session.scalars(query))
        if not rows:
            return
        yield rows
        last = rows[-1].id


def reencrypt_row(row: Any) -> bool:
    """Move one row's values to the primary keys and refresh its blind indexes."""
    cipher = field_cipher()
    changed = False
    for attribute in encrypted_attributes(type(row)):
        blob = getattr(row, attribute.column)
        if blob is not None and cipher.needs_reencryption(attribute.data_class, bytes(blob)):
            setattr(row, attribute.name, getattr(row, attribute.name))
            changed = True
    for column, (purpose, value_of) in getattr(type(row), "BLIND_INDEXES", {}).items():
        value = value_of(row)
        fresh = cipher.blind_index(purpose, value) if value else None
        if getattr(row, column) != fresh:
            setattr(row, column, fresh)
            changed = True
    return changed


def rotate_keys(keyring_path: str, progress: Progress | None = None, *,
                start: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Rotate (or finish an interrupted rotation); commit batch by batch."""
    cipher = field_cipher()
    keyring = Keyring.load(keyring_path)
    resumed = keyring.rotation_pending
    if not resumed:
        keyring.add_primary_keys()
        keyring.save(keyring_path)
    cipher.keyring = keyring
    cipher.refresh()
    changed = 0
    try:
        total = rows_to_visit()
        if start:
            start(total)
        for model in encrypted_models():
            for rows in _batches(model):
                changed += sum(1 for row in rows if reencrypt_row(row))
                db.session.commit()
                if progress:
                    progress(len(rows))
        primaries = {name: ks.primary for name, ks in keyring.classes.items()}
        # Logged before the keyring says "done": a crash in between leaves the rotation pending
        # (a re-run finishes it and logs again), never a finished rotation with no log entry.
        audit.record("keys.rotate", actor=audit.SYSTEM, purpose=",".join(sorted(primaries.values())))
        db.session.commit()
    except BaseException:
        db.session.rollback()  # the unfinished batch stays under its old keys, still readable
        raise
    keyring.rotation_pending = False
    keyring.save(keyring_path)
    cipher.keyring = keyring
    cipher.refresh()
    return {"resumed": resumed, "rows": total, "changed": changed, "primaries": primaries}
