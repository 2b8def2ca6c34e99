"""POST /api/history: a widget's own conversation, for the browser that holds its session key.

Body: {"session_id": "…", "session_key": "…"} as issued in the socket.io channel's
`session_confirm` (bot/widget_sessions.py). The web app reads the tracker from Rasa's
HTTP API with the Rasa token and returns only what the widget shows: who said what,
when, and the bot's buttons — no slots, no firm facts, no other conversation. A wrong
key gets 403, whatever the session id; Rasa's API itself is never published.
"""

from __future__ import annotations

import asyncio
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from bot import limits
from bot.settings import load_settings
from bot.widget_sessions import key_matches


def messages_from_tracker(tracker: dict[str, Any]) -> list[dict[str, Any]]:
    """Tracker events → the messages the widget shows (the shape of widget/src/store.js)."""
    out: list[dict[str, Any]] = []
    for event in tracker.get("events") or []:
        ts = round((event.get("timestamp") or 0) * 1000)
        if event.get("event") == "user" and event.get("text"):
            out.append({"from": "user", "text": str(event["text"]), "ts": ts})
        elif event.get("event") == "bot" and event.get("text"):
            buttons = [{"title": str(b["title"]), "payload": str(b.get("payload") or b["title"])}
                       for b in ((event.get("data") or {}).get("buttons") or []) if isinstance(b, dict) and b.get("title")]
            out.append({"from": "bot", "text": str(event["text"]), "buttons": buttons, "ts": ts})
    return out


def _tracker(rasa_url: str, session_id: str, token: str) -> dict[str, Any]:
    query = urllib.parse.urlencode({"token": token, "include_events": "AFTER_RESTART"})
    url = f"{rasa_url.rstrip('/')}/conversations/{urllib.parse.quote(session_id, safe='')}/tracker?{query}"
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


def create_blueprint() -> Blueprint:
    """`/api/history`: a widget's own conversation, read from Rasa's API after checking its session key."""
    blueprint = Blueprint("widget_history", url_prefix="/api")
    limiter = limits.RateLimiter(limits.HISTORY_PER_CLIENT, limits.HISTORY_WINDOW)

    @blueprint.post("/history")
    async def history(request: Request) -> response.HTTPResponse:
        client = request.remote_addr or request.ip
        if not limiter.allow(client):
            return response.json({"error": "请求太频繁，请稍后再试"}, status=429, ensure_ascii=False,
                                 headers={"Retry-After": str(limiter.retry_after(client))})
        try:
            body = request.json if request.body else None
        except Exception:  # Sanic raises its own error type for a malformed body
            body = None
        if not isinstance(body, dict) or not key_matches(body.get("session_id"), body.get("session_key")):
            return response.json({"error": "会话凭据无效"}, status=403, ensure_ascii=False)
        rasa_url = os.environ.get("HUIQI_RASA_URL", "http://127.0.0.1:5005")
        try:
            tracker = await asyncio.to_thread(_tracker, rasa_url, body["session_id"], load_settings().rasa_token)
        except (urllib.error.URLError, OSError, ValueError):
            return response.json({"error": "暂时无法读取对话记录"}, status=503, ensure_ascii=False)
        # Any origin may ask (the widget is embedded on other sites): the key, not a cookie, is the credential.
        return response.json({"messages": messages_from_tracker(tracker)}, ensure_ascii=False,
                             headers={"Cache-Control": "no-store", "Access-Control-Allow-Origin": "*"})

    return blueprint
