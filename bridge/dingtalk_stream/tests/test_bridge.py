"""The Stream bridge, driven with the SDK's own message objects; the connector is a fake on loopback."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time

import dingtalk_stream
import pytest
from aiohttp import web
from dingtalk_stream import AckMessage, CallbackMessage, ChatbotMessage

from bridge import ForwardingHandler

SECRET = "stream-test-secret"

INCOMING = {
    "conversationId": "cidGroup123==",
    "atUsers": [{"dingtalkId": "$:LWCP_v1:$robot"}],
    "chatbotCorpId": "dingcorp",
    "chatbotUserId": "$:LWCP_v1:$robot",
    "msgId": "msgStream0001",
    "senderNick": "王专员",
    "isAdmin": False,
    "senderStaffId": "staff-001",
    "sessionWebhookExpiredTime": int(time.time() * 1000) + 3_600_000,
    "createAt": int(time.time() * 1000),
    "senderCorpId": "dingcorp",
    "conversationType": "2",
    "senderId": "$:LWCP_v1:$sender",
    "conversationTitle": "助企服务专班",
    "isInAtList": True,
    "sessionWebhook": "https://oapi.dingtalk.com/robot/sendBySession?session=abc",
    "text": {"content": " 首台套奖励多少"},
    "msgtype": "text",
    "robotCode": "dingrobot",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def expected_sign(timestamp: str) -> str:
    # Written out independently of bridge.sign, as DingTalk documents it.
    mac = hmac.new(SECRET.encode(), (timestamp + "\n" + SECRET).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def callback_of(message: ChatbotMessage) -> CallbackMessage:
    """A CallbackMessage as the SDK builds it from a websocket frame."""
    frame = {
        "specVersion": "1.0",
        "type": "CALLBACK",
        "headers": {"topic": ChatbotMessage.TOPIC, "messageId": "frame-1", "contentType": "application/json",
                    "time": str(int(time.time() * 1000))},
        "data": json.dumps(message.to_dict(), ensure_ascii=False),
    }
    return CallbackMessage.from_dict(frame)


async def with_fake_connector(status: int, run):
    """Start a fake connector on loopback that records what it receives and answers `status`."""
    received = []

    async def webhook(request: web.Request) -> web.Response:
        received.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response({"status": "accepted"}, status=status)

    app = web.Application()
    app.router.add_post("/webhooks/dingtalk/webhook", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        result = await run(f"http://127.0.0.1:{port}/webhooks/dingtalk/webhook")
    finally:
        await runner.cleanup()
    return result, received


def test_a_stream_message_reaches_the_connector_signed_like_a_callback_and_is_acknowledged():
    message = ChatbotMessage.from_dict(INCOMING)

    async def run(url):
        return await ForwardingHandler(url, SECRET).raw_process(callback_of(message))

    ack, received = asyncio.run(with_fake_connector(200, run))
    assert ack.code == AckMessage.STATUS_OK
    assert ack.headers.message_id == "frame-1"
    assert len(received) == 1
    headers, body = received[0]["headers"], received[0]["body"]
    assert json.loads(body) == message.to_dict()
    assert json.loads(body)["senderStaffId"] == "staff-001"
    assert abs(int(headers["timestamp"]) - time.time() * 1000) < 60_000
    assert headers["sign"] == expected_sign(headers["timestamp"])


def test_a_frame_routed_by_the_sdk_client_is_forwarded_and_acked_on_the_websocket():
    sent_frames = []

    class FakeWebsocket:
        async def send(self, text):
            sent_frames.append(json.loads(text))

    async def run(url):
        client = dingtalk_stream.DingTalkStreamClient(dingtalk_stream.Credential("key", SECRET))
        client.register_callback_handler(ChatbotMessage.TOPIC, ForwardingHandler(url, SECRET))
        client.websocket = FakeWebsocket()
        frame = {"specVersion": "1.0", "type": "CALLBACK",
                 "headers": {"topic": ChatbotMessage.TOPIC, "messageId": "frame-2"},
                 "data": json.dumps(INCOMING, ensure_ascii=False)}
        await client.route_message(frame)

    _, received = asyncio.run(with_fake_connector(200, run))
    assert [json.loads(r["body"])["msgId"] for r in received] == ["msgStream0001"]
    assert sent_frames and sent_frames[0]["code"] == AckMessage.STATUS_OK
    assert sent_frames[0]["headers"]["messageId"] == "frame-2"


def test_a_message_the_connector_refuses_is_acknowledged_so_dingtalk_does_not_resend_it():
    async def run(url):
        return await ForwardingHandler(url, SECRET).raw_process(callback_of(ChatbotMessage.from_dict(INCOMING)))

    ack, received = asyncio.run(with_fake_connector(403, run))
    assert len(received) == 1 and ack.code == AckMessage.STATUS_OK


def test_an_unreachable_connector_gets_the_message_acknowledged_as_failed_for_redelivery():
    url = f"http://127.0.0.1:{free_port()}/webhooks/dingtalk/webhook"  # nothing listens there
    ack = asyncio.run(ForwardingHandler(url, SECRET).raw_process(callback_of(ChatbotMessage.from_dict(INCOMING))))
    assert ack.code == AckMessage.STATUS_SYSTEM_EXCEPTION


def test_the_bridge_refuses_to_start_without_a_secret():
    with pytest.raises(ValueError, match="DINGTALK_APP_SECRET"):
        ForwardingHandler("http://127.0.0.1:1/webhook", "")
