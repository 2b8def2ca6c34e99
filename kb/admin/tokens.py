"""Admin API bearer tokens: shown once when created, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.errors import KBError
from kb.store.models import AdminToken

ROLES = ("viewer", "editor")


def hash_token(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough; a leaked table reveals no usable token.
    """The stored form of an admin token (SHA-256)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(name: str, role: str, *, session: Session) -> str:
    """Store a new token for `name` and return it; it cannot be read back later."""
    if role not in ROLES:
        raise KBError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if not name.strip():
        raise KBError("a token needs a name (who uses it)")
    token = "hq_" + secrets.token_urlsafe(32)
    session.add(AdminToken(name=name.strip(), token_hash=hash_token(token), role=role))
    session.flush()
    return token


def token_holder(token: str, *, session: Session) -> AdminToken | None:
    """Return the unrevoked token row matching a presented token, or None."""
    if not token:
        return None
    row = session.execute(select(AdminToken).where(AdminToken.token_hash == hash_token(token))).scalar_one_or_none()
    return row if row is not None and not row.revoked else None
