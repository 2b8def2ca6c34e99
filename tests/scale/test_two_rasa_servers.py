"""Two Rasa servers and an action server on PostgreSQL, Redis and RabbitMQ share every conversation."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from .conftest import RABBITMQ_URL

pytestmark = [pytest.mark.scale, pytest.mark.conversation]

DIALOGUE = ["民营经济32条是什么", "首台套奖励多少", "谢谢"]


def user_texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in events if e["event"] == "user"]


def slot_values(events: list[dict], name: str) -> list:
    return [e["value"] for e in events if e["event"] == "slot" and e["name"] == name]


def test_turns_sent_to_alternating_servers_make_one_conversation_with_its_facts(make_cluster):
    cluster = make_cluster(2)
    a, b = cluster.servers
    sender = "firm-alternating"
    for turn, text in enumerate(DIALOGUE):
        assert (a, b)[turn % 2].texts(sender, text), f"no reply to {text!r}"

    from_b, from_a = b.tracker_events(sender), a.tracker_events(sender)
    assert user_texts(from_b) == DIALOGUE
    assert "private_economy_32" in slot_values(from_b, "policy_family")
    assert [(e["event"], e.get("timestamp")) for e in from_a] == [(e["event"], e.get("timestamp")) for e in from_b]


def test_a_conversation_continues_through_nginx_when_its_server_is_killed(make_cluster):
    cluster = make_cluster(2, with_nginx=True)
    front, sender = cluster.front, "firm-failover"

    assert front.texts(sender, DIALOGUE[0])
    first = cluster.server_at(front.last_upstream)
    assert front.texts(sender, DIALOGUE[1])
    assert cluster.server_at(front.last_upstream) == first, "one sender must stay on one server"

    cluster.kill(first)
    assert front.texts(sender, DIALOGUE[2])
    assert cluster.server_at(front.last_upstream.split(",")[-1].strip()) == 1 - first

    survivor = cluster.servers[1 - first]
    events = survivor.tracker_events(sender)
    assert user_texts(events) == DIALOGUE
    assert "private_economy_32" in slot_values(events, "policy_family")


def test_the_conversation_s_events_arrive_on_the_rabbitmq_queue(make_cluster, broker_queue):
    cluster = make_cluster(1)
    sender = "firm-broker"
    for text in DIALOGUE[:2]:
        assert cluster.servers[0].texts(sender, text)

    events = asyncio.run(consume(broker_queue, sender, until=lambda got: len(user_texts(got)) == 2))
    assert user_texts(events) == DIALOGUE[:2]
    assert any(e["event"] == "bot" for e in events)
    assert "private_economy_32" in slot_values(events, "policy_family")


async def consume(queue_name: str, sender: str, until, timeout: float = 60) -> list[dict]:
    """Collect this sender's events from the queue, in order, until `until(events)` or the timeout."""
    import aio_pika

    got: list[dict] = []
    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(queue_name)
        deadline = time.monotonic() + timeout
        while not until(got) and time.monotonic() < deadline:
            message = await queue.get(fail=False, no_ack=True)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            event = json.loads(message.body)
            if event.get("sender_id") == sender:
                got.append(event)
    return got
