r"""DingTalk (钉钉 / 专有钉钉 / 浙政钉) enterprise robot channel for service-team staff.

HTTP callback mode: DingTalk POSTs each message a staff member sends the robot to
`/webhooks/dingtalk/webhook`. Before anything else the request must carry a `timestamp` header
(milliseconds, within one hour of now) and a `sign` header equal to
base64(HMAC-SHA256(key=app secret, msg=timestamp + "\n" + app secret)), compared in constant
time; anything else is rejected without reading the body. Stream mode (bridge/dingtalk_stream/)
forwards messages here signed the same way, so both transports share this one handler.

Replies go to the message's `sessionWebhook` as markdown, only if that URL's host is on the
allowlist (`reply_hosts`, default oapi.dingtalk.com and api.dingtalk.com): the URL comes from the
request body, so without the allowlist a caller holding the secret could make the server POST
anywhere (request forgery). A webhook past `sessionWebhookExpiredTime` is not used; long replies
are split.

Staff: `senderStaffId` maps to a role from the knowledge base (`StaffMember`) and from
`HUIQI_STAFF_IDS` ("id1,id2:admin"); the role goes to Rasa in the message metadata
(`{"channel": "dingtalk", "role": "staff" | "admin" | "public"}`) so actions can add staff-only
content. Staff commands "今日未解答", "帮企业查 …", "新政策匹配" and "匹配 <措施编号或名称>" (政策找企业) are
answered from the knowledge base by bot/staff_commands.py.

An empty app secret (the development default that `huiqi run` fills in when
`DINGTALK_APP_SECRET` is unset) disables the channel: every callback gets 503, since an HMAC
keyed by a known or empty secret authenticates nobody. There is deliberately no switch to accept
unsigned callbacks.
"""

from __future__ import annotations

import asyncio
import collections
import hmac
import json
import logging
import os
import re
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guarded import guard

# The shared HTTP conventions (signature, reply allowlist, markdown line breaks), re-exported here.
from bot.dingtalk_common import (  # noqa: F401 - part of this module's interface
    DEFAULT_REPLY_HOSTS,
    Origin,
    parse_reply_hosts,
    plain,
    sign,
    to_markdown,
    webhook_problem,
)
from bot.staff_commands import COMMAND_FAILED, STAFF_ONLY_REPLY, answer_command, parse_command, role_in_kb
from kb.store.models import STAFF_ROLES

logger = logging.getLogger(__name__)

MAX_CLOCK_SKEW_MS = 60 * 60 * 1000  # DingTalk: a timestamp more than one hour away is not theirs
# DingTalk caps a robot message at about 20 KB; 3000 characters of Chinese (≤ 9 KB UTF-8) stays well under.
DEFAULT_MAX_REPLY_CHARS = 3000
REPLY_TITLE = "惠企政策助手"
SEEN_MESSAGES = 10_000
SEEN_TTL_SECONDS = 2 * 60 * 60  # a sessionWebhook lives about 1.5 hours; a replay after that is refused anyway
OUTBOUND_TIMEOUT_SECONDS = 10

ROLES = ("public", *STAFF_ROLES)  # from the least to the most a sender may see
NON_TEXT_REPLY = "目前只能读文字消息，请直接打字提问。"


# --- authenticity -----------------------------------------------------------------------------------


def authenticity_problem(headers: Mapping[str, str], secret: str, now_ms: int | None = None) -> str | None:
    """None if the request is DingTalk's; otherwise why not (for the log, never the secret or the sign)."""
    timestamp = (headers.get("timestamp") or "").strip()
    signature = (headers.get("sign") or "").strip()
    if not timestamp or not signature:
        return "missing timestamp or sign header"
    if not timestamp.isdigit():
        return "timestamp is not milliseconds"
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    if abs(now_ms - int(timestamp)) > MAX_CLOCK_SKEW_MS:
        return "timestamp more than one hour from now"
    if "%" in signature:  # some proxies pass the value URL-encoded
        signature = urllib.parse.unquote(signature)
    if not hmac.compare_digest(sign(timestamp, secret).encode("ascii"), signature.encode("utf-8", "replace")):
        return "signature does not match"
    return None


# --- reading a message ------------------------------------------------------------------------------


