"""What the answer path hands to a channel: messages named by their domain response, with their values.

Wording lives in the Rasa domain (domain.yml); these values only name a response and fill its fields.
A value may itself be a `Line` (or a list of them), worded by another response when the reply is rendered.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Line:
    """One line inside a message, worded by the domain response `response`."""

    response: str
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Say:
    """One message: a domain response, its values and buttons ({title, payload})."""

    response: str
    values: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Reply:
    """The messages of one answer, the topic a follow-up continues from, and whether anything answered."""

    messages: tuple[Say, ...]
    context: dict[str, Any] | None = None
    answered: bool = True


def render(values: dict[str, Any], responses: dict[str, Any]) -> dict[str, str]:
    """Fill nested lines with their responses' text (`responses` is the domain's `responses:` mapping)."""

    def text(value: Any) -> str:
        if isinstance(value, Line):
            template = responses[value.response][0]["text"]
            return template.format(**{k: text(v) for k, v in value.values.items()})
        if isinstance(value, (list, tuple)):
            return "".join(text(v) for v in value)
        return "" if value is None else str(value)

    return {key: text(value) for key, value in values.items()}


def reply_text(reply: Reply, responses: dict[str, Any]) -> str:
    """The reply as one text, each message worded by its response (for the CLI and offline benches)."""
    out = []
    for say in reply.messages:
        template = responses[say.response][0]["text"]
        out.append(template.format(**render(say.values, responses)) if say.values else template)
        out.extend(button["title"] for button in say.buttons)
    return "\n".join(out)
