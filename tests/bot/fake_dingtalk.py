"""A fake DingTalk on loopback (sessionWebhook replies, custom group robot), and callbacks signed as DingTalk signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def dingtalk_sign(timestamp: str, secret: str) -> str:
    # Written out from DingTalk's documentation, independently of the connector's own code.
    mac = hmac.new(secret.encode("utf-8"), (timestamp + "\n" + secret).encode("utf-8"), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def signed_headers(secret: str, *, timestamp_ms: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    return {"Content-Type": "application/json; charset=utf-8", "timestamp": timestamp,
            "sign": dingtalk_sign(timestamp, secret)}


def callback_body(webhook: str, text: str, *, msg_id: str, staff_id: str | None = "staff-001",
                  group: bool = False, at_robot: bool = True, expires_in_ms: int = 90 * 60 * 1000,
                  msgtype: str = "text") -> dict:
    """A robot message as DingTalk's HTTP callback sends it (field names from DingTalk's receive-message docs)."""
    now = int(time.time() * 1000)
    body = {
        "conversationId": "cidGroupAbc==" if group else "cidSingleXyz==",
        "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}] if group and at_robot else [],
        "chatbotCorpId": "dingcorp123",
        "chatbotUserId": "$:LWCP_v1:$robot",
        "msgId": msg_id,
        "senderNick": "王专员",
        "isAdmin": False,
        "sessionWebhookExpiredTime": now + expires_in_ms,
        "createAt": now,
        "senderCorpId": "dingcorp123",
        "conversationType": "2" if group else "1",
        "senderId": f"$:LWCP_v1:${staff_id or 'anon'}",
        "isInAtList": at_robot if group else True,
        "sessionWebhook": webhook,
        "robotCode": "dingrobot123",
        "msgtype": msgtype,
    }
    if group:
        body["conversationTitle"] = "助企服务专班"
    if staff_id is not None:
        body["senderStaffId"] = staff_id
    if msgtype == "text":
        body["text"] = {"content": text}
    else:
        body["content"] = {"downloadCode": "abc"}
    return body


class FakeDingTalk:
    """Records every POST (/robot/sendBySession replies, /robot/send group robot) and answers like DingTalk: {"errcode": 0}."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.answer: dict = {"errcode": 0, "errmsg": "ok"}  # what DingTalk says back (a test may make it refuse)
        self.delay = 0.0  # seconds to wait before answering (a test may make it time out)
        self._changed = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"null")
                with fake._changed:
                    fake.received.append({"path": self.path, "body": body})
                    fake._changed.notify_all()
                if fake.delay:
                    time.sleep(fake.delay)
                reply = json.dumps(fake.answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def origin(self) -> str:
        """The allowlist entry for this fake (http on loopback, this port only)."""
        return f"http://127.0.0.1:{self.port}"

    def webhook(self, session: str = "sess1") -> str:
        return f"{self.origin}/robot/sendBySession?session={urllib.parse.quote(session)}"

    def robot_webhook(self, token: str = "robot-token") -> str:
        """A custom group robot's webhook, as DingTalk shows it in the group's robot settings."""
        return f"{self.origin}/robot/send?access_token={urllib.parse.quote(token)}"

    def query(self, index: int = 0) -> dict[str, str]:
        """The query parameters of the `index`th POST (the robot's access_token, timestamp and sign)."""
        with self._changed:
            path = self.received[index]["path"]
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(path).query))

    def bodies(self) -> list[dict]:
        with self._changed:
            return [r["body"] for r in self.received]

    def wait_for(self, count: int, timeout: float = 60) -> list[dict]:
        """The bodies received, once there are at least `count` of them (or the timeout passed)."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.received) < count and time.monotonic() < deadline:
                self._changed.wait(max(0.01, deadline - time.monotonic()))
            return [r["body"] for r in self.received]

    def clear(self) -> None:
        with self._changed:
            self.received.clear()

    def __enter__(self) -> FakeDingTalk:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
