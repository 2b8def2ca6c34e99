"""Staff commands answered by the DingTalk channel from the knowledge base, not by Rasa.

"今日未解答" (the day's unanswered questions), "帮企业查 …" (a firm checked against every measure with a rule),
"新政策匹配" and "匹配 <措施编号或名称>" (政策找企业). `parse_command` tells a command from a question;
`answer_command` answers it (blocking: the channel runs it in a thread). Staff roles come from `role_in_kb`.
"""

from __future__ import annotations

import datetime as dt
import re

from bot.dingtalk_common import plain
from kb.store.db import sessions

# Replies of the connector's own staff commands (not Rasa responses: they never pass through the model).
COMMAND_DIGEST = "今日未解答"
COMMAND_FIRM = "帮企业查"
STAFF_ONLY_REPLY = "“{command}”只对助企服务专员开放。政策问题可以直接问我，比如“首台套奖励多少”。"
DIGEST_EMPTY = "今天（{day}）还没有未解答的问题或转人工请求。"
DIGEST_HEADER = "**今日未解答**（{day}）：未答出 {unanswered} 条，转人工 {handoff} 条"
DIGEST_KINDS = {"unanswered": "未答出", "handoff": "转人工"}
DIGEST_MORE = "……另有 {more} 条未列出"
FIRM_HEADER_REGISTERED = "**帮企业查：{name}**（{code}）"
FIRM_HEADER_DESCRIBED = "**帮企业查**：按描述的企业情况（{facts}）"
FIRM_ELIGIBLE = "可以申报（{count}项）："
FIRM_UNKNOWN = "还需确认（{count}项）："
FIRM_NOT_ELIGIBLE = "不符合（{count}项）：{titles}"
FIRM_NO_RULES = "知识库里还没有带申报条件的措施，暂时无法判断。"
FIRM_CANDIDATES = "可能是：{names}"
# 政策找企业: the latest matches of changed measures over the firm registry, and one measure's list.
COMMAND_LATEST_MATCHES = "新政策匹配"
COMMAND_MATCH = "匹配"
LATEST_EMPTY = "还没有政策匹配记录：导入或修改带资格规则的措施后，会自动匹配企业库。"
LATEST_HEADER = "**新政策匹配**（最近 {count} 次）"
LATEST_LINE = ("{n}. {when} {title}（{measure_id}，修订 {revision}）：符合 {eligible}，很可能符合 {likely}，"
               "待补充信息 {undecided}，不符合 {not_eligible}")
LATEST_FAILED_LINE = "{n}. {when} {title}（{measure_id}，修订 {revision}）：匹配失败"
LATEST_HINT = "发送“匹配 措施编号”查看名单。"
MATCH_USAGE = "请在“匹配”后面写上措施编号或名称，例如“匹配 pe32-03”。"
MATCH_NOT_FOUND = "没有找到带资格规则的措施“{query}”；可以发送措施编号，例如“匹配 pe32-03”。"
MATCH_CANDIDATES = "有几条措施名称相近，请发送其中一个编号：{items}"
MATCH_HEADER = "**匹配企业：{title}**（{measure_id}，修订 {revision}，企业库 {firms} 家）"
MATCH_LIVE = "（这条措施的规则导入后还没有存过匹配结果，以下按当前企业库现算）"
MATCH_GROUPS = {"eligible": "符合", "likely": "很可能符合", "undecided": "待补充信息", "not_eligible": "不符合"}
MATCH_GROUP = "{label}（{count}家）："
MATCH_MORE = "……另有 {more} 家，完整名单见管理页“匹配企业”或 huiqi kb matches {measure_id}"
MATCH_LISTED = 30  # firms listed per group in a DingTalk reply
COMMAND_FAILED = "抱歉，查询暂时失败，请稍后再试。"


def role_in_kb(staff_id: str) -> str | None:
    """The role the staff table gives a DingTalk staff id, or None."""
    from kb.store.models import StaffMember

    with sessions()() as session:
        member = session.get(StaffMember, staff_id)
        return member.role if member else None


def digest_reply(now: dt.datetime | None = None) -> str:
    """"今日未解答": today's unanswered questions and hand-offs, in China's calendar day."""
    from kb.admin.digest import today_in_china, unanswered_digest
    from kb.format import format_date

    day = today_in_china(now)
    with sessions()() as session:
        digest = unanswered_digest(session=session, day=day)
    if digest.total == 0:
        return DIGEST_EMPTY.format(day=format_date(day))
    lines = [DIGEST_HEADER.format(day=format_date(day), unanswered=digest.unanswered, handoff=digest.handoff)]
    lines += [f"{n}. {item.time} {DIGEST_KINDS.get(item.kind, item.kind)}：{plain(item.text)}"
              for n, item in enumerate(digest.items, 1)]
    if digest.total > len(digest.items):
        lines.append(DIGEST_MORE.format(more=digest.total - len(digest.items)))
    return "\n".join(lines)


