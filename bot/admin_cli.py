"""`huiqi kb validate|import|export|template|rollback|matches`, `huiqi admin token create`, `huiqi train --reload`.

Thin faces on kb.admin.importer, kb.admin.revisions, kb.admin.xlsx_read, kb.admin.xlsx_write and kb.admin.tokens: the library validates and
raises; these print the diff or a one-line error (bot/cli.py's main turns errors into exit 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from bot.settings import load_settings
from kb.errors import KBError
from kb.store.exporter import export_data, export_sources, export_text

RETRAIN_HINT = "建议重新训练"
_FIELD_VALUE_WIDTH = 60


def cmd_kb_export(args: argparse.Namespace) -> int:
    """`huiqi kb export`: the whole knowledge base as JSON, YAML or an Excel workbook."""
    with load_settings().sessions()() as session:
        data = export_data(session)
        sources = export_sources(session)
    if args.format == "xlsx":
        from kb.admin.xlsx_write import write_workbook

        if not args.output:
            raise KBError("an Excel export needs a file: huiqi kb export --format xlsx -o kb.xlsx")
        Path(args.output).write_bytes(write_workbook(data))
        print(f"已导出到 {args.output}")
        return 0
    text = export_text({**data, "sources": sources}, args.format)  # sources with their kind; importable back
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_kb_template(args: argparse.Namespace) -> int:
    """`huiqi kb template`: an empty Excel workbook with every sheet and its columns explained."""
    from kb.admin.sheets import SHEETS
    from kb.admin.xlsx_write import template

    Path(args.file).write_bytes(template())
    print(f"模板已写入 {args.file}：工作表 {'、'.join(SHEETS)}、说明")
    return 0


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str) if not isinstance(value, str) else value
    return text if len(text) <= _FIELD_VALUE_WIDTH else text[: _FIELD_VALUE_WIDTH - 1] + "…"


KIND_NAMES = {"documents": "文件", "measures": "措施", "firms": "企业"}


def diff_lines(diff: dict[str, dict[str, Any]]) -> list[str]:
    """Render a change as lines an admin reads: added, changed (field: old → new) and removed."""
    lines = []
    for kind, part in diff.items():
        name = KIND_NAMES.get(kind, kind)
        for item_id in part["added"]:
            lines.append(f"  + {name} {item_id}")
        for item_id, fields in part["changed"].items():
            lines.append(f"  ~ {name} {item_id}")
            for field, (old, new) in fields.items():
                lines.append(f"      {field}: {_short(old)} → {_short(new)}")
        for item_id in part["removed"]:
            lines.append(f"  - {name} {item_id}")
    return lines


def _apply(path: Path, *, author: str, dry_run: bool):
    from kb.admin.importer import apply_import, read_import

    plan = read_import(path)
    with load_settings().sessions().begin() as session:
        return plan, apply_import(session, plan, author=author, dry_run=dry_run)


def cmd_kb_validate(args: argparse.Namespace) -> int:
    """`huiqi kb validate FILE`: every problem of an import file, writing nothing."""
    plan, result = _apply(Path(args.file), author="validate", dry_run=True)
    print(f"{plan.name} 校验通过：{len(plan.data.documents)} 份文件，{len(plan.data.measures)} 条措施，"
          f"{len(plan.firms)} 家企业；导入将{result.as_dict()['summary']}（未写入）")
    return 0


def cmd_kb_import(args: argparse.Namespace) -> int:
    """`huiqi kb import FILE`: validate, show the diff and, unless --dry-run, apply it as one revision."""
    plan, result = _apply(Path(args.file), author=args.author, dry_run=args.dry_run)
    summary = result.as_dict()["summary"]
    if result.unchanged:
        print(f"{plan.name}：与知识库现状相同，无需改动。")
        return 0
    if result.dry_run:
        print(f"{plan.name} 试运行（未写入）：{summary}")
    else:
        print(f"{plan.name} 已导入，修订 {result.revision_id}：{summary}")
    print("\n".join(diff_lines(result.diff)))
    if result.retrain_terms:
        print(f"{RETRAIN_HINT}：新词 {'、'.join(result.retrain_terms)} 不在 jieba 词典或同义词里（运行 huiqi train）")
    print_matches(result.matches)
    return 0


def cmd_kb_rollback(args: argparse.Namespace) -> int:
    """`huiqi kb rollback REVISION`: a new revision with the knowledge base as it was at REVISION."""
    from kb.admin.revisions import rollback

    with load_settings().sessions().begin() as session:
        result = rollback(session, args.revision, author=args.author)
    if result.unchanged:
        print(f"知识库已与修订 {args.revision} 相同，无需回滚。")
        return 0
    print(f"已回滚到修订 {args.revision} 的内容，新修订 {result.revision_id}：{result.as_dict()['summary']}")
    print("\n".join(diff_lines(result.diff)))
    print_matches(result.matches)
    return 0


# --- 政策找企业 ------------------------------------------------------------------------------------------

GROUP_NAMES = {"eligible": "符合", "likely": "很可能符合", "undecided": "待补充信息", "not_eligible": "不符合"}


def print_matches(summaries) -> None:
    """One line per measure a change matched over the firm registry, with the command that lists the firms."""
    for run in summaries:
        if run.status != "done":
            print(f"匹配企业 {run.measure_id}：失败（{run.error}），见 huiqi kb matches --failed")
            continue
        counts = run.counts
        print(f"匹配企业 {run.measure_id}：企业库 {run.firms} 家，符合 {counts['eligible']}，很可能符合 {counts['likely']}，"
              f"待补充信息 {counts['unknown']}，不符合 {counts['not_eligible']}（huiqi kb matches {run.measure_id}）")


def matches_lines(body: dict[str, Any]) -> list[str]:
    """A measure's firms as plain text, split by verdict, with the facts that would decide the undecided."""
    when = f"，{body['matched_at']} UTC" if body.get("matched_at") else "（尚未存过结果，按当前企业库现算）"
    lines = [f"{body['measure_id']} {body['title']}：修订 {body['revision']}{when}，企业库 {body['firms']} 家"]
    for group, name in GROUP_NAMES.items():
        items = body[group]
        lines.append(f"{name}（{len(items)}）")
        for item in items:
            extra = ""
            if item.get("missing_labels"):
                extra = f"  缺：{'、'.join(item['missing_labels'])}"
            if item.get("to_confirm"):
                extra += f"  还需确认：{'、'.join(item['to_confirm'])}"
            lines.append(f"  {item['credit_code']}  {item['name']}{extra}")
    return lines


