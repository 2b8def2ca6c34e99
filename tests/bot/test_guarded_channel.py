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
