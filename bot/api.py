"""POST /api/eligibility: the same engine as the chat, for staff tools and other systems.

Body: {"facts": {...}} in engine units (money in 万元, ratios as fractions, see kb.eligibility),
or {"text": "<a firm's own description>"} parsed by kb.eligibility.profile; optional "scope"
("all", "family:<family>", "category:<name>", "measure:<id>"), "skipped" (fields the firm cannot answer)
and "date" (YYYY-MM-DD, default today).

A description decides everything it can (scope "all"); a question in it that names one category or measure
("能评高企吗？") is returned as "focus", never used to drop the other verdicts, and a certification the firm
already holds is a fact, never the focus. Each verdict's status is eligible, likely (every encoded condition
met; "to_confirm" lists the official conditions the rule does not encode), not_eligible or unknown
("missing_fields" would decide it). Facts out of range get 400 with {"error", "field"}.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from kb.eligibility import FactsError
from kb.eligibility import service as matching
from kb.eligibility.fact_bounds import out_of_range
from kb.eligibility.parsing import extract
from kb.eligibility.profile import FIELDS
from kb.text import normalize

MAX_TEXT = 5000


def _bad(message: str, status: int = 400) -> response.HTTPResponse:
    return response.json({"error": message}, status=status, ensure_ascii=False)


# Bounds a fact must lie within (engine units); beyond them the figure is a typo, not a firm.
_BOUNDS = {"money": (0, 100_000_000), "count": (0, 2_000_000), "ratio": (0, 1), "year": (1900, 2100)}


def check_facts(facts: dict[str, Any]) -> tuple[str, str] | None:
    """The first bad fact as (field, message), or None: unknown fields, wrong types, values out of range."""
    for name, value in facts.items():
        spec = FIELDS.get(name)
        if spec is None:
            return name, f"未知的企业信息字段：{name}；可用字段：{', '.join(FIELDS)}"
        if value is None:
            continue
        bounds = _BOUNDS.get(spec.kind)
        if bounds is not None:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return name, f"{name}（{spec.label}）应是数，现在是 {value!r}"
            low, high = bounds
            if not low <= value <= high:
                return name, f"{name}（{spec.label}）应在 {low} 到 {high} 之间（单位：{spec.unit or '数'}），现在是 {value!r}"
        elif spec.kind == "choice" and value not in spec.values:
            return name, f"{name}（{spec.label}）应是 {'、'.join(spec.values)} 之一，现在是 {value!r}"
    return None


def check_body(sessions, body: dict[str, Any]) -> dict[str, Any]:
    """The reply to one request body, already checked by the route (also used in-process by bench scripts)."""
    today = dt.date.fromisoformat(body["date"]) if body.get("date") else dt.date.today()
    problems: dict[str, str] = {}
    approximate: list[str] = []
    if "text" in body:
        extraction = extract(normalize(body["text"]), today=today)
        facts, problems, approximate = extraction.facts, extraction.problems, sorted(extraction.approximate)
        ranges = {name: extraction.ranges.get(name) for name in approximate}
    else:
        facts, ranges = body["facts"], {}
    with sessions() as session:
        focus = matching.scope_of(body["text"], session=session, facts=facts) if "text" in body else "all"
        scope = body.get("scope") or "all"
        result = matching.match(facts, session=session, today=today, scope=scope, skipped=body.get("skipped") or [],
                                approximate=ranges)
    question = result.next_field
    return {
        "date": today.isoformat(),
        "scope": result.scope,
        "focus": focus,
        "facts": matching.jsonable_facts(result.facts),
        "approximate": approximate,
        "ranges": {name: list(bounds) for name, bounds in ranges.items() if bounds is not None},
        "problems": problems,
        "verdicts": [dataclasses.asdict(v) for v in result.verdicts],
        "next_question": None if question is None else
        {"field": question.name, "label": question.label, "unit": question.unit, "question": question.question},
    }


def create_blueprint() -> Blueprint:
    """The public JSON API: eligibility of a firm's facts or description against the measures with rules."""
    blueprint = Blueprint("eligibility_api", url_prefix="/api")

    @blueprint.post("/eligibility")
    async def eligibility(request: Request) -> response.HTTPResponse:
        try:
            body = request.json if request.body else None
        except Exception:  # Sanic raises its own error type for a malformed body
            body = None
        if not isinstance(body, dict) or ("facts" in body) == ("text" in body):
            return _bad('请求体须是 JSON，且只含 "facts"（对象）或 "text"（字符串）之一')
        if "text" in body and (not isinstance(body["text"], str) or len(body["text"]) > MAX_TEXT):
            return _bad(f'"text" 须是不超过{MAX_TEXT}字的字符串')
        if "facts" in body:
            if not isinstance(body["facts"], dict):
                return _bad('"facts" 须是对象')
            beyond = out_of_range(body["facts"])  # per-field bounds and NaN first: kb/eligibility/fact_bounds.py
            if beyond:
                return response.json({"error": beyond.message, "field": beyond.field}, status=400, ensure_ascii=False)
            bad = check_facts(body["facts"])  # then unknown fields, types and choices
            if bad:
                return response.json({"error": bad[1], "field": bad[0]}, status=400, ensure_ascii=False)
        scope = body.get("scope")
        if scope is not None and (not isinstance(scope, str) or scope.partition(":")[0] not in ("all", "family", "category", "measure")):
            return _bad('"scope" 须是 "all"、"family:<family>"、"category:<名称>" 或 "measure:<id>"')
        try:
            if body.get("date"):
                dt.date.fromisoformat(body["date"])
            result = await asyncio.to_thread(check_body, request.app.ctx.sessions, body)
        except (FactsError, ValueError, KeyError) as exc:
            return _bad(f"无法判断：{exc}")
        return response.json(result, ensure_ascii=False)

    return blueprint
