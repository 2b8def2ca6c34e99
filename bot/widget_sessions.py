"""Keyed widget sessions: a session id is only good together with the key issued with it.

The socket.io channel issues `{session_id, session_key}` in `session_confirm`; the key is an HMAC of
the id under the Rasa token, so only the browser it was issued to holds it. A `session_request`
that continues a session, and `POST /api/history` on the web app, must bring the key; without it a
guessed or leaked session id gives neither the conversation nor its replies.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from bot.settings import load_settings

# What a client library generates; becomes Rasa's sender id.
SESSION_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_PURPOSE = b"huiqi widget session\0"


def session_key(session_id: str, secret: str | None = None) -> str:
    """The key issued with `session_id` (hex); `secret` defaults to the Rasa token of this deployment."""
    secret = secret if secret is not None else load_settings().rasa_token
    return hmac.new(secret.encode(), _PURPOSE + session_id.encode(), hashlib.sha256).hexdigest()


def key_matches(session_id: object, key: object, secret: str | None = None) -> bool:
    """Whether `key` was issued with `session_id` (constant-time); False for anything malformed."""
    if not isinstance(session_id, str) or not isinstance(key, str) or not SESSION_ID.fullmatch(session_id):
        return False
    return hmac.compare_digest(session_key(session_id, secret), key)