def cmd_kb_matches(args: argparse.Namespace) -> int:
    """`huiqi kb matches`: the registered firms a measure fits (政策找企业), or the failed matching runs."""
    from kb.eligibility.matches import failed_runs, matches_of

    with load_settings().sessions()() as session:
        if args.failed:
            failures = failed_runs(session=session, limit=args.limit)
        elif args.measure_id:
            body = matches_of(args.measure_id, session=session).as_dict()
        else:
            raise KBError("请给出措施编号（huiqi kb matches pe32-03），或用 --failed 列出失败的匹配和推送")
    if args.failed:
        if args.format == "json":
            print(json.dumps({"failed": failures}, ensure_ascii=False, indent=2))
        elif not failures:
            print("没有失败的匹配或推送。")
        for item in failures if args.format != "json" else ():
            what = "匹配" if item["what"] == "match" else "推送"
            print(f"{item['created_at']}  修订 {item['revision']}  {item['measure_id']}  {what}失败：{item['error']}")
        return 0
    if args.format == "json":
        print(json.dumps(body, ensure_ascii=False, indent=2))
    else:
        print("\n".join(matches_lines(body)))
    return 0


def cmd_admin_token_create(args: argparse.Namespace) -> int:
    """`huiqi admin token create`: a bearer token for the admin API, shown once."""
    from kb.admin.tokens import create_token

    with load_settings().sessions().begin() as session:
        token = create_token(args.name, args.role, session=session)
    print(f"{args.name}（{args.role}）的令牌，只显示这一次，请妥善保存：\n{token}")
    return 0


def write_admin_terms(export: dict[str, Any], jieba_dir: Path | None = None) -> list[str]:
    """Write the knowledge base's terms the NLU lacks to jieba_dict/admin_terms.txt; return them."""
    from kb.admin.importer import ADMIN_TERMS_FILE, JIEBA_DIR, missing_terms, nlu_vocabulary
    from kb.terms import dictionary_words

    jieba_dir = jieba_dir or JIEBA_DIR
    target = jieba_dir / ADMIN_TERMS_FILE
    vocabulary = nlu_vocabulary(jieba_dir) - (dictionary_words(target) if target.exists() else set())
    terms = list(missing_terms(export, vocabulary))
    text = "".join(f"{term} 20000 nz\n" for term in terms)
    if terms and (not target.exists() or target.read_text(encoding="utf-8") != text):
        target.write_text(text, encoding="utf-8")
    elif not terms and target.exists():
        target.unlink()
    return terms


