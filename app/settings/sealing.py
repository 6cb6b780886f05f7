"""Secrets kept in the database (model servers' keys) sealed with AES-GCM, under a key from SECRET_KEY."""

from __future__ import annotations

import base64
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# Fixed: a different label would derive a different key, and every sealed secret would be lost.
INFO = b"gpt-answers settings secrets v1"
PREFIX = "v1:"
NONCE_BYTES = 12


class Unsealable(ValueError):
    """A sealed secret that this SECRET_KEY cannot open (another key sealed it, or it is damaged)."""


def _key(secret_key: str) -> AESGCM:
    # Imported when a secret is sealed or opened: cryptography adds 9 MB to every worker that never does.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(secret_key.encode())
    return AESGCM(derived)


def seal(plain: str, secret_key: str) -> str:
    """The secret encrypted and authenticated, as text fit for a column."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = _key(secret_key).encrypt(nonce, plain.encode(), INFO)
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()


def unseal(sealed: str, secret_key: str) -> str:
    """The secret a `seal` made; Unsealable when this key did not make it or the text was changed."""
    from cryptography.exceptions import InvalidTag

    if not sealed.startswith(PREFIX):
        raise Unsealable("not a sealed secret")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode())
        return _key(secret_key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], INFO).decode()
    except (InvalidTag, ValueError) as error:
        raise Unsealable("cannot be opened with this SECRET_KEY") from error
