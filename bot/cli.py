"""`huiqi`: the command line face of the assistant. The library raises; this prints one line and exits non-zero."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import sys
import time
from pathlib import Path

from bot import admin_cli
from bot.settings import load_settings
from kb.errors import KBError, ValidationFailed
from kb.store import queries
from kb.store.db import safe_url
from kb.store.exporter import export_data, export_sources
from kb.store.loader import default_seed_dir, load_seed, read_seed, seed_files
from kb.store.models import APPLIES_BY, DRAFT, NOT_FOUND, SOURCE_KINDS

EXAMPLES = """examples:
  huiqi kb load                     create or upgrade the knowledge base and load kb/seed/
  huiqi kb export --format json     print the whole knowledge base as JSON (or yaml; xlsx with -o FILE)
  huiqi kb import policies.xlsx --dry-run   validate and show the diff; without --dry-run, apply it
  huiqi kb matches pe32-03          the registered firms a measure fits (政策找企业); --failed lists failures
  huiqi admin token create 王芳 --role editor   a bearer token for the admin API (shown once)
  huiqi ask "双尖双领自筹比例是多少"   answer from the knowledge base without Rasa
  huiqi run                         train if stale, start every server, print the URLs
"""


def cmd_kb_load(args: argparse.Namespace) -> int:
    """`huiqi kb load`: create or upgrade the knowledge base and load the curated seed."""
    directory = Path(args.seed_dir) if args.seed_dir else default_seed_dir()
    files = seed_files(directory)
    if not files:
        raise KBError(f"no *.yaml files in {directory}")
    data = read_seed(files)
    sessions = load_settings().sessions()
    with sessions.begin() as session:
        result = load_seed(session, data, author=args.author, force=args.force)
    if result.unchanged:
        print(f"知识库已是最新（{len(data.documents)} 份文件，{len(data.measures)} 条措施）：{safe_url(load_settings().db_url)}")
    else:
        print(f"知识库已更新到修订 {result.revision_id}：新增 {len(result.added)}，"
              f"修改 {len(result.changed)}，删除 {len(result.removed)}（{safe_url(load_settings().db_url)}）")
    return 0


def cmd_kb_stats(args: argparse.Namespace) -> int:
    """`huiqi kb stats`: documents and measures per family, and the latest revisions."""
    sessions = load_settings().sessions()
    with sessions() as session:
        data = export_data(session)
        sources = export_sources(session)
        revision = queries.latest_revision_id(session=session)
    print(f"修订 {revision}，{len(data['documents'])} 份文件，{len(data['measures'])} 条措施")
    for family, counts in sorted(_by_family(data).items()):
        print(f"  {family}: 文件 {counts['documents']}，措施 {counts['measures']}，仅知大纲 {counts['outline']}")
        for edition, n in sorted(counts["editions"].items()):
            print(f"      {edition}: 措施 {n}")
    items = data["documents"] + data["measures"]
    sourced = sum(1 for item in items if item["sources"])
    figures = [b for m in data["measures"] for b in m["benefits"] if b.get("amount") is not None]
    figures_sourced = sum(1 for m in data["measures"] for b in m["benefits"] if b.get("amount") is not None
                          and m["sources"])
    share = f"{100 * figures_sourced / len(figures):.0f}%" if figures else "—"
    print(f"有来源的条目：{sourced}/{len(items)}；有来源的数字：{figures_sourced}/{len(figures)}（{share}）")
    mix = {level: sum(1 for item in items if item["confidence"] == level) for level in ("high", "medium", "low")}
    print(f"置信度：high {mix['high']}，medium {mix['medium']}，low {mix['low']}")
    kinds: dict[str, int] = {}
    for source in sources:
        kinds[source["kind"] or "未分级"] = kinds.get(source["kind"] or "未分级", 0) + 1
    print(f"来源 {len(sources)} 个：" + "，".join(f"{kind} {kinds[kind]}" for kind in
                                           sorted(kinds, key=lambda k: (SOURCE_KINDS + ("未分级",)).index(k))))
    by_kind = {s["url"]: s["kind"] for s in sources}
    mirror_only = [item["id"] for item in items if item["sources"]
                   and all(by_kind.get(url) == "mirror" for url in item["sources"])]
    print(f"只有镜像站来源的条目：{len(mirror_only)}（回答时应提示以官方通知为准）")
    applied = [m for m in data["measures"] if m["applies_by"] == "申报"]
    dated = [m for m in applied if _found(m["channel"], "name") and m["application_window"]
             and (m["application_window"]["from"] or m["application_window"]["until"])]
    either = [m for m in applied if m["channel"] and m["application_window"]]
    print("享受方式：" + "，".join(f"{k} {sum(1 for m in data['measures'] if m['applies_by'] == k)}"
                                 for k in (*APPLIES_BY, None) if any(m["applies_by"] == k for m in data["measures"])))
    print(f"申报类措施 {len(applied)} 条：有渠道和申报时间（含写明“未找到”）{len(either)}，渠道和日期都有 {len(dated)}")
    drafts = [d["id"] for d in data["documents"] if d["status"] == DRAFT]
    if drafts:
        print(f"征求意见稿（不作现行政策回答）：{'、'.join(drafts)}")
    with_rule = sum(1 for m in data["measures"] if m["rule"])
    print(f"有资格规则的措施：{with_rule}；仅知大纲（缺原文或数字）：{sum(1 for m in data['measures'] if m['outline_only'])}")
    gaps = [(d["id"], d["structure"].get("unknown")) for d in data["documents"] if d["structure"].get("unknown")]
    if gaps:
        print("已知缺口（文件 structure.unknown）：")
        for document_id, unknown in gaps:
            items_missing = unknown if isinstance(unknown, list) else [unknown]
            print(f"  {document_id}: {'；'.join(str(u) for u in items_missing)}")
    return 0


def _found(record: dict | None, key: str) -> bool:
    return bool(record and record.get(key) and record[key] != NOT_FOUND)


def _by_family(data: dict) -> dict[str, dict]:
    counts: dict[str, dict] = {}

    def entry(family: str) -> dict:
        return counts.setdefault(family, {"documents": 0, "measures": 0, "outline": 0, "editions": {}})

    for document in data["documents"]:
        entry(document["family"])["documents"] += 1
    for measure in data["measures"]:
        family = entry(measure["family"])
        family["measures"] += 1
        family["outline"] += int(measure["outline_only"])
        family["editions"][measure["edition"]] = family["editions"].get(measure["edition"], 0) + 1
    return counts


def cmd_kb_stale(args: argparse.Namespace) -> int:
    """`huiqi kb stale`: measures and documents whose dates or windows need checking."""
    from kb.currency import stale_records

    today = dt.date.fromisoformat(args.today) if args.today else dt.date.today()
    with load_settings().sessions()() as session:
        items = stale_records(queries.all_measures(session=session), today=today)
    if args.json:
        print(json.dumps({"today": today.isoformat(), "measures": items}, ensure_ascii=False, indent=2))
        return 0
    labels = {"superseded": "已有新版", "window_closed": "申报已截止", "expired": "已过期"}
    print(f"截至 {today.isoformat()}，{len(items)} 条措施已不是现行的：")
    for item in items:
        print(f"  {item['id']}  [{labels[item['state']]}]  {item['title']}：{item['note']}")
    return 0


def cmd_kb_history(args: argparse.Namespace) -> int:
    """`huiqi kb history`: the latest revisions, who made them and what changed."""
    sessions = load_settings().sessions()
    with sessions() as session:
        for revision in queries.revisions(session=session, limit=args.limit):
            print(f"{revision.id:>4}  {revision.created_at:%Y-%m-%d %H:%M}  {revision.author:<10} {revision.message}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question from the knowledge base as the assistant would, without Rasa (exit 1 if unanswered)."""
    import datetime as dt

    import yaml

    from kb.answering.reply import reply_text
    from kb.answering.respond import respond

    responses = yaml.safe_load((Path(__file__).resolve().parent.parent / "domain.yml")
                               .read_text(encoding="utf-8"))["responses"]
    sessions = load_settings().sessions()
    with sessions() as session:
        reply = respond(args.text, session=session, today=dt.date.today(), staff=args.staff)
    print(reply_text(reply, responses))
    return 0 if reply.answered else 1


