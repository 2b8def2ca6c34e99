"""DingTalk's HTTP conventions shared by the robot channel and the staff group robot, without Rasa.

`sign` is DingTalk's HMAC (callbacks and the custom robot's 加签 alike); `reply_hosts` is the allowlist
every outbound POST to DingTalk is checked against (`DINGTALK_REPLY_HOSTS`); `to_markdown` keeps line
breaks in DingTalk's markdown. Kept apart from bot/channels/, whose package loads Rasa, so the CLI and
the web app can use it cheaply.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import urllib.parse
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

DEFAULT_REPLY_HOSTS = ("oapi.dingtalk.com", "api.dingtalk.com")


def sign(timestamp: str, secret: str) -> str:
    r"""DingTalk's signature (callbacks, and the custom robot's 加签): base64(HMAC-SHA256(secret, timestamp + "\n" + secret))."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


# --- where replies may go ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Origin:
    """One allowed reply host: scheme, host and port."""

    scheme: str
    host: str
    port: int

    @classmethod
    def parse(cls, entry: str) -> Origin:
        """`host` (https on 443), `host:port` (https) or `scheme://host[:port]`."""
        entry = entry.strip().rstrip("/")
        parts = urllib.parse.urlsplit(entry if "://" in entry else f"https://{entry}")
        if parts.scheme not in ("https", "http") or not parts.hostname or parts.path or parts.username:
            raise ValueError(f"reply_hosts: {entry!r} is not a host, host:port or scheme://host[:port]")
        return cls(parts.scheme, parts.hostname.lower(), parts.port or (443 if parts.scheme == "https" else 80))


def parse_reply_hosts(value: Any) -> tuple[Origin, ...]:
    """The allowlist from credentials.yml: a list or a comma-separated string; empty means the defaults."""
    if isinstance(value, str):
        entries = [e for e in re.split(r"[,\s]+", value) if e]
    else:
        entries = [str(e) for e in value or [] if str(e).strip()]
    return tuple(Origin.parse(e) for e in entries or DEFAULT_REPLY_HOSTS)


def webhook_problem(url: Any, allowed: Iterable[Origin]) -> str | None:
    """None if replies may be POSTed to `url`; otherwise why not (naming the host only)."""
    if not isinstance(url, str) or not url:
        return "no sessionWebhook"
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "sessionWebhook is not a URL"
    # user:pass@ in a URL is a classic way to disguise the real host; DingTalk never sends it.
    if parts.username or parts.password or not parts.hostname:
        return "sessionWebhook has no plain host"
    if Origin(parts.scheme, parts.hostname.lower(), port) not in set(allowed):
        return f"sessionWebhook host {parts.scheme}://{parts.hostname}:{port} is not in reply_hosts"
    return None


def to_markdown(text: str) -> str:
    """DingTalk's markdown needs two spaces before a newline to break the line there."""
    return re.sub(r" *\n", "  \n", text.strip())


# Text that firms typed must not become markdown in a staff member's chat (links, images that load a URL).
_MARKDOWN_CHARS = str.maketrans({"[": "［", "]": "］", "(": "（", ")": "）", "!": "！", "*": "＊", "_": "＿",
                                 "#": "＃", ">": "＞", "<": "＜", "`": "｀", "\n": " ", "\r": " "})


def plain(text: str) -> str:
    """Someone else's text, shown as typed: markdown characters become their full-width look-alikes."""
    return text.translate(_MARKDOWN_CHARS)