class SeenMessages:
    """msgIds already handled: bounded, forgetting the oldest and anything older than the TTL."""

    def __init__(self, size: int = SEEN_MESSAGES, ttl: float = SEEN_TTL_SECONDS) -> None:
        """Remember at most `size` msgIds, each for `ttl` seconds."""
        self.size = size
        self.ttl = ttl
        self._seen: collections.OrderedDict[str, float] = collections.OrderedDict()

    def check_and_add(self, msg_id: str, now: float | None = None) -> bool:
        """True if `msg_id` was seen (and not yet forgotten); remembers it otherwise."""
        now = time.monotonic() if now is None else now
        while self._seen and (len(self._seen) >= self.size or next(iter(self._seen.values())) < now - self.ttl):
            self._seen.popitem(last=False)
        if msg_id in self._seen:
            return True
        self._seen[msg_id] = now
        return False


_LEADING_MENTIONS = re.compile(r"^(?:\s*@\S+)+\s*")


def message_text(payload: Mapping[str, Any]) -> str:
    """The text a person typed: a group message loses the leading @mention(s) of the robot."""
    text = ((payload.get("text") or {}).get("content") or "").strip()
    if payload.get("conversationType") == "2":
        text = _LEADING_MENTIONS.sub("", text)
    return text.strip()


def sender_key(payload: Mapping[str, Any]) -> str:
    """The Rasa conversation id: one per person, and one per person per group chat."""
    person = payload.get("senderStaffId") or payload.get("senderId") or "unknown"
    if payload.get("conversationType") == "2" and payload.get("conversationId"):
        return f"{payload['conversationId']}#{person}"
    return str(person)


def staff_ids_from_env(value: str | None = None) -> dict[str, str]:
    """`HUIQI_STAFF_IDS`: "id1,id2:admin" → {"id1": "staff", "id2": "admin"}; unknown roles are refused."""
    value = os.environ.get("HUIQI_STAFF_IDS", "") if value is None else value
    roles: dict[str, str] = {}
    for entry in re.split(r"[,\s]+", value.strip()):
        if not entry:
            continue
        staff_id, _, role = entry.partition(":")
        role = role or "staff"
        if role not in STAFF_ROLES:
            raise ValueError(f"HUIQI_STAFF_IDS: {entry!r} has role {role!r}; use staff or admin")
        roles[staff_id] = role
    return roles


def higher_role(*roles: str | None) -> str:
    """The role that sees the most among those given (unknown ones ignored); "public" when none."""
    return max((r for r in roles if r in ROLES), key=ROLES.index, default="public")


# --- writing a reply --------------------------------------------------------------------------------


def split_reply(text: str, limit: int = DEFAULT_MAX_REPLY_CHARS) -> list[str]:
    """Pieces of at most `limit` characters, cut at paragraph, then line, then character boundaries."""
    pieces: list[str] = []
    current = ""
    for block in re.split(r"(\n\n|\n)", text.strip()):
        if len(current) + len(block) <= limit:
            current += block
            continue
        if current.strip():
            pieces.append(current.strip())
        current = ""
        while len(block) > limit:
            pieces.append(block[:limit])
            block = block[limit:]
        current = block
    if current.strip():
        pieces.append(current.strip())
    return pieces


