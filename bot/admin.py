"""The admin JSON API under /api/admin/ and the admin page at /admin.

Bearer tokens (`huiqi admin token create NAME --role viewer|editor`) are checked against their
hashes: a viewer reads, an editor also writes. Every write (a file import, a measure edited in
the page's form, a rollback) goes through kb.admin.importer / kb.admin.revisions — validate, one transaction,
a revision — exactly as the CLI does. Database work runs in a thread, off the event loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import urllib.parse
from pathlib import Path
from typing import Any

from sanic import Blueprint, response
from sanic.request import Request

from bot import limits
from kb.admin.importer import apply_import, measure_input, missing_terms, parse_import
from kb.admin.revisions import RevisionNotFound, revision_record, rollback
from kb.admin.tokens import token_holder
from kb.errors import KBError, ValidationFailed
from kb.store import queries
from kb.store.exporter import export_data, export_sources, export_text, measure_record

PAGE = Path(__file__).with_name("admin_page.html")
MAX_UPLOAD = 20 * 1024 * 1024
RETRAIN_HINT = "建议重新训练"


def _error(status: int, message: str, **extra: Any) -> response.HTTPResponse:
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return response.json({"error": message, **extra}, status=status, ensure_ascii=False, headers=headers)


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


# Failed token attempts per client address (bot/limits.py): over the limit, 429 until the window passes,
# checked before the token is looked at, so guessing costs the guesser time and the database nothing.
FAILED_ATTEMPTS = limits.RateLimiter(limits.ADMIN_FAILURES_PER_CLIENT, limits.ADMIN_FAILURE_WINDOW)


def requires(role: str):
    """Let the handler run only for a valid token of `role` (editor) or any valid token (viewer)."""

    def decorate(handler):
        @functools.wraps(handler)
        async def wrapper(request: Request, *args, **kwargs):
            client = request.remote_addr or request.ip
            if FAILED_ATTEMPTS.blocked(client):
                return _error(429, "令牌错误次数过多，请稍后再试",
                              retry_after=FAILED_ATTEMPTS.retry_after(client))
            token = _bearer(request)
            holder = await _db(request, lambda session: _holder(token, session)) if token else None
            if holder is None:
                FAILED_ATTEMPTS.hit(client)
                return _error(401, "需要有效的管理令牌（Authorization: Bearer …）")
            if role == "editor" and holder[1] != "editor":
                return _error(403, "此令牌只能查看，不能修改（需要 editor 角色）")
            request.ctx.author = f"api:{holder[0]}"
            return await handler(request, *args, **kwargs)

        return wrapper

    return decorate


def _holder(token: str, session) -> tuple[str, str] | None:
    row = token_holder(token, session=session)
    return (row.name, row.role) if row else None


async def _db(request: Request, work, *, write: bool = False):
    """Run `work(session)` in a thread with its own session (a transaction when writing)."""
    sessions = request.app.ctx.sessions

    def run():
        if write:
            with sessions.begin() as session:
                return work(session)
        with sessions() as session:
            return work(session)

    return await asyncio.to_thread(run)


def _flag(request: Request, name: str) -> bool:
    return (request.args.get(name) or "").lower() in ("1", "true", "yes")


def _result(result) -> response.HTTPResponse:
    body = result.as_dict()
    body["retrain_hint"] = RETRAIN_HINT if result.retrain_terms else None
    return response.json(body, ensure_ascii=False)


def _failed(exc: ValidationFailed) -> response.HTTPResponse:
    return _error(422, "校验未通过，知识库未改动", problems=[str(e) for e in exc.errors])


def _upload(request: Request) -> tuple[bytes, str] | None:
    upload = request.files.get("file") if request.files else None
    if upload is not None:
        return upload.body, upload.name
    if request.body:
        return request.body, request.args.get("filename") or "upload.yaml"
    return None


def _measure_summary(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record[key] for key in ("id", "title", "document_id", "family", "edition", "origin", "outline_only")}


def _search(query: str, limit: int, session) -> list[dict[str, Any]]:
    records = [measure_record(m) for m in queries.all_measures(session=session)]
    if query:
        needle = query.lower()
        records = [r for r in records if needle in " ".join(
            [r["id"], r["title"], r["summary"] or "", *r["keywords"], r["department"] or ""]).lower()]
    return [_measure_summary(r) for r in records[:limit]]


def _status(session) -> dict[str, Any]:
    export = export_data(session)
    terms = missing_terms(export)
    return {"revision": queries.latest_revision_id(session=session), "documents": len(export["documents"]),
            "measures": len(export["measures"]), "firms": len(export["firms"]),
            "retrain_suggested": bool(terms), "retrain_hint": RETRAIN_HINT if terms else None,
            "retrain_terms": list(terms)}


def create_blueprint() -> Blueprint:
    """The admin API and page: reads for viewers, imports, edits and rollbacks for editors."""
    bp = Blueprint("admin")

    @bp.get("/admin")
    async def page(request: Request) -> response.HTTPResponse:
        return response.html(PAGE.read_text(encoding="utf-8"))

    @bp.get("/api/admin/openapi.json")
    async def openapi(request: Request) -> response.HTTPResponse:
        return response.json(OPENAPI, ensure_ascii=False)

    @bp.get("/api/admin/status")
    @requires("viewer")
    async def status(request: Request) -> response.HTTPResponse:
        return response.json(await _db(request, _status), ensure_ascii=False)

    @bp.get("/api/admin/measures")
    @requires("viewer")
    async def measures(request: Request) -> response.HTTPResponse:
        try:
            limit = max(1, min(500, int(request.args.get("limit") or 50)))
        except ValueError:
            return _error(400, "limit 应是整数")
        query = (request.args.get("q") or "").strip()
        found = await _db(request, lambda session: _search(query, limit, session))
        return response.json({"measures": found}, ensure_ascii=False)

    @bp.get("/api/admin/measures/<measure_id>")
    @requires("viewer")
    async def measure(request: Request, measure_id: str) -> response.HTTPResponse:
        def work(session):
            row = queries.get_measure(measure_id, session=session)
            return measure_record(row) if row else None

        record = await _db(request, work)
        return response.json(record, ensure_ascii=False) if record else _error(404, f"没有编号为 {measure_id} 的措施")

    @bp.get("/api/admin/measures/<measure_id>/matches")
    @requires("viewer")
    async def measure_matches(request: Request, measure_id: str) -> response.HTTPResponse:
        """政策找企业: the registered firms the measure fits, as `huiqi kb matches ID --format json`; ?format=xlsx."""
        from kb.eligibility.matches import MatchNotFound, matches_of, matches_workbook

        fmt = request.args.get("format") or "json"
        if fmt not in ("json", "xlsx"):
            return _error(400, "format 应是 json 或 xlsx")
        try:
            body = await _db(request, lambda session: matches_of(measure_id, session=session).as_dict())
        except MatchNotFound as exc:
            return _error(404, str(exc))
        if fmt == "xlsx":
            data = await asyncio.to_thread(matches_workbook, body)
            filename = urllib.parse.quote(f"匹配企业-{measure_id}.xlsx")
            return response.raw(data, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                headers={"Content-Disposition": f"attachment; filename*=UTF-8''{filename}"})
        return response.json(body, ensure_ascii=False)

    @bp.put("/api/admin/measures/<measure_id>")
    @requires("editor")
    async def edit_measure(request: Request, measure_id: str) -> response.HTTPResponse:
        record = request.json
        if not isinstance(record, dict):
            return _error(400, "请求体应是一条措施（JSON 对象）")
        if record.setdefault("id", measure_id) != measure_id:
            return _error(400, f"编号不一致：地址是 {measure_id}，内容是 {record['id']}")
        try:
            plan = measure_input(record, name=f"措施 {measure_id}")
            result = await _db(request, lambda s: apply_import(s, plan, author=request.ctx.author,
                                                              dry_run=_flag(request, "dry_run")), write=True)
        except ValidationFailed as exc:
            return _failed(exc)
        return _result(result)

    async def _import(request: Request, *, dry_run: bool) -> response.HTTPResponse:
        upload = _upload(request)
        if upload is None:
            return _error(400, "请上传文件（multipart 字段 file，或请求体加 ?filename=xxx.yaml）")
        raw, name = upload
        if len(raw) > MAX_UPLOAD:
            return _error(413, "文件太大（上限20MB）")
        try:
            plan = await asyncio.to_thread(parse_import, raw, name)
            result = await _db(request, lambda s: apply_import(s, plan, author=request.ctx.author, dry_run=dry_run),
                               write=True)
        except ValidationFailed as exc:
            return _failed(exc)
        return _result(result)

    @bp.post("/api/admin/validate")
    @requires("viewer")
    async def validate(request: Request) -> response.HTTPResponse:
        return await _import(request, dry_run=True)

    @bp.post("/api/admin/import")
    @requires("editor")
    async def import_file(request: Request) -> response.HTTPResponse:
        return await _import(request, dry_run=_flag(request, "dry_run"))

    @bp.get("/api/admin/stale")
    @requires("viewer")
    async def stale(request: Request) -> response.HTTPResponse:
        from kb.currency import stale_records

        try:
            today = dt.date.fromisoformat(request.args.get("today")) if request.args.get("today") else dt.date.today()
        except ValueError:
            return _error(400, "today 须为日期，格式 2026-12-02")
        items = await _db(request, lambda s: stale_records(queries.all_measures(session=s), today=today))
        return response.json({"today": today.isoformat(), "measures": items}, ensure_ascii=False)

    @bp.get("/api/admin/history")
    @requires("viewer")
    async def history(request: Request) -> response.HTTPResponse:
        limit = int(request.args.get("limit") or 50) if (request.args.get("limit") or "50").isdigit() else 50
        items = await _db(request, lambda s: [revision_record(r) for r in queries.revisions(session=s, limit=limit)])
        return response.json({"revisions": items}, ensure_ascii=False)

    @bp.post("/api/admin/rollback/<revision:int>")
    @requires("editor")
    async def roll_back(request: Request, revision: int) -> response.HTTPResponse:
        try:
            result = await _db(request, lambda s: rollback(s, revision, author=request.ctx.author), write=True)
        except RevisionNotFound as exc:
            return _error(404, str(exc))
        except KBError as exc:
            return _error(400, str(exc))
        return _result(result)

    @bp.get("/api/admin/export")
    @requires("viewer")
    async def export(request: Request) -> response.HTTPResponse:
        fmt = request.args.get("format") or "json"
        if fmt not in ("json", "yaml", "xlsx"):
            return _error(400, "format 应是 json、yaml 或 xlsx")
        data = await _db(request, export_data)
        if fmt == "xlsx":
            from kb.admin.xlsx_write import write_workbook

            body = await asyncio.to_thread(write_workbook, data)
            return response.raw(body, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                                headers={"Content-Disposition": 'attachment; filename="kb.xlsx"'})
        content_type = "application/json" if fmt == "json" else "application/yaml"
        sources = await _db(request, export_sources)  # with their kind, as `huiqi kb export` gives them
        return response.text(export_text({**data, "sources": sources}, fmt), content_type=f"{content_type}; charset=utf-8")

    return bp


def _op(summary: str, role: str, *, body: dict | None = None, params: list | None = None,
        responses: dict | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "description": f"需要 {role} 令牌。",
                                 "security": [{"bearer": []}], "parameters": params or [],
                                 "responses": {"200": {"description": "OK"}, "401": {"description": "没有或无效的令牌"},
                                               **({"403": {"description": "viewer 令牌不能修改"}} if role == "editor" else {}),
                                               **(responses or {})}}
    if body:
        operation["requestBody"] = body
    return operation


_FILE_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"file": {"type": "string", "format": "binary",
                                              "description": ".xlsx、.yaml、.yml 或 .json"}}}}}}
_DRY_RUN = {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}, "description": "只显示差异，不写入"}
_INVALID = {"422": {"description": "校验未通过（problems 列出文件、工作表、行和列），知识库未改动"}}

OPENAPI: dict[str, Any] = {
    "openapi": "3.0.3",
    "info": {"title": "惠企政策助手 管理 API", "version": "1.0",
             "description": "知识库的查看、校验、导入、历史与回滚。每次修改：先整体校验，再在一个事务里写入，并记录修订。"},
    "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    "paths": {
        "/api/admin/status": {"get": _op("知识库修订号、条目数，以及是否建议重新训练", "viewer")},
        "/api/admin/stale": {"get": _op("已过期、申报已截止或已被新版本取代的措施", "viewer", params=[
            {"name": "today", "in": "query", "schema": {"type": "string", "format": "date"}, "description": "按哪一天判断，默认今天"}])},
        "/api/admin/measures": {"get": _op("列出或搜索措施", "viewer", params=[
            {"name": "q", "in": "query", "schema": {"type": "string"}, "description": "编号、标题、摘要、关键词或部门里的文字"},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 50}}])},
        "/api/admin/measures/{id}": {
            "get": _op("一条措施（导出格式）", "viewer", params=[{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}]),
            "put": _op("修改或新增一条措施（导入的同一路径）", "editor", params=[
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}, _DRY_RUN],
                body={"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}, responses=_INVALID),
        },
        "/api/admin/measures/{id}/matches": {"get": _op(
            "政策找企业：企业库里符合、很可能符合、待补充信息、不符合这条措施的企业（最近一次规则变动时匹配）", "viewer", params=[
                {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "xlsx"]}}],
            responses={"404": {"description": "没有这条措施，或它没有资格规则"}})},
        "/api/admin/validate": {"post": _op("校验文件并显示将产生的差异（不写入）", "viewer", body=_FILE_BODY, responses=_INVALID)},
        "/api/admin/import": {"post": _op("导入文件：dry_run=true 先看差异，再不带 dry_run 应用", "editor",
                                          body=_FILE_BODY, params=[_DRY_RUN], responses=_INVALID)},
        "/api/admin/history": {"get": _op("修订历史，新的在前", "viewer",
                                          params=[{"name": "limit", "in": "query", "schema": {"type": "integer"}}])},
        "/api/admin/rollback/{revision}": {"post": _op("回滚：新建一个修订，内容与该修订完全相同", "editor", params=[
            {"name": "revision", "in": "path", "required": True, "schema": {"type": "integer"}}],
            responses={"404": {"description": "没有这个修订"}})},
        "/api/admin/export": {"get": _op("导出整个知识库", "viewer", params=[
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["json", "yaml", "xlsx"]}}])},
    },
}
