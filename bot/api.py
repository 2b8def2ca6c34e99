"""POST /api/eligibility: the same engine as the chat, for staff tools and other systems.

Body: {"facts": {...}} in engine units (money in 万元, ratios as fractions, see kb.eligibility),
or {"text": "<a firm's own description>"} parsed by kb.profile; optional "scope"
("all", "family:<family>", "category:<name>"), "skipped" (fields the firm cannot answer)
and "date" (YYYY-MM-DD, default today).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from kb import matching
from kb.eligibility import FactsError
from kb.fact_bounds import out_of_range
from kb.profile import FIELDS, extract
from kb.text import normalize

MAX_TEXT = 5000


def _bad(message: str, status: int = 400) -> response.HTTPResponse:
    return response.json({"error": message}, status=status, ensure_ascii=False)


def _check(sessions, body: dict[str, Any]) -> dict[str, Any]:
    today = dt.date.fromisoformat(body["date"]) if body.get("date") else dt.date.today()
    problems: dict[str, str] = {}
    approximate: list[str] = []
    if "text" in body:
        extraction = extract(normalize(body["text"]), today=today)
        facts, problems, approximate = extraction.facts, extraction.problems, sorted(extraction.approximate)
    else:
        facts = body["facts"]
    with sessions() as session:
        scope = body.get("scope") or (matching.scope_of(body["text"], session=session) if "text" in body else "all")
        result = matching.match(facts, session=session, today=today, scope=scope, skipped=body.get("skipped") or [])
    question = result.next_field
    return {
        "date": today.isoformat(),
        "scope": result.scope,
        "facts": matching.jsonable_facts(result.facts),
        "approximate": approximate,
        "problems": problems,
        "verdicts": [dataclasses.asdict(v) for v in result.verdicts],
        "next_question": None if question is None else
        {"field": question.name, "label": question.label, "unit": question.unit, "question": question.question},
    }


def create_blueprint() -> Blueprint:
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
            unknown = sorted(set(body["facts"]) - set(FIELDS))
            if unknown:
                return _bad(f"未知的企业信息字段：{', '.join(unknown)}；可用字段：{', '.join(FIELDS)}")
            bad = out_of_range(body["facts"])  # the bounds are in kb/fact_bounds.py
            if bad:
                return response.json({"error": bad.message, "field": bad.field}, status=400, ensure_ascii=False)
        scope = body.get("scope")
        if scope is not None and (not isinstance(scope, str) or scope.partition(":")[0] not in ("all", "family", "category")):
            return _bad('"scope" 须是 "all"、"family:<family>" 或 "category:<名称>"')
        try:
            if body.get("date"):
                dt.date.fromisoformat(body["date"])
            result = await asyncio.to_thread(_check, request.app.ctx.sessions, body)
        except (FactsError, ValueError, KeyError) as exc:
            return _bad(f"无法判断：{exc}")
        return response.json(result, ensure_ascii=False)

    return blueprint
