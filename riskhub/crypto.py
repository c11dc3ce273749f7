"""The keyring, the field cipher and blind indexes: the only module that touches keys.

Stored value layout (bytes):  0x01 | len(key_id) | key_id | nonce(12) | AES-256-GCM(ct+tag)

The associated data binds each value to its table, column, row id and key id, so a ciphertext
copied to another row or column fails to decrypt instead of showing the wrong person's data.

Keys are held per data class so that a request which may not read survivor contact data never
needs (and, through `restrict_to`, is never allowed to use) that key.
"""

from __future__ import annotations

import base64
import contextvars
import hashlib
import hmac
import json
import math
import os
import secrets
import tempfile
import unicodedata
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
NONCE_BYTES = 12
KEY_BYTES = 32

SURVIVOR_CONTACT = "survivor_contact"  # address, phone, email, safe times: survivor-side only
CASE_CONTENT = "case"  # names, dates of birth, narratives and every other case field
BLIND_INDEX = "index"  # HMAC keys for exact-match lookups
DATA_CLASSES = (SURVIVOR_CONTACT, CASE_CONTENT, BLIND_INDEX)
_KEY_ID_PREFIX = {SURVIVOR_CONTACT: "s", CASE_CONTENT: "c", BLIND_INDEX: "i"}


class CryptoError(Exception):
    """Base class: a value could not be protected or revealed."""


class MissingKeyError(CryptoError):
    """The keyring has no key with the id a stored value names."""


class DecryptionError(CryptoError):
    """A stored value failed authentication: tampered, moved or under a wrong key."""


class KeyClassNotPermitted(CryptoError):
    """This request may not use keys of this data class (the safety firewall)."""


@dataclass
class KeySet:
    """The versions of one data class's key; `primary` encrypts, all of them decrypt."""

    primary: str
    keys: dict[str, bytes] = field(default_factory=dict)


class Keyring:
    """Versioned keys per data class, loaded from JSON kept outside the database."""

    def __init__(self, classes: dict[str, KeySet], rotation_pending: bool = False) -> None:
        missing = [name for name in DATA_CLASSES if name not in classes]
        if missing:
            raise CryptoError(f"keyring has no keys for: {', '.join(missing)}")
        self.classes = classes
        self.rotation_pending = rotation_pending

    @classmethod
    def generate(cls) -> Keyring:
        """Make a keyring with one fresh random key per data class."""
        classes = {}
        for name in DATA_CLASSES:
            key_id = _KEY_ID_PREFIX[name] + "1"
            classes[name] = KeySet(primary=key_id, keys={key_id: secrets.token_bytes(KEY_BYTES)})
        return cls(classes)

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        """Parse the stored form; a malformed keyring is an error, never an empty one."""
        try:
            data = json.loads(text)
            classes = {
                name: KeySet(
                    primary=entry["primary"],
                    keys={kid: base64.b64decode(v) for kid, v in entry["keys"].items()},
                )
                for name, entry in data["classes"].items()
            }
        except (ValueError, KeyError, TypeError) as error:
            raise CryptoError(f"keyring is malformed: {error}") from error
        for name, keyset in classes.items():
            if keyset.primary not in keyset.keys:
                raise CryptoError(f"keyring class {name}: primary key {keyset.primary} is absent")
            if any(len(k) != KEY_BYTES for k in keyset.keys.values()):
                raise CryptoError(f"keyring class {name}: keys must be {KEY_BYTES} bytes")
        return cls(classes, bool(data.get("rotation_pending", False)))

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        """Read a keyring file."""
        return cls.from_json(Path(path).read_text())

    def to_json(self) -> str:
        """The stored form."""
        return json.dumps(
            {
                "format": FORMAT_VERSION,
                "rotation_pending": self.rotation_pending,
                "classes": {
                    name: {
                        "primary": ks.primary,
                        "keys": {kid: base64.b64encode(k).decode() for kid, k in ks.keys.items()},
                    }
                    for name, ks in self.classes.items()
                },
            },
            indent=2,
        )

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write atomically with mode 0600, so a crash never leaves half a keyring."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".keyring-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(self.to_json())
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def add_primary_keys(self) -> dict[str, str]:
        """Add a new key to every class and make it primary; old keys stay for reading."""
        added = {}
        for name, keyset in self.classes.items():
            number = 1 + max(int(kid[1:]) for kid in keyset.keys)
            key_id = f"{_KEY_ID_PREFIX[name]}{number}"
            keyset.keys[key_id] = secrets.token_bytes(KEY_BYTES)
            keyset.primary = key_id
            added[name] = key_id
        self.rotation_pending = True
        return added

    def key(self, data_class: str, key_id: str) -> bytes:
        """One key by class and id; names the id when it is absent."""
        keyset = self.classes[data_class]
        try:
            return keyset.keys[key_id]
        except KeyError:
            raise MissingKeyError(
                f"key {key_id!r} ({data_class}) is not in the keyring; restore it from backup"
            ) from None


