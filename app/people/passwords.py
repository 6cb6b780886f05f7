"""Passwords hashed with argon2id, and secrets compared in the same time whether they match or not."""

from __future__ import annotations

import asyncio
import hashlib

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MIN_CHARS = 10
MAX_CHARS = 256

_hasher = PasswordHasher()
# Checked against when no account has the name, so a missing account takes as long as a wrong password.
_STAND_IN = _hasher.hash("a password nobody has")


async def hash_password(password: str) -> str:
    """The argon2id hash of a password (worked out off the event loop)."""
    return await asyncio.to_thread(_hasher.hash, password)


async def verify(stored_hash: str | None, password: str) -> bool:
    """Whether a password matches a stored hash; with no hash, spend the same time and say no."""
    try:
        return await asyncio.to_thread(_hasher.verify, stored_hash or _STAND_IN, password) and bool(
            stored_hash
        )
    except (VerificationError, InvalidHashError):
        return False


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
