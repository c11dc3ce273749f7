"""Declarative base, encrypted attributes and blind indexes shared by every model."""

from __future__ import annotations

import enum
import json
import uuid
from datetime import UTC, datetime
from typing import Any, overload

from flask import current_app
from sqlalchemy import Enum, MetaData
from sqlalchemy.orm import DeclarativeBase

from riskhub.crypto import FieldCipher

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now in UTC (stored naive-UTC on SQLite, timestamptz on PostgreSQL)."""
    return datetime.now(UTC)


@overload
def as_utc(moment: datetime) -> datetime: ...
@overload
def as_utc(moment: None) -> None: ...
def as_utc(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; treat them as the UTC they were stored as."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def enum_column(kind: type[enum.Enum], length: int = 30) -> Enum:
    """A portable enum column stored as its string values (no native database enum types)."""
    return Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


def field_cipher() -> FieldCipher:
    """The application's cipher (set up by create_app)."""
    return current_app.extensions["riskhub.cipher"]


class Model(DeclarativeBase):
    """Base for all tables: constraint names for migrations, and ids set before insert.

    Encrypted values are bound to their row id, so the id must exist before any encrypted
    attribute is assigned: the constructor sets it first.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    def __init__(self, **values: Any) -> None:
        if "id" in self.__mapper__.columns:
            self.id = values.pop("id", None) or uuid.uuid4()
        for name, value in values.items():
            setattr(self, name, value)


class Encrypted:
    """A plaintext attribute stored as AES-GCM ciphertext in the column `<name>_enc` (or `column`).

    Decryption is lazy and cached per stored value, so a page that never shows a field never
    decrypts it, and a request that may not use a data class's key fails loudly if it tries.
    """

    def __init__(self, data_class: str, column: str | None = None) -> None:
        self.data_class = data_class
        self.name = ""
        self.column = column or ""
        self.table = ""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name
        self.column = self.column or f"{name}_enc"
        self.table = owner.__dict__["__tablename__"]

    def _place(self, row_id: Any) -> dict[str, str]:
        return {"table": self.table, "column": self.column, "row_id": str(row_id)}

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        blob = getattr(obj, self.column)
        if blob is None:
            return None
        cache = obj.__dict__.setdefault("_riskhub_plain", {})
        cached = cache.get(self.name)
        if cached is not None and cached[0] == blob:
            return cached[1]
        value = field_cipher().decrypt(self.data_class, bytes(blob), **self._place(obj.id))
        cache[self.name] = (blob, value)
        return value

    def read(self, blob: bytes | None, row_id: Any) -> str | None:
        """Decrypt a value selected as a plain column (lists that load no objects)."""
        return None if blob is None else field_cipher().decrypt(self.data_class, bytes(blob), **self._place(row_id))

    def seal(self, value: str | None, row_id: Any) -> bytes | None:
        """The stored form of `value` for the row, for a statement that writes the column itself."""
        return None if not value else field_cipher().encrypt(self.data_class, value, **self._place(row_id))

    def __set__(self, obj: Any, value: str | None) -> None:
        if value is None or value == "":
            setattr(obj, self.column, None)
            return
        blob = field_cipher().encrypt(self.data_class, value, **self._place(obj.id))
        setattr(obj, self.column, blob)
        obj.__dict__.setdefault("_riskhub_plain", {})[self.name] = (blob, value)


def encrypted_attributes(model: type) -> list[Encrypted]:
    """Every encrypted attribute a model declares (used by key rotation and tests)."""
    found: list[Encrypted] = []
    for klass in model.__mro__:
        found.extend(v for v in vars(klass).values() if isinstance(v, Encrypted))
    return found


class EncryptedJSON:
    """A dict stored as encrypted JSON through an `Encrypted` attribute of the same model."""

    def __init__(self, text_attribute: str) -> None:
        self.text_attribute = text_attribute

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        text = getattr(obj, self.text_attribute)
        return json.loads(text) if text else {}

    def __set__(self, obj: Any, value: dict[str, Any] | None) -> None:
        setattr(obj, self.text_attribute, json.dumps(value, sort_keys=True, ensure_ascii=False) if value else None)