def markdown_payload(text: str, title: str = REPLY_TITLE) -> dict[str, Any]:
    """A DingTalk markdown message with a title and the text in DingTalk's markdown."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": to_markdown(text)}}


class DingTalkOutput(OutputChannel):
    """Collects one turn's messages and POSTs them to the sessionWebhook as markdown when flushed.

    One reply per turn rather than one per bot message: DingTalk limits a robot to about 20
    messages a minute, and a reply that arrives in one piece reads better.
    """

    @classmethod
    def name(cls) -> str:
        """The channel's name: dingtalk."""
        return "dingtalk"

    def __init__(self, session_webhook: str, expires_at_ms: int | None, allowed: Iterable[Origin],
                 max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS) -> None:
        """Hold the turn's sessionWebhook, its expiry, the allowed reply hosts and the reply length limit."""
        self.session_webhook = session_webhook
        self.expires_at_ms = expires_at_ms
        self.allowed = tuple(allowed)
        self.max_reply_chars = max_reply_chars
        self.parts: list[str] = []
        self.sent: list[dict[str, Any]] = []

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Collect a text for the turn's reply."""
        self.parts.append(text)

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        """Collect a text with its buttons as a list of their titles (a robot's markdown has no buttons)."""
        # A robot's markdown has no buttons; the suggestions become a list the person can retype.
        lines = [text] + [f"- {b.get('title') or b.get('payload')}" for b in buttons]
        self.parts.append("\n".join(lines))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Collect an image as a markdown image link."""
        self.parts.append(f"![]({image})")

    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        """Drop a custom JSON message (DingTalk replies are markdown only), with a debug log line."""
        logger.debug("DingTalk: custom JSON message not supported; dropped")

    def expired(self, now_ms: int | None = None) -> bool:
        """Whether the sessionWebhook has expired at `now_ms` (default: now); never when no expiry is known."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        return self.expires_at_ms is not None and now_ms >= self.expires_at_ms

    async def flush(self) -> int:
        """POST what was collected; returns the number of messages DingTalk accepted."""
        text = "\n\n".join(p.strip() for p in self.parts if p and p.strip())
        self.parts = []
        if not text:
            return 0
        problem = webhook_problem(self.session_webhook, self.allowed)
        if problem:  # checked at receipt too; checked again here because this is where the request goes out
            logger.warning("DingTalk reply refused: %s", problem)
            return 0
        if self.expired():
            logger.warning("DingTalk reply dropped: the sessionWebhook expired before the answer was ready")
            return 0
        delivered = 0
        timeout = aiohttp.ClientTimeout(total=OUTBOUND_TIMEOUT_SECONDS)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            for piece in split_reply(text, self.max_reply_chars):
                payload = markdown_payload(piece)
                try:
                    # No redirects: a 30x to another host would bypass the allowlist.
                    async with session.post(self.session_webhook, json=payload, allow_redirects=False) as reply:
                        body = await reply.json(content_type=None) if reply.status == 200 else None
                except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                    logger.warning("DingTalk reply failed (%s): %s", urllib.parse.urlsplit(self.session_webhook).hostname,
                                   type(exc).__name__)
                    break
                if not isinstance(body, dict) or body.get("errcode", 0) != 0:
                    logger.warning("DingTalk rejected a reply: HTTP %s, errcode %s, errmsg %s", reply.status,
                                   (body or {}).get("errcode"), (body or {}).get("errmsg"))
                    break
                self.sent.append(payload)
                delivered += 1
        return delivered




# --- the channel --------------------------------------------------------------------------------------