def firm_reply(query: str, today: dt.date | None = None) -> str:
    """"帮企业查": a registered or described firm checked against every measure with a rule."""
    from kb.eligibility import Status, format_value
    from kb.eligibility.firms import check_firm
    from kb.eligibility.profile import FIELDS

    with sessions()() as session:
        check = check_firm(query, session=session, today=today)
    if check.problem:
        lines = [check.problem]
        if check.candidates:
            lines.append(FIRM_CANDIDATES.format(names="、".join(check.candidates)))
        return "\n".join(lines)
    if check.firm_name:
        lines = [FIRM_HEADER_REGISTERED.format(name=check.firm_name, code=check.credit_code)]
    else:
        facts = "，".join(f"{FIELDS[k].label}{format_value(k, v)}" for k, v in check.facts.items() if k in FIELDS)
        lines = [FIRM_HEADER_DESCRIBED.format(facts=facts)]
    if not check.verdicts:
        return "\n".join(lines + [FIRM_NO_RULES])
    eligible = check.with_status(Status.ELIGIBLE) + check.with_status(Status.LIKELY)
    unknown = check.with_status(Status.UNKNOWN)
    failed = check.with_status(Status.NOT_ELIGIBLE)
    if eligible:
        lines.append(FIRM_ELIGIBLE.format(count=len(eligible)))
        lines += [f"- {v.title}（{v.document}）" + (f"，还需确认：{'、'.join(v.to_confirm)}" if v.to_confirm else "")
                  for v in eligible]
    if unknown:
        lines.append(FIRM_UNKNOWN.format(count=len(unknown)))
        lines += [f"- {v.title}：还需{'、'.join(v.missing)}" for v in unknown]
    if failed:
        lines.append(FIRM_NOT_ELIGIBLE.format(count=len(failed), titles="、".join(v.title for v in failed)))
    return "\n".join(lines)


def latest_matches_reply(limit: int = 10) -> str:
    """新政策匹配: the latest changed measures matched over the firm registry, with their counts."""
    from kb.eligibility.matches import recent_runs

    with sessions()() as session:
        runs = recent_runs(session=session, limit=limit)
    if not runs:
        return LATEST_EMPTY
    lines = [LATEST_HEADER.format(count=len(runs))]
    for n, run in enumerate(runs, 1):
        when = (dt.datetime.fromisoformat(run["created_at"]) + dt.timedelta(hours=8)).strftime("%m-%d %H:%M")
        fields = {"n": n, "when": when, "title": plain(run["title"]), "measure_id": run["measure_id"],
                  "revision": run["revision"]}
        if run["status"] != "done":
            lines.append(LATEST_FAILED_LINE.format(**fields))
            continue
        counts = {group: run["counts"].get(group, 0) for group in MATCH_GROUPS}
        lines.append(LATEST_LINE.format(**fields, **counts))
    lines.append(LATEST_HINT)
    return "\n".join(lines)


def match_reply(query: str) -> str:
    """匹配 <措施编号或名称>: the registered firms the measure fits, split by verdict, with what is missing."""
    from kb.eligibility.matches import MatchNotFound, find_measure, matches_of

    if not query.strip():
        return MATCH_USAGE
    with sessions()() as session:
        measure_id, candidates = find_measure(query, session=session)
        if measure_id is None:
            if candidates:
                return MATCH_CANDIDATES.format(items="、".join(f"{i}（{plain(t)}）" for i, t in candidates))
            return MATCH_NOT_FOUND.format(query=plain(query))
        try:
            body = matches_of(measure_id, session=session).as_dict()
        except MatchNotFound:
            return MATCH_NOT_FOUND.format(query=plain(query))
    lines = [MATCH_HEADER.format(title=plain(body["title"]), measure_id=measure_id, revision=body["revision"],
                                 firms=body["firms"])]
    if not body["stored"]:
        lines.append(MATCH_LIVE)
    for group, label in MATCH_GROUPS.items():
        items = body[group]
        lines.append(MATCH_GROUP.format(label=label, count=len(items)))
        for item in items[:MATCH_LISTED]:
            line = f"- {plain(item['name'])}（{item['credit_code']}）"
            if item.get("missing_labels"):
                line += f"：缺{'、'.join(item['missing_labels'])}"
            if item.get("to_confirm"):
                line += f"；还需确认{'、'.join(plain(c) for c in item['to_confirm'])}"
            lines.append(line)
        if len(items) > MATCH_LISTED:
            lines.append(MATCH_MORE.format(more=len(items) - MATCH_LISTED, measure_id=measure_id))
    return "\n".join(lines)


_MATCH_COMMAND = re.compile(rf"^{COMMAND_MATCH}(?:[\s:：]+(.*)|([A-Za-z0-9].*))$", re.S)


def parse_command(text: str) -> tuple[str, str | None] | None:
    """The staff command a message is and its argument, or None when it is a question for Rasa."""
    bare = text.strip().rstrip("。.!！?？")
    if bare == COMMAND_DIGEST:
        return COMMAND_DIGEST, None
    if bare.startswith(COMMAND_FIRM):
        return COMMAND_FIRM, bare[len(COMMAND_FIRM):].lstrip(" ：:，,")
    if bare == COMMAND_LATEST_MATCHES:
        return COMMAND_LATEST_MATCHES, None
    if bare == COMMAND_MATCH or _MATCH_COMMAND.match(bare):
        found = _MATCH_COMMAND.match(bare)
        return COMMAND_MATCH, ((found.group(1) or found.group(2) or "") if found else "").strip()
    return None


def answer_command(command: str, argument: str | None) -> str:
    """The reply to a parsed staff command, read from the knowledge base."""
    if command == COMMAND_DIGEST:
        return digest_reply()
    if command == COMMAND_LATEST_MATCHES:
        return latest_matches_reply()
    if command == COMMAND_MATCH:
        return match_reply(argument or "")
    return firm_reply(argument or "")
