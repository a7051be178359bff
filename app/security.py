"""Password hashing (argon2id) and opaque bearer tokens of which only the SHA-256 is stored."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# A real hash of a random password: verifying against it costs what a real check costs, so unknown names and
# wrong passwords take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
TOKEN_PREFIXES = {"session": "amt_", "api_key": "amk_"}


def hash_password(password: str) -> str:
    """Hash a password with argon2id."""
    return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """Check a password; takes the same time whether or not the account exists."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(kind: str) -> str:
    """A fresh random token with a recognisable prefix (so leaked keys can be found by secret scanners)."""
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def token_digest(token: str, secret_key: str) -> str:
    """Keyed SHA-256 of a token: what the database stores and looks up."""
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()
