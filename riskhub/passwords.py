"""Password hashing (argon2id) and the rules a new password must meet."""

from __future__ import annotations

import threading
from functools import lru_cache
from importlib import resources

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 12
MAX_LENGTH = 128

# argon2id at argon2-cffi's recommended parameters (RFC 9106's second recommendation: 64 MiB,
# three passes, four lanes) unless the ARGON2_* settings say otherwise; stored hashes move to
# new settings at the next sign-in. docs/PERFORMANCE.md gives the cost of each choice.
_DEFAULTS = PasswordHasher()
_hasher = _DEFAULTS
# Verified against when the email is unknown, so both paths cost the same time. Made by
# `configure`, which every app calls at start (made here too, it would cost each process start,
# every worker and every command, a second argon2 hash).
_DUMMY_HASH: str | None = None
# One hash at a time per process: each takes 64 MiB while it runs, and two threads of a worker
# hashing at once would lift its memory past 200 MB for no gain on a 2-core machine.
_ONE_AT_A_TIME = threading.Lock()


def configure(time_cost: int | None = None, memory_kib: int | None = None, parallelism: int | None = None) -> None:
    """Change the argon2id parameters (tests use cheap ones); existing hashes rehash on sign-in."""
    global _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost or _DEFAULTS.time_cost,
                             memory_cost=memory_kib or _DEFAULTS.memory_cost,
                             parallelism=parallelism or _DEFAULTS.parallelism)
    _DUMMY_HASH = None
    _dummy_hash()  # made now, at the new cost, so the first unknown email takes no longer than the rest


def hash_password(password: str) -> str:
    with _ONE_AT_A_TIME:
        return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Check a password; an unknown account still pays for one verification."""
    try:
        with _ONE_AT_A_TIME:
            return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:  # only before `configure` (outside an app)
        _DUMMY_HASH = _hasher.hash("riskhub-timing-equaliser")
    return _DUMMY_HASH


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with older parameters than the current ones."""
    return _hasher.check_needs_rehash(stored_hash)


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    text = resources.files("riskhub").joinpath("data/common-passwords.txt").read_text()
    lines = (line.strip().lower() for line in text.splitlines())
    return frozenset(line for line in lines if line and not line.startswith("#"))


def _is_repetitive(password: str) -> bool:
    """A short pattern repeated (aaaaaaaaaaaa, abcabcabcabc, 123412341234)."""
    for size in range(1, len(password) // 2 + 1):
        if len(password) % size == 0 and password[:size] * (len(password) // size) == password:
            return True
    return False


def _is_sequence(password: str) -> bool:
    """Runs like 123456789012 or abcdefghijkl, forwards or backwards."""
    steps = {ord(b) - ord(a) for a, b in zip(password, password[1:], strict=False)}
    return len(steps) == 1 and steps.pop() in {1, -1}


def password_problem(password: str, *, email: str = "") -> str | None:
    """Say what is wrong with a proposed password, or None when it is acceptable."""
    if len(password) < MIN_LENGTH:
        return f"Password must be at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"Password must be {MAX_LENGTH} characters or fewer"
    lowered = password.lower()
    stripped = lowered.rstrip("0123456789!?.")
    if lowered in _common_passwords() or stripped in _common_passwords():
        return "Password is too common: choose one that is hard to guess"
    if _is_repetitive(lowered) or _is_sequence(lowered):
        return "Password is a repeated pattern or sequence: choose one that is hard to guess"
    local = email.split("@")[0].lower()
    if len(local) >= 4 and local in lowered:
        return "Password must not contain your email address"
    if "riskhub" in lowered and len(lowered) < 20:
        return "Password must not be based on the name of this service"
    return None
