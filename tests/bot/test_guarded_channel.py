"""A turn that produces no reply gets an apology instead of silence."""

from __future__ import annotations

import asyncio

import pytest
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage

from bot.channels.guarded import LAST_RESORT_APOLOGY, LAST_RESORT_PROMPT, guard


def handle(on_new_message, text: str = "首台套奖励多少") -> list[dict]:
    collector = CollectingOutputChannel()
    asyncio.run(guard(on_new_message)(UserMessage(text, collector, "firm-1")))
    return collector.messages


def test_a_silent_turn_gets_an_apology():
    async def silent(message: UserMessage) -> None:
        return None

    assert [m["text"] for m in handle(silent)] == [LAST_RESORT_APOLOGY]


def test_a_turn_that_failed_with_an_exception_still_gets_an_apology():
    async def failing(message: UserMessage) -> None:
        raise RuntimeError("action server unreachable")

    collector = CollectingOutputChannel()
    with pytest.raises(RuntimeError):
        asyncio.run(guard(failing)(UserMessage("首台套", collector, "firm-1")))
    assert [m["text"] for m in collector.messages] == [LAST_RESORT_APOLOGY]


def test_a_turn_that_answered_gets_no_extra_message():
    async def answering(message: UserMessage) -> None:
        await message.output_channel.send_response(message.sender_id, {"text": "国际首台（套）奖励200万元"})

    assert [m["text"] for m in handle(answering)] == ["国际首台（套）奖励200万元"]


def test_an_empty_message_gets_a_prompt_without_running_the_bot():
    async def must_not_run(message: UserMessage) -> None:
        raise AssertionError("the bot ran on an empty message")

    assert [m["text"] for m in handle(must_not_run, "   ")] == [LAST_RESORT_PROMPT]


def test_a_message_over_the_length_limit_gets_a_polite_refusal_without_running_the_bot():
    from bot.channels.guarded import LAST_RESORT_TOO_LONG
    from bot.limits import MAX_MESSAGE_LENGTH

    async def must_not_run(message: UserMessage) -> None:
        raise AssertionError("the bot ran on an over-long message")

    assert [m["text"] for m in handle(must_not_run, "政" * (MAX_MESSAGE_LENGTH + 1))] == [LAST_RESORT_TOO_LONG]


def test_a_flood_from_one_sender_is_refused_while_another_sender_is_answered(caplog):
    from bot.channels.guarded import LAST_RESORT_TOO_MANY
    from bot.limits import RateLimiter

    ran: list[str] = []

    async def answering(message: UserMessage) -> None:
        ran.append(message.sender_id)
        await message.output_channel.send_response(message.sender_id, {"text": "答"})

    guarded = guard(answering, RateLimiter(3, 60))

    def say(sender: str) -> list[str]:
        collector = CollectingOutputChannel()
        asyncio.run(guarded(UserMessage("你好", collector, sender)))
        return [m["text"] for m in collector.messages]

    assert [say("flooder") for _ in range(5)] == [["答"]] * 3 + [[LAST_RESORT_TOO_MANY]] * 2
    assert say("someone-else") == ["答"]
    assert ran == ["flooder"] * 3 + ["someone-else"]
    refusals = [r for r in caplog.records if "over 3 messages" in r.getMessage()]
    assert len(refusals) == 1  # one line per flooding sender, not one per refused message


def test_the_rest_channel_takes_neither_the_channel_name_nor_metadata_from_the_body():
    from unittest.mock import Mock

    from bot.channels.guarded import GuardedRestInput

    request = Mock(json={"sender": "x", "message": "hi", "input_channel": "dingtalk",
                         "metadata": {"channel": "dingtalk", "role": "admin"}})
    channel = GuardedRestInput()
    assert channel._extract_input_channel(request) == "rest"
    assert channel.get_metadata(request) is None
