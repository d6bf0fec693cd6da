"""Secrets at rest (CRM tokens, webhook signing secrets): sealed with Fernet
(authenticated encryption from `cryptography`), keyed by `MAPBOT_SECRET_KEY`.

The key is one or more Fernet keys, comma-separated: the first seals, any opens,
so a key can be rotated without losing what was sealed with the old one. Make
one with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key())".
Without a key nothing is sealed: features that store secrets refuse with a
sentence saying what to set, rather than store a token in clear.
"""

from __future__ import annotations

import os

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

ENV = "MAPBOT_SECRET_KEY"


class SecretKeyMissing(Exception):
    """No usable MAPBOT_SECRET_KEY: say so to the person, never store in clear."""


def _box() -> MultiFernet:
    raw = os.environ.get(ENV, "").strip()
    if not raw:
        raise SecretKeyMissing(f"{ENV} is not set on the server, so MAP bot can't store secrets.")
    try:
        return MultiFernet([Fernet(k.strip().encode()) for k in raw.split(",") if k.strip()])
    except (ValueError, TypeError) as e:  # not 32 url-safe base64 bytes
        raise SecretKeyMissing(f"{ENV} is not a Fernet key (see the README).") from e


def seal(plain: str) -> str:
    return _box().encrypt(plain.encode()).decode()


def unseal(sealed: str) -> str:
    """The secret, or SecretKeyMissing when no configured key opens it (a key was
    removed, or the row was tampered with)."""
    try:
        return _box().decrypt(sealed.encode()).decode()
    except InvalidToken as e:
        raise SecretKeyMissing(f"No key in {ENV} opens a stored secret.") from e