def cmd_nlu_dict(args: argparse.Namespace) -> int:
    """`huiqi nlu dict`: write jieba's dictionary of policy terms from the seed."""
    from kb.terms import seed_dictionary_text

    data = read_seed(seed_files())
    jieba_dir = Path(__file__).resolve().parent.parent / "jieba_dict"
    path = jieba_dir / "kb_terms.txt"
    text = seed_dictionary_text(data.documents.values(), data.measures.values(),
                                hand_kept_file=jieba_dir / "policy_terms.txt")
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    path.write_text(text, encoding="utf-8")
    print(f"{path}：{text.count(chr(10)) - 1} 个词{'，已更新，建议重新训练（huiqi train）' if changed else '，无变化'}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """`huiqi run`: load the knowledge base, train if stale, start every server and keep them running."""
    from bot.services import (
        GaveUp,
        ServiceError,
        ServiceGroup,
        Supervisor,
        action_service,
        dingtalk_bridge_service,
        dingtalk_stream_wanted,
        rasa_service,
        web_service,
    )
    from bot.settings import token_hint
    from bot.training import ensure_model

    settings = load_settings()
    exit_code = cmd_kb_load(argparse.Namespace(seed_dir=None, author="seed", force=False))
    if exit_code:
        return exit_code
    model = ensure_model(settings)
    services = [action_service(settings), rasa_service(settings, model), web_service(settings)]
    if dingtalk_stream_wanted():
        try:
            services.append(dingtalk_bridge_service(settings))
        except ServiceError as exc:
            print(f"启动失败：{exc}", file=sys.stderr)
            return 1
    log_dir = settings.var_dir / "log"
    group = ServiceGroup(services, log_dir)
    stopping = False

    def request_stop(signum, _frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    print("正在启动动作服务器、Rasa 服务器和网页应用（约30秒）…", flush=True)
    try:
        group.start()
    except ServiceError as exc:
        print(f"启动失败：{exc}", file=sys.stderr)
        return 1
    token_source = "HUIQI_RASA_TOKEN" if os.environ.get("HUIQI_RASA_TOKEN", "").strip() else \
        settings.var_dir / "rasa_token"
    print(
        f"\n惠企政策助手已启动：\n"
        f"  企业咨询页面  {settings.web_url}/\n"
        f"  管理后台      {settings.web_url}/admin   （健康检查 {settings.web_url}/health）\n"
        f"  资格判断 API  {settings.web_url}/api/eligibility\n"
        f"  Rasa REST     {settings.rasa_url}/webhooks/rest/webhook\n"
        f"  Rasa socket.io {settings.rasa_url}/socket.io\n"
        f"  Rasa HTTP API 需要令牌 ?token=…（{token_hint(settings.rasa_token)}，见 {token_source}）\n"
        f"  动作服务器    {settings.actions_url}\n"
        f"  日志          {log_dir}\n"
        f"试一试：curl -s -X POST {settings.rasa_url}/webhooks/rest/webhook "
        f"-d '{{\"sender\":\"u1\",\"message\":\"民营经济32条是什么\"}}'\n"
        f"某个服务意外退出时会自动重启（1、2、4、8、16、30 秒后），5 分钟内退出超过 5 次则全部停止。\n"
        f"按 Ctrl-C 停止全部服务。",
        flush=True,
    )

    def report(message: str) -> None:
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {message}"
        print(line, file=sys.stderr, flush=True)
        with (log_dir / "supervisor.log").open("a", encoding="utf-8") as log:
            log.write(line + "\n")

    supervisor = Supervisor(group, report)
    exit_code = 0
    while not stopping:
        try:
            supervisor.tick()
        except GaveUp as exc:
            report(str(exc))
            exit_code = 1
            break
        time.sleep(0.5)
    print("正在停止全部服务…", flush=True)
    group.stop()
    return exit_code


def build_parser() -> argparse.ArgumentParser:
    """The `huiqi` argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="huiqi", description="惠企政策助手", epilog=EXAMPLES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    kb = commands.add_parser("kb", help="knowledge base").add_subparsers(dest="kb_command", required=True)
    load = kb.add_parser("load", help="validate kb/seed/ and load it in one transaction")
    load.add_argument("--seed-dir", help="default: $HUIQI_SEED_DIR or kb/seed/")
    load.add_argument("--author", default="seed")
    load.add_argument("--force", action="store_true", help="write a revision even if the seed is unchanged")
    load.set_defaults(func=cmd_kb_load)
    export = kb.add_parser("export", help="export the knowledge base")
    export.add_argument("--format", choices=["json", "yaml", "xlsx"], default="json")
    export.add_argument("--output", "-o")
    export.set_defaults(func=admin_cli.cmd_kb_export)
    kb.add_parser("stats", help="counts by family and sourcing").set_defaults(func=cmd_kb_stats)
    stale = kb.add_parser("stale", help="measures past their validity, closed windows and superseded editions",
                          epilog="example: huiqi kb stale --today 2026-12-02")
    stale.add_argument("--today", help="judge as of this date (YYYY-MM-DD); default today")
    stale.add_argument("--json", action="store_true", help="print JSON for the staff digest")
    stale.set_defaults(func=cmd_kb_stale)
    history = kb.add_parser("history", help="revisions, newest first")
    history.add_argument("--limit", type=int, default=20)
    history.set_defaults(func=cmd_kb_history)
    admin_cli.add_commands(kb, commands)  # validate, import, template, rollback; admin token create

    ask = commands.add_parser("ask", help="answer a question from the knowledge base (no Rasa)")
    ask.add_argument("text")
    ask.add_argument("--staff", action="store_true", help="include staff-only notes, as DingTalk staff see them")
    ask.set_defaults(func=cmd_ask)
    nlu = commands.add_parser("nlu", help="NLU vocabulary").add_subparsers(dest="nlu_command", required=True)
    nlu.add_parser("dict", help="write jieba_dict/kb_terms.txt from the seed's names, aliases and keywords"
                   ).set_defaults(func=cmd_nlu_dict)
    train = commands.add_parser("train", help="train the NLU and dialogue model if its inputs changed")
    train.add_argument("--force", action="store_true")
    train.add_argument("--reload", metavar="RASA_URL", help="then load the new model into a running Rasa server")
    train.set_defaults(func=admin_cli.cmd_train)
    commands.add_parser("run", help="start every server and print the URLs").set_defaults(func=cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one `huiqi` command; a library error becomes a one-line message and exit code 2."""
    args = build_parser().parse_args(argv)
    if args.command == "kb":
        from bot import staff_robot

        staff_robot.install()  # 政策找企业: a change's matches go to the staff group if DINGTALK_STAFF_ROBOT_URL is set
    try:
        return args.func(args)
    except ValidationFailed as exc:
        print(f"知识库未改动。{exc}", file=sys.stderr)
        return 2
    except KBError as exc:
        print(f"错误：{exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
