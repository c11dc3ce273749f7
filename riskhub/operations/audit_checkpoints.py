"""Signed checkpoints of the access log, and the Ed25519 key that signs them.

The key lives outside the database (a 0600 file or RISKHUB_AUDIT_SIGNING_KEY), so anyone
who can only write to the database cannot forge a checkpoint: rewriting the chain behind
one, or cutting the chain short before one, is then caught by `riskhub audit verify`.
The signing key is kept here rather than in `riskhub.crypto` because it protects the log,
not personal data, and is never used to encrypt anything.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import func, select

from riskhub.extensions import db
from riskhub.models.audit import AuditCheckpoint
from riskhub.models.base import as_utc, utcnow

log = logging.getLogger(__name__)

FORMAT = "riskhub-audit-checkpoint-v1"
KEY_FILE_NAME = "audit-signing.key"


class SigningKeyError(RuntimeError):
    """The signing key is missing or cannot be read; the message names where it was looked for."""


def generate_key_file(path: Path) -> None:
    """Write a new Ed25519 private key (PKCS#8 PEM) readable by its owner only."""
    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)


def key_file_path(config: dict[str, Any], instance_path: str) -> Path:
    """Where the signing key file is kept (AUDIT_SIGNING_KEY_FILE or instance/audit-signing.key)."""
    return Path(config.get("AUDIT_SIGNING_KEY_FILE") or Path(instance_path) / KEY_FILE_NAME)


def parse_private_key(text: str) -> Ed25519PrivateKey:
    """A key given as PKCS#8 PEM, or as the base64 of its 32-byte seed."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SigningKeyError("the audit signing key is not an Ed25519 key")
        return key
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text, validate=True))
    except (ValueError, TypeError) as error:
        raise SigningKeyError("the audit signing key is neither PEM nor a base64 Ed25519 seed") from error


def load_signing_key() -> Ed25519PrivateKey:
    """The application's signing key, read once and cached; raises SigningKeyError if absent."""
    cached = current_app.extensions.get("riskhub.audit_signer")
    if cached is not None:
        return cached
    configured = current_app.config.get("AUDIT_SIGNING_KEY")
    if configured:
        key = parse_private_key(configured)
    else:
        path = key_file_path(current_app.config, current_app.instance_path)
        try:
            key = parse_private_key(path.read_text())
        except OSError as error:
            raise SigningKeyError(f"audit signing key {path} cannot be read: {error.strerror}") from None
    current_app.extensions["riskhub.audit_signer"] = key
    return key