# Which data classes the current request may use; None means unrestricted (CLI, system).
_permitted: contextvars.ContextVar[frozenset[str] | None] = contextvars.ContextVar(
    "riskhub_permitted_key_classes", default=None
)


@contextmanager
def restrict_to(classes: Iterable[str]) -> Iterator[None]:
    """Within the block, refuse to use keys of any other data class."""
    token = _permitted.set(frozenset(classes))
    try:
        yield
    finally:
        _permitted.reset(token)


def set_permitted_classes(classes: Iterable[str] | None) -> None:
    """Restrict key use for the rest of this request (reset per request by the app)."""
    _permitted.set(None if classes is None else frozenset(classes))


def _check_permitted(data_class: str) -> None:
    permitted = _permitted.get()
    if permitted is not None and data_class not in permitted:
        raise KeyClassNotPermitted(f"this request may not use {data_class} keys")


def _associated_data(table: str, column: str, row_id: str, key_id: str) -> bytes:
    return f"riskhub:v{FORMAT_VERSION}|{table}|{column}|{row_id}|{key_id}".encode()


class FieldCipher:
    """Encrypts and decrypts single column values bound to their table, column and row."""

    def __init__(self, keyring: Keyring, source: str | None = None) -> None:
        self.keyring = keyring
        self.source = source  # keyring file to follow, so a rotation reaches running workers
        self._source_mtime = _mtime(source)

    def refresh(self) -> bool:
        """Reload the keyring if its file changed (a rotation adds keys while workers run)."""
        if self.source is None:
            return False
        mtime = _mtime(self.source)
        if mtime == self._source_mtime:
            return False
        self.keyring = Keyring.load(self.source)
        self._source_mtime = mtime
        return True

    def encrypt(self, data_class: str, text: str, *, table: str, column: str, row_id: str) -> bytes:
        """Encrypt text under the primary key of its data class."""
        _check_permitted(data_class)
        self.refresh()  # a rotation elsewhere may have made a new key primary
        keyset = self.keyring.classes[data_class]
        key_id = keyset.primary
        nonce = secrets.token_bytes(NONCE_BYTES)
        aad = _associated_data(table, column, row_id, key_id)
        sealed = AESGCM(keyset.keys[key_id]).encrypt(nonce, text.encode("utf-8"), aad)
        kid = key_id.encode("ascii")
        return bytes([FORMAT_VERSION, len(kid)]) + kid + nonce + sealed

    def decrypt(self, data_class: str, blob: bytes, *, table: str, column: str, row_id: str) -> str:
        """Reveal a stored value, or raise naming the key and the place that failed."""
        _check_permitted(data_class)
        place = f"{table}.{column} for row {row_id}"
        try:
            key_id, nonce, sealed = split_stored_value(blob)
        except DecryptionError as error:
            raise DecryptionError(f"value in {place}: {error}") from None
        if key_id not in self.keyring.classes[data_class].keys:
            self.refresh()  # written by a worker that already has a newer keyring
        if key_id not in self.keyring.classes[data_class].keys:
            owner = next((name for name, ks in self.keyring.classes.items() if key_id in ks.keys), None)
            if owner is not None:
                raise DecryptionError(
                    f"value in {place} is under key {key_id!r} of the {owner} class, not {data_class}: "
                    "it was moved from another column"
                )
            raise MissingKeyError(
                f"key {key_id!r} ({data_class}) is not in the keyring, so the value in {place} cannot be "
                "read; restore the key from the keyring backup"
            )
        key = self.keyring.key(data_class, key_id)
        aad = _associated_data(table, column, row_id, key_id)
        try:
            plain = AESGCM(key).decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise DecryptionError(
                f"value in {table}.{column} for row {row_id} failed authentication under key "
                f"{key_id!r}: it was altered, moved from another row, or the key is wrong"
            ) from None
        return plain.decode("utf-8")

    def needs_reencryption(self, data_class: str, blob: bytes) -> bool:
        """True when a stored value is not under its class's primary key."""
        return stored_key_id(blob) != self.keyring.classes[data_class].primary

    # Blind indexes -------------------------------------------------------------------------

    def index_bytes(self) -> int:
        """Length of a blind index, sized by `configure_index_length`."""
        return _index_length

    def blind_index(self, purpose: str, value: str, key_id: str | None = None) -> bytes:
        """Keyed, truncated HMAC of a normalised value under one index key (default primary)."""
        _check_permitted(BLIND_INDEX)
        if key_id is None:
            self.refresh()  # a rotation elsewhere may have made a new index key primary
        keyset = self.keyring.classes[BLIND_INDEX]
        key = self.keyring.key(BLIND_INDEX, key_id or keyset.primary)
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(key, message, hashlib.sha256).digest()[:_index_length]

    def blind_index_candidates(self, purpose: str, value: str) -> list[bytes]:
        """Index values to look up: under every index key while a rotation may be under way."""
        _check_permitted(BLIND_INDEX)
        self.refresh()  # after a rotation elsewhere, stored indexes are under the new key
        keyset = self.keyring.classes[BLIND_INDEX]
        ids = list(keyset.keys) if self.keyring.rotation_pending else [keyset.primary]
        return [self.blind_index(purpose, value, kid) for kid in ids]