def reload_model(rasa_url: str, model: Path, timeout: float = 300, token: str | None = None) -> None:
    """Ask a running Rasa server (started with --enable-api) to swap in a model: no restart, no downtime.

    Sends Rasa's API token (`HUIQI_RASA_TOKEN` or var/rasa_token unless given).
    """
    token = token if token is not None else load_settings().rasa_token
    request = urllib.request.Request(
        f"{rasa_url.rstrip('/')}/model?{urllib.parse.urlencode({'token': token})}", method="PUT",
        data=json.dumps({"model_file": str(model.resolve())}).encode(), headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            if reply.status != 204:
                raise KBError(f"Rasa 服务器 {rasa_url} 没有加载新模型（HTTP {reply.status}）")
    except urllib.error.HTTPError as exc:
        hint = "：令牌不对（HUIQI_RASA_TOKEN 或 var/rasa_token 须与服务器的一致）" if exc.code in (401, 403) else ""
        raise KBError(f"Rasa 服务器 {rasa_url} 没有加载新模型（HTTP {exc.code}）{hint}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise KBError(f"无法让 Rasa 服务器 {rasa_url} 加载新模型：{exc}") from exc


def cmd_train(args: argparse.Namespace) -> int:
    """`huiqi train`: train the model if its inputs changed; --reload asks the running Rasa server to load it."""
    from bot.training import ensure_model

    with load_settings().sessions()() as session:
        terms = write_admin_terms(export_data(session))
    if terms:
        print(f"jieba 词典加入知识库新词 {len(terms)} 个：{'、'.join(terms[:10])}{'…' if len(terms) > 10 else ''}")
    # A new model file is trained beside the one in use; the running server keeps answering until it swaps.
    model = ensure_model(load_settings(), force=args.force)
    print(f"模型：{model}")
    if args.reload:
        reload_model(args.reload, model)
        print(f"Rasa 服务器 {args.reload} 已加载新模型，未中断服务。")
    return 0


def add_commands(kb: argparse._SubParsersAction, commands: argparse._SubParsersAction) -> None:
    """Add the admin subcommands to `huiqi kb …` and `huiqi admin …`."""
    validate = kb.add_parser("validate", help="check an import file (.yaml/.json/.xlsx) without writing",
                             description="example: huiqi kb validate policies.xlsx")
    validate.add_argument("file")
    validate.set_defaults(func=cmd_kb_validate)
    imp = kb.add_parser("import", help="validate, then import a file in one transaction with a revision",
                        description="example: huiqi kb import policies.xlsx --dry-run   (shows the diff, writes nothing)")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="show the diff and write nothing")
    imp.add_argument("--author", default="cli", help="who makes the change (recorded in the revision)")
    imp.set_defaults(func=cmd_kb_import)
    tpl = kb.add_parser("template", help="write an empty Excel template with a 说明 sheet",
                        description="example: huiqi kb template policies.xlsx")
    tpl.add_argument("file")
    tpl.set_defaults(func=cmd_kb_template)
    back = kb.add_parser("rollback", help="a new revision restoring an earlier revision's content",
                         description="example: huiqi kb history; huiqi kb rollback 3")
    back.add_argument("revision", type=int)
    back.add_argument("--author", default="cli")
    back.set_defaults(func=cmd_kb_rollback)

    found = kb.add_parser("matches", help="政策找企业: the registered firms a measure fits, or failed matches and pushes",
                          description="examples: huiqi kb matches pe32-03 --format json; huiqi kb matches --failed")
    found.add_argument("measure_id", nargs="?")
    found.add_argument("--format", choices=["text", "json"], default="text")
    found.add_argument("--failed", action="store_true", help="list failed matching runs and failed pushes to DingTalk")
    found.add_argument("--limit", type=int, default=50)
    found.set_defaults(func=cmd_kb_matches)

    admin = commands.add_parser("admin", help="admin API tokens").add_subparsers(dest="admin_command", required=True)
    token = admin.add_parser("token", help="admin API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="create a bearer token (printed once, stored hashed)",
                              description="example: huiqi admin token create 王芳 --role editor")
    create.add_argument("name")
    create.add_argument("--role", choices=["viewer", "editor"], required=True)
    create.set_defaults(func=cmd_admin_token_create)
