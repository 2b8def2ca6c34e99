"""Figures and dates as Chinese readers write them: 1042.8亿元, 200万元, 80%, 2026年2月26日."""

from __future__ import annotations

import datetime as dt
from typing import Any


def format_number(value: float | int) -> str:
    """200.0 → "200", 1042.80 → "1042.8"; never scientific notation."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int):
        return str(value)
    return f"{value:.6f}".rstrip("0").rstrip(".")


def format_amount(amount: float | int | None, unit: str | None) -> str:
    """An amount with its unit ("200万元"), or "" without one."""
    if amount is None:
        return ""
    return f"{format_number(amount)}{unit or ''}"


def format_date(value: dt.date | None) -> str:
    """A date as Chinese text ("2026年3月1日"), or ""."""
    if value is None:
        return ""
    return f"{value.year}年{value.month}月{value.day}日"


def format_benefit(benefit: dict[str, Any]) -> str:
    """"what：figure（note）", or just "what" when the source gives no figure."""
    text = benefit["what"]
    figure = format_amount(benefit.get("amount"), benefit.get("unit"))
    if figure:
        text = f"{text}：{figure}"
    if benefit.get("note"):
        text = f"{text}（{benefit['note']}）"
    return text


def format_period(valid_from: dt.date | None, valid_to: dt.date | None) -> str:
    """A validity period as Chinese text ("…至…", "…起", "至…"), or ""."""
    if valid_from and valid_to:
        return f"{format_date(valid_from)}至{format_date(valid_to)}"
    if valid_from:
        return f"{format_date(valid_from)}起"
    if valid_to:
        return f"至{format_date(valid_to)}"
    return ""
