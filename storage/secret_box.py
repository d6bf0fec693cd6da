"""Secrets at rest: Fernet (cryptography), keyed by MAPBOT_SECRET_KEY.

The variable holds one key, or several separated by commas to rotate (the first
encrypts, every one decrypts: `cryptography`'s MultiFernet). A key is either a
Fernet key (`Fernet.generate_key()`) or a passphrase of at least 32 characters,
stretched with HKDF-SHA256. Nothing here logs a secret or a key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

ENV = "MAPBOT_SECRET_KEY"
MIN_PASSPHRASE = 32


class SecretKeyError(ValueError):
    """MAPBOT_SECRET_KEY is missing or cannot be a key; the message says which."""


def _key_bytes(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text.encode())
        if len(raw) == 32 and len(text) == 44:
            return raw  # already a Fernet key
    except (binascii.Error, ValueError):
        pass
    if len(text) < MIN_PASSPHRASE:
        raise SecretKeyError(
            f"{ENV}: each key is a Fernet key or a passphrase of at least "
            f"{MIN_PASSPHRASE} characters"
        )
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"mapbot at rest").derive(
        text.encode()
    )


def keys(value: str | None = None) -> list[bytes]:
    """The raw 32-byte keys, newest first; SecretKeyError when there are none."""
    text = os.environ.get(ENV, "") if value is None else value
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts:
        raise SecretKeyError(f"{ENV} is not set: webhooks and calendar feeds need it")
    return [_key_bytes(p) for p in parts]


def check(value: str | None) -> None:
    """For configuration: a value that is set must be usable (unset is allowed)."""
    if value and value.strip():
        keys(value)


def _box() -> MultiFernet:
    return MultiFernet([Fernet(base64.urlsafe_b64encode(k)) for k in keys()])


def seal(secret: str) -> str:
    return _box().encrypt(secret.encode()).decode()


def open_sealed(token: str) -> str:
    try:
        return _box().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretKeyError(f"a stored secret does not open with {ENV} (rotated away?)") from None


def derive(purpose: str) -> str:
    """A secret worked out from the newest key (HMAC-SHA256), URL-safe: the same
    purpose gives the same secret, so it need not be stored."""
    mac = hmac.new(keys()[0], purpose.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def digest(secret: str) -> str:
    """What is stored to find a high-entropy secret again (SHA-256 hex)."""
    return hashlib.sha256(secret.encode()).hexdigest()