def _mtime(path: str | None) -> tuple[int, int, int] | None:
    """Identity of the keyring file's current version: a save replaces the file (new inode),
    so two saves within one clock tick are still told apart."""
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def split_stored_value(blob: bytes) -> tuple[str, bytes, bytes]:
    """Return (key id, nonce, sealed) from a stored value, rejecting malformed ones."""
    if not blob or blob[0] != FORMAT_VERSION or len(blob) < 2:
        raise DecryptionError("stored value has an unknown format")
    kid_len = blob[1]
    end = 2 + kid_len
    if len(blob) < end + NONCE_BYTES + 16:
        raise DecryptionError("stored value is truncated")
    key_id = blob[2:end].decode("ascii", errors="replace")
    return key_id, blob[end : end + NONCE_BYTES], blob[end + NONCE_BYTES :]


def stored_key_id(blob: bytes) -> str:
    """The key id a stored value was encrypted under."""
    return split_stored_value(blob)[0]


_index_length = 8


def configure_index_length(expected_rows: int) -> int:
    """Size blind indexes for the expected row count.

    Bits = log2(rows) + 16 keeps false candidates to about one lookup in 65,000 at that
    volume (each is confirmed after decryption anyway) while storing far less than a full
    digest, so the column alone reveals little beyond equality. Clamped to 4..16 bytes.
    """
    global _index_length
    bits = math.ceil(math.log2(max(expected_rows, 2))) + 16
    _index_length = min(16, max(4, math.ceil(bits / 8)))
    return _index_length


def _accent_is_optional(base: str) -> bool:
    """Latin and Greek letters, whose accents records often drop or vary (Zoë/Zoe, ΕΛΕΝΗ/Ελένη)."""
    code = ord(base)
    return code < 0x0250 or 0x0370 <= code < 0x0400 or 0x1E00 <= code < 0x2000


def normalise_for_index(*parts: str) -> str:
    """Normalise names and numbers so that spelling variants of case and accents match.

    Combining marks are dropped only from Latin and Greek letters. In other scripts a mark is
    part of the spelling (Devanagari vowel signs, the Cyrillic breve of й, the kana voicing
    mark), so it is kept as part of the word: dropping it, or treating it as a space, would make
    different people's names match.
    """
    cleaned = []
    for part in parts:
        text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", part or "").casefold())
        out: list[str] = []
        base = " "
        for ch in text:
            if unicodedata.category(ch).startswith("M"):
                if not _accent_is_optional(base):
                    out.append(ch)
                continue
            base = ch
            out.append(ch if ch.isalnum() else " ")
        cleaned.append(" ".join("".join(out).split()))
    return "|".join(cleaned)


def normalise_phone(number: str) -> str:
    """Digits only, in international form without a prefix: 07700 900123, +44 7700 900123,
    0044 7700 900123 and the UK style +44 (0)7700 900123 all become 447700900123."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = "44" + digits[1:]
    if digits.startswith("440"):  # +44 (0)...: the trunk 0 is never dialled after 44
        digits = "44" + digits[3:]
    return digits