def public_key_bytes(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id_of(key: Ed25519PublicKey) -> str:
    """A short, stable name for a public key: the hex SHA-256 of its raw bytes."""
    return hashlib.sha256(public_key_bytes(key)).hexdigest()


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """A public key given as PEM or as base64 of its 32 raw bytes."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise SigningKeyError("not an Ed25519 public key")
        return key
    return Ed25519PublicKey.from_public_bytes(base64.b64decode(text))


def statement(seq: int, entry_hash: bytes, created_at: datetime, key_id: str) -> bytes:
    """The exact bytes a checkpoint signature covers."""
    at = as_utc(created_at).isoformat(timespec="microseconds")
    return f"{FORMAT}\n{seq}\n{entry_hash.hex()}\n{at}\n{key_id}".encode()


def sign_checkpoint(seq: int, entry_hash: bytes, key: Ed25519PrivateKey | None = None) -> AuditCheckpoint:
    """Add a signed checkpoint for entry `seq` to the current transaction."""
    key = key or load_signing_key()
    key_id = key_id_of(key.public_key())
    created_at = utcnow()
    checkpoint = AuditCheckpoint(seq=seq, entry_hash=entry_hash, created_at=created_at, key_id=key_id,
                                 signature=key.sign(statement(seq, entry_hash, created_at, key_id)))
    db.session.add(checkpoint)
    return checkpoint


def checkpoint_if_due(seq: int, entry_hash: bytes) -> None:
    """Called on every append: sign every AUDIT_CHECKPOINT_EVERY-th entry, and the first entry
    appended once AUDIT_CHECKPOINT_MINUTES have passed since the latest checkpoint (so a quiet
    log is still pinned regularly).

    A missing key must not stop the service (the log itself is still written), so it is
    reported in the server log; `riskhub audit verify` and the dashboard show the gap.
    """
    every = int(current_app.config.get("AUDIT_CHECKPOINT_EVERY") or 0)
    if not (every > 0 and seq % every == 0) and not _time_due():
        return
    try:
        key = load_signing_key()
    except SigningKeyError as error:
        log.warning("no access-log checkpoint at entry %s: %s", seq, error)
        return
    sign_checkpoint(seq, entry_hash, key)


CLOCK = "riskhub.checkpoint_clock"
LOOK_EVERY_SECONDS = 60.0  # each process reads the latest checkpoint's time at most this often


def _time_due() -> bool:
    minutes = int(current_app.config.get("AUDIT_CHECKPOINT_MINUTES") or 0)
    if minutes <= 0:
        return False
    clock = current_app.extensions.setdefault(CLOCK, {"next_look": 0.0})
    now = time.monotonic()
    if now < clock["next_look"]:
        return False
    clock["next_look"] = now + LOOK_EVERY_SECONDS
    latest = db.session.scalar(select(func.max(AuditCheckpoint.created_at)))
    return latest is None or utcnow() - as_utc(latest) >= timedelta(minutes=minutes)


def checkpoint_now(actor: Any) -> AuditCheckpoint:
    """Record the request for a checkpoint, then sign the chain up to and including that entry."""
    from riskhub import audit

    key = load_signing_key()
    entry = audit.record_now("audit.checkpoint", actor=actor, object_type="audit_log")
    db.session.flush()
    existing = db.session.get(AuditCheckpoint, entry.seq)
    return existing or sign_checkpoint(entry.seq, entry.entry_hash, key)


def latest_checkpoint() -> AuditCheckpoint | None:
    return db.session.scalar(select(AuditCheckpoint).order_by(AuditCheckpoint.seq.desc()).limit(1))


def export(checkpoint: AuditCheckpoint, key: Ed25519PublicKey) -> dict[str, Any]:
    """The checkpoint as JSON-ready data, to be stored away from the database."""
    return {
        "format": FORMAT,
        "seq": checkpoint.seq,
        "entry_hash": bytes(checkpoint.entry_hash).hex(),
        "created_at": as_utc(checkpoint.created_at).isoformat(timespec="microseconds"),
        "key_id": checkpoint.key_id,
        "signature": base64.b64encode(bytes(checkpoint.signature)).decode(),
        "public_key": base64.b64encode(public_key_bytes(key)).decode(),
    }


@dataclass(frozen=True)
class Pinned:
    """A checkpoint as the verifier sees it: where it pins the chain, and whether it is genuine."""

    seq: int
    entry_hash: bytes
    problem: str | None


def check_signature(seq: int, entry_hash: bytes, created_at: datetime, key_id: str, signature: bytes,
                    keys: dict[str, Ed25519PublicKey]) -> str | None:
    """Why a checkpoint is not genuine, or None when its signature holds."""
    key = keys.get(key_id)
    if key is None:
        return "has a checkpoint signed by an unknown key"
    try:
        key.verify(signature, statement(seq, entry_hash, created_at, key_id))
    except InvalidSignature:
        return "has a checkpoint whose signature is not valid (altered or forged)"
    return None


def from_export(data: dict[str, Any], keys: dict[str, Ed25519PublicKey]) -> Pinned:
    """Read an exported checkpoint file's data and check its signature."""
    try:
        seq = int(data["seq"])
        entry_hash = bytes.fromhex(data["entry_hash"])
        created_at = datetime.fromisoformat(data["created_at"])
        signature = base64.b64decode(data["signature"])
        key_id = str(data["key_id"])
    except (KeyError, ValueError, TypeError):
        return Pinned(0, b"", "cannot be checked: an exported checkpoint file is not in the expected format")
    return Pinned(seq, entry_hash, check_signature(seq, entry_hash, created_at, key_id, signature, keys))
