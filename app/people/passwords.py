"""Passwords hashed with argon2id, and secrets compared in the same time whether they match or not."""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_CHARS = 10
MAX_CHARS = 256

_hasher = PasswordHasher()
# Checked against when no account has the name, so a missing account takes as long as a wrong password;
# made on the first such check (on the argon2 threads), not when the module is imported.
_STAND_IN: str | None = None


def checks_at_once(cores: int | None) -> int:
    """How many argon2 hashes may be worked out at once: half the cores, and at least one."""
    return max(1, (cores or 1) // 2)


CORES = os.process_cpu_count()
CHECKS_AT_ONCE = checks_at_once(CORES)
# Every hash and check runs on these threads alone (64 MiB and a core's worth of work each), so a
# flood of them waits here in line instead of taking every core from everyone else's requests.
_checks = ThreadPoolExecutor(max_workers=CHECKS_AT_ONCE, thread_name_prefix="argon2")


async def hash_password(password: str) -> str:
    """The argon2id hash of a password (worked out off the event loop)."""
    return await _in_turn(lambda: _hasher.hash(password))


async def verify(stored_hash: str | None, password: str) -> bool:
    """Whether a password matches a stored hash; with no hash, spend the same time and say no."""
    try:
        matches = await _in_turn(lambda: _hasher.verify(stored_hash or _stand_in(), password))
    except (VerificationError, InvalidHashError):
        return False
    return matches and bool(stored_hash)


def _stand_in() -> str:
    global _STAND_IN
    if _STAND_IN is None:
        _STAND_IN = _hasher.hash("a password nobody has")
    return _STAND_IN


async def _in_turn[T](work: Callable[[], T]) -> T:
    return await asyncio.get_running_loop().run_in_executor(_checks, work)


def weakness(password: str) -> str | None:
    """Why a new password cannot be used, or None."""
    if len(password) < MIN_CHARS:
        return f"Choose a password of at least {MIN_CHARS} characters."
    if len(password) > MAX_CHARS:
        return f"A password can be {MAX_CHARS} characters long at most."
    return None


def digest(text: str) -> bytes:
    """A fixed-length digest, so that comparing two secrets takes the same time whatever their lengths."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()