class DingTalkInput(InputChannel):
    """DingTalk's enterprise robot, HTTP callback mode (Stream mode arrives through the bridge)."""

    @classmethod
    def name(cls) -> str:
        """The channel's name: dingtalk."""
        return "dingtalk"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """The channel from credentials.yml: app_key, app_secret, reply_hosts and max_reply_chars."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls(
            app_key=credentials.get("app_key") or "",
            app_secret=credentials.get("app_secret") or "",
            reply_hosts=credentials.get("reply_hosts"),
            max_reply_chars=int(credentials.get("max_reply_chars") or DEFAULT_MAX_REPLY_CHARS),
        )

    def __init__(self, app_key: str, app_secret: str, reply_hosts: Any = None,
                 max_reply_chars: int = DEFAULT_MAX_REPLY_CHARS,
                 staff_ids: Mapping[str, str] | None = None) -> None:
        """Keep the app's credentials, reply hosts and staff ids (default: from the environment); no secret: off."""
        self.app_key = app_key
        self.app_secret = app_secret
        self.allowed = parse_reply_hosts(reply_hosts)
        self.max_reply_chars = max_reply_chars
        self.staff_ids = dict(staff_ids_from_env() if staff_ids is None else staff_ids)
        self.seen = SeenMessages()
        self._tasks: set = set()
        if not app_secret:
            logger.warning("DingTalk channel disabled: DINGTALK_APP_SECRET is not set, every callback gets 503")

    # The role lookup and staff commands are methods so a test can replace the knowledge base.
    async def role_of(self, payload: Mapping[str, Any]) -> str:
        """The sender's role: the higher of the one configured for its staff id and the KB's; "public" without one."""
        staff_id = payload.get("senderStaffId")
        if not staff_id:
            return "public"
        try:
            stored = await asyncio.to_thread(role_in_kb, str(staff_id))
        except Exception:  # noqa: BLE001 - an unreadable staff table must not open staff content; fail closed
            logger.exception("DingTalk: could not read the staff table; treating the sender as public")
            stored = None
        return higher_role(self.staff_ids.get(str(staff_id)), stored)

    async def staff_command(self, text: str, role: str) -> str | None:
        """The reply to a staff command, or None if `text` is not one (it then goes to Rasa)."""
        parsed = parse_command(text)
        if parsed is None:
            return None
        command, argument = parsed
        if role not in STAFF_ROLES:
            return STAFF_ONLY_REPLY.format(command=command)
        try:
            return await asyncio.to_thread(answer_command, command, argument)
        except Exception:  # noqa: BLE001 - the staff member gets an apology, the log the traceback
            logger.exception("DingTalk: staff command %s failed", command)
            return COMMAND_FAILED

    async def handle_callback(self, headers: Mapping[str, str], body: bytes,
                              on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> tuple[int, dict[str, Any]]:
        """Check, parse and accept one callback; the turn runs in the background. Returns (HTTP status, body)."""
        if not self.app_secret:
            return HTTPStatus.SERVICE_UNAVAILABLE, {"error": "DingTalk channel is not configured"}
        problem = authenticity_problem(headers, self.app_secret)
        if problem:
            logger.warning("DingTalk callback rejected: %s", problem)
            return HTTPStatus.UNAUTHORIZED, {"error": "invalid signature or timestamp"}
        try:
            payload = json.loads(body or b"")
            if not isinstance(payload, dict):
                raise ValueError("not an object")
        except ValueError:
            return HTTPStatus.BAD_REQUEST, {"error": "body is not a JSON object"}
        problem = webhook_problem(payload.get("sessionWebhook"), self.allowed)
        if problem:
            logger.warning("DingTalk callback refused: %s", problem)
            return HTTPStatus.FORBIDDEN, {"error": "sessionWebhook not allowed"}
        expires = payload.get("sessionWebhookExpiredTime")
        output = DingTalkOutput(payload["sessionWebhook"], int(expires) if str(expires or "").isdigit() else None,
                                self.allowed, self.max_reply_chars)
        if output.expired():
            logger.info("DingTalk callback ignored: its sessionWebhook has expired")
            return HTTPStatus.OK, {"status": "expired"}
        msg_id = payload.get("msgId")
        if msg_id and self.seen.check_and_add(str(msg_id)):
            logger.info("DingTalk callback ignored: msgId already handled")
            return HTTPStatus.OK, {"status": "duplicate"}
        if payload.get("conversationType") == "2" and payload.get("isInAtList") is False:
            return HTTPStatus.OK, {"status": "ignored"}
        task = asyncio.create_task(self._answer(payload, output, on_new_message))
        self._tasks.add(task)  # keep a reference so the turn is not garbage-collected mid-way
        task.add_done_callback(self._tasks.discard)
        return HTTPStatus.OK, {"status": "accepted"}

    async def wait_idle(self) -> None:
        """Wait until every accepted message has been answered (tests; a clean shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _answer(self, payload: dict[str, Any], output: DingTalkOutput,
                      on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        try:
            if payload.get("msgtype") != "text":
                await output.send_text_message("", NON_TEXT_REPLY)
                return
            text = message_text(payload)
            if not text:
                return
            role = await self.role_of(payload)
            reply = await self.staff_command(text, role)
            if reply is not None:
                await output.send_text_message("", reply)
                return
            message = UserMessage(
                text, output, sender_key(payload), input_channel=self.name(),
                metadata={"channel": "dingtalk", "role": role}, message_id=payload.get("msgId"),
            )
            await guard(on_new_message)(message)
        except Exception:  # noqa: BLE001 - a background task has nobody to raise to; the guard already apologised
            logger.exception("DingTalk: answering a message failed")
        finally:
            await output.flush()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """The routes: GET / reports whether the channel is configured, POST /webhook takes DingTalk's callbacks."""
        dingtalk_webhook = Blueprint("dingtalk_webhook", __name__)

        @dingtalk_webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok" if self.app_secret else "not configured"})

        @dingtalk_webhook.route("/webhook", methods=["POST"])
        async def webhook(request: Request) -> HTTPResponse:
            status, body = await self.handle_callback(request.headers, request.body, on_new_message)
            return response.json(body, status=int(status))

        return dingtalk_webhook
