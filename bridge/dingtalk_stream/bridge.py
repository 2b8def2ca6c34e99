r"""DingTalk Stream mode bridge: robot messages over DingTalk's outbound websocket, into the Rasa connector.

For an intranet that DingTalk cannot call: this process opens the connection to DingTalk with the
official `dingtalk-stream` SDK, and hands every robot message to the Rasa DingTalk connector's HTTP
callback (`/webhooks/dingtalk/webhook`), signed exactly as DingTalk signs a callback
(base64 HMAC-SHA256 of timestamp + "\n" + app secret). The connector then checks it, answers it and
posts the reply to the message's sessionWebhook, as in HTTP mode: the bridge only forwards.

It runs in its own environment (.venv-dingtalk-stream/) because the SDK needs websockets>=11 and
aiohttp>=3.10, which Rasa 3.6 forbids. `huiqi run` starts it when DINGTALK_MODE=stream.

    .venv-dingtalk-stream/bin/python bridge/dingtalk_stream/bridge.py \
        --callback-url http://127.0.0.1:5005/webhooks/dingtalk/webhook --health-port 5006

Secrets (DINGTALK_APP_KEY, DINGTALK_APP_SECRET) come from the environment only and are never logged.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import hmac
import json
import logging
import os
import sys
import time

import aiohttp
import dingtalk_stream
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

logger = logging.getLogger("huiqi.dingtalk_stream")

DEFAULT_CALLBACK_URL = "http://127.0.0.1:5005/webhooks/dingtalk/webhook"
FORWARD_TIMEOUT_SECONDS = 15


def sign(timestamp: str, secret: str) -> str:
    """The signature DingTalk puts in a callback's `sign` header."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, now_ms: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time() * 1000) if now_ms is None else now_ms)
    return {"Content-Type": "application/json; charset=utf-8", "timestamp": timestamp, "sign": sign(timestamp, secret)}


class ForwardingHandler(dingtalk_stream.ChatbotHandler):
    """Hands each robot message to the connector's HTTP callback; acknowledges DingTalk once it is delivered.

    A connector that cannot be reached (or answers 5xx) gets the message acknowledged as failed, so
    DingTalk delivers it again; the connector ignores a msgId it already handled.
    """

    def __init__(self, callback_url: str, app_secret: str) -> None:
        super().__init__()
        if not app_secret:
            raise ValueError("DINGTALK_APP_SECRET is empty: the connector would refuse every message")
        self.callback_url = callback_url
        self.app_secret = app_secret
        self.forwarded = 0

    async def process(self, callback: CallbackMessage):
        message = ChatbotMessage.from_dict(callback.data)
        body = json.dumps(callback.data, ensure_ascii=False).encode("utf-8")
        status = await self.forward(body)
        if status is None or status >= 500:
            logger.warning("Connector did not take message %s (HTTP %s); DingTalk will redeliver",
                           message.message_id, status)
            return AckMessage.STATUS_SYSTEM_EXCEPTION, "connector unavailable"
        if status >= 400:
            # The connector refused it (signature, webhook host): redelivery cannot help.
            logger.warning("Connector refused message %s (HTTP %s)", message.message_id, status)
        self.forwarded += 1
        return AckMessage.STATUS_OK, "OK"

    async def forward(self, body: bytes) -> int | None:
        timeout = aiohttp.ClientTimeout(total=FORWARD_TIMEOUT_SECONDS)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.post(self.callback_url, data=body, headers=signed_headers(self.app_secret)) as reply:
                    return reply.status
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            logger.warning("Connector at %s unreachable: %s", self.callback_url, type(exc).__name__)
            return None


def health_app(client: dingtalk_stream.DingTalkStreamClient, handler: ForwardingHandler) -> web.Application:
    async def health(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "connected": client.websocket is not None,
                                  "forwarded": handler.forwarded})

    app = web.Application()
    app.router.add_get("/health", health)
    return app


async def serve(callback_url: str, host: str, health_port: int, app_key: str, app_secret: str) -> None:
    # The SDK logs the connection endpoint with its one-time ticket at INFO: its logger stays at WARNING.
    sdk_logger = logging.getLogger("huiqi.dingtalk_stream.sdk")
    sdk_logger.setLevel(logging.WARNING)
    client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential(app_key, app_secret), logger=sdk_logger)
    handler = ForwardingHandler(callback_url, app_secret)
    client.register_callback_handler(ChatbotMessage.TOPIC, handler)
    runner = web.AppRunner(health_app(client, handler))
    await runner.setup()
    await web.TCPSite(runner, host, health_port).start()
    logger.info("DingTalk Stream bridge: forwarding to %s, health on http://%s:%s/health",
                callback_url, host, health_port)
    try:
        await client.start()  # reconnects by itself; returns only when cancelled
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="DingTalk Stream mode → the Rasa DingTalk connector")
    parser.add_argument("--callback-url", default=os.environ.get("HUIQI_DINGTALK_CALLBACK_URL", DEFAULT_CALLBACK_URL))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--health-port", type=int, default=int(os.environ.get("HUIQI_DINGTALK_BRIDGE_PORT", "5006")))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app_key = os.environ.get("DINGTALK_APP_KEY", "")
    app_secret = os.environ.get("DINGTALK_APP_SECRET", "")
    if not app_key or not app_secret:
        print("DINGTALK_APP_KEY and DINGTALK_APP_SECRET must be set for Stream mode", file=sys.stderr)
        return 2
    try:
        asyncio.run(serve(args.callback_url, args.host, args.health_port, app_key, app_secret))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
