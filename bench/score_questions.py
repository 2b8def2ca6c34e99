"""Score the development question set end to end through the REST channel of a running Rasa server.

Every question in bench/questions.yaml is sent as a firm would send it (its own fresh sender id, or
the item's `sender` / earlier `turns`); the reply texts and button titles are checked against the
item's `expect` groups and `must_not` substrings. Prints the pass rate overall, by family and by
kind, lists the failures, and writes bench/results/questions.json.

    .venv/bin/python bench/score_questions.py                  # a server already on 127.0.0.1:5005
    .venv/bin/python bench/score_questions.py --start          # start action, Rasa and web servers itself
    .venv/bin/python bench/score_questions.py --only e84- sj-  # ids starting with these prefixes

Exit status: 0 when the run completed (and the pass rate reached --fail-under, if given), 1 when it
did not reach it, 2 for a bad question file or arguments.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import unicodedata
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))

from kb import families as kb_families  # noqa: E402

QUESTIONS = ROOT / "bench" / "questions.yaml"
RESULTS = ROOT / "bench" / "results" / "questions.json"
FAMILIES = (*kb_families.FAMILIES, "none")
# Kinds the blind rounds added (bench/blind/README.md): questions about the document itself, yes/no and
# origin questions, English ones, questions wrapped in noise, comparisons of two measures or editions, and
# (from round 14) questions asking a date or a department.
BLIND_KINDS = ("document", "yesno", "origin", "english", "noisy", "comparison", "date", "department")
KINDS = ("fact", "list", "apply", "contact", "eligibility", "changes", "definition", *BLIND_KINDS,
         "chitchat", "out_of_scope", "handoff")
KEYS = {"id", "text", "family", "kind", "expect", "must_not", "turns", "sender", "note", "source"}
# Expectations about what kind of reply it is, for writers who never saw the assistant's wording (blind
# rounds): a group holding one of these passes when the reply has one of its markers.
REPLY_MARKERS = {
    "@out_of_scope": ("不在我的范围",),
    "@handoff": ("12345", "服务专员", "转人工", "人工客服"),
    "@greeting": ("惠企政策助手",),
    "@not_published": ("尚未", "未找到", "没有找到", "未收录", "暂未", "以官方", "还没有公布", "尚无"),
}
REQUIRED = ("id", "text", "kind", "expect")
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class QuestionFileError(ValueError):
    """A question file that does not follow the format; names the file, the item and the key."""


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    family: str
    kind: str
    expect: tuple[tuple[str, ...], ...]
    must_not: tuple[str, ...] = ()
    turns: tuple[str, ...] = ()
    sender: str | None = None


@dataclass
class Result:
    id: str
    family: str
    kind: str
    text: str
    passed: bool
    missing: list[list[str]] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    reply: str = ""
    error: str | None = None
    seconds: float = 0.0


# ---------------------------------------------------------------- question file

def _strings(value, where: str) -> tuple[str, ...]:
    """Return a list of strings; YAML integers (2027, 12345) count as their digits, floats must be quoted."""
    if not isinstance(value, list) or not value:
        raise QuestionFileError(f"{where}: expected a non-empty list, got {value!r}")
    out = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise QuestionFileError(f"{where}: {item!r} is not a string (quote numbers such as \"3.0\")")
        text = str(item).strip()
        if not text:
            raise QuestionFileError(f"{where}: empty string")
        out.append(text)
    return tuple(out)


def parse_question(raw, where: str) -> Question:
    if not isinstance(raw, dict):
        raise QuestionFileError(f"{where}: expected a mapping, got {raw!r}")
    where = f"{where} ({raw.get('id', '?')})"
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise QuestionFileError(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(KEYS))}")
    for key in REQUIRED:
        if raw.get(key) in (None, "", []):
            raise QuestionFileError(f"{where}: missing key {key}")
    family = raw.get("family") or "none"
    if family not in FAMILIES:
        raise QuestionFileError(f"{where}, key family: {family!r} is not one of {', '.join(FAMILIES)}")
    if raw["kind"] not in KINDS:
        raise QuestionFileError(f"{where}, key kind: {raw['kind']!r} is not one of {', '.join(KINDS)}")
    if not isinstance(raw["expect"], list):
        raise QuestionFileError(f"{where}, key expect: expected a list of any_of groups")
    expect = tuple(_strings(group, f"{where}, key expect[{i}]") for i, group in enumerate(raw["expect"]))
    return Question(
        id=str(raw["id"]),
        text=str(raw["text"]).strip(),
        family=family,
        kind=raw["kind"],
        expect=expect,
        must_not=_strings(raw["must_not"], f"{where}, key must_not") if "must_not" in raw else (),
        turns=_strings(raw["turns"], f"{where}, key turns") if "turns" in raw else (),
        sender=str(raw["sender"]) if raw.get("sender") else None,
    )


def load_questions(path: Path = QUESTIONS) -> list[Question]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise QuestionFileError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("questions"), list):
        raise QuestionFileError(f"{path}: expected a top-level key questions: [...]")
    return _unique([parse_question(raw, f"{path.name}, item {i + 1}") for i, raw in enumerate(data["questions"])],
                   path)


def _unique(questions: list[Question], path: Path) -> list[Question]:
    seen: set[str] = set()
    for question in questions:
        if question.id in seen:
            raise QuestionFileError(f"{path.name}: duplicate id {question.id}")
        seen.add(question.id)
    return questions


# ---------------------------------------------------------------- checking a reply

def normalize(text: str) -> str:
    """Fold full-width forms (NFKC), case and whitespace, so that ８０％ matches 80% and 'PM.kjt' matches."""
    return "".join(unicodedata.normalize("NFKC", text).lower().split())


def reply_text(messages: list[dict]) -> str:
    """Texts and button titles of the bot's messages, one per line."""
    parts = []
    for message in messages:
        if message.get("text"):
            parts.append(message["text"])
        parts.extend(b.get("title", "") for b in message.get("buttons") or [])
    return "\n".join(parts)


def check(question: Question, reply: str) -> tuple[list[list[str]], list[str]]:
    """Return the expect groups with no alternative in the reply, and the must_not substrings found in it."""
    folded = normalize(reply)

    def said(alternative: str) -> bool:
        markers = REPLY_MARKERS.get(alternative, (alternative,))
        return any(normalize(m) in folded for m in markers)

    missing = [list(group) for group in question.expect if not any(said(a) for a in group)]
    forbidden = [s for s in question.must_not if normalize(s) in folded]
    return missing, forbidden


# ---------------------------------------------------------------- talking to the server

def require_loopback(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or parsed.hostname not in LOOPBACK:
        raise SystemExit(f"--url must be a loopback http URL (127.0.0.1, localhost), not {url!r}")
    return url.rstrip("/")


def send(url: str, sender: str, text: str, timeout: float) -> list[dict]:
    reply = requests.post(f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=timeout)
    reply.raise_for_status()
    return reply.json()


def ask(url: str, question: Question, sender: str, timeout: float) -> Result:
    started = time.monotonic()
    result = Result(id=question.id, family=question.family, kind=question.kind, text=question.text, passed=False)
    try:
        for turn in question.turns:
            send(url, sender, turn, timeout)
        result.reply = reply_text(send(url, sender, question.text, timeout))
    except (requests.RequestException, ValueError) as exc:
        result.error = f"{type(exc).__name__}: {exc}"
        result.missing = [list(g) for g in question.expect]
    else:
        result.missing, result.forbidden = check(question, result.reply)
        result.passed = not result.missing and not result.forbidden
    result.seconds = round(time.monotonic() - started, 2)
    return result


def conversations(questions: list[Question], run_id: str) -> list[list[tuple[Question, str]]]:
    """Questions grouped by sender: items that share a `sender` run in file order, all others alone."""
    groups: dict[str, list[tuple[Question, str]]] = {}
    for question in questions:
        sender = f"bench-{run_id}-{question.sender or question.id}"
        groups.setdefault(sender, []).append((question, sender))
    return list(groups.values())


def run(url: str, questions: list[Question], *, timeout: float, workers: int, progress: bool = True) -> list[Result]:
    run_id = uuid.uuid4().hex[:8]  # a fresh tracker for every run, so old conversations never leak in
    order = {q.id: i for i, q in enumerate(questions)}
    results: list[Result] = []

    def converse(group: list[tuple[Question, str]]) -> list[Result]:
        return [ask(url, question, sender, timeout) for question, sender in group]

    progress = progress and sys.stderr.isatty()  # a counter is noise in a log file
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for done in pool.map(converse, conversations(questions, run_id)):
            results.extend(done)
            if progress:
                print(f"\r  {len(results)}/{len(questions)} questions", end="", file=sys.stderr, flush=True)
    if progress:
        print(file=sys.stderr)
    return sorted(results, key=lambda r: order[r.id])


# ---------------------------------------------------------------- report

def rate(results: list[Result]) -> dict:
    passed = sum(r.passed for r in results)
    return {"passed": passed, "total": len(results), "rate": round(passed / len(results), 4) if results else 0.0}


def summarize(results: list[Result]) -> dict:
    by_family: dict[str, list[Result]] = defaultdict(list)
    by_kind: dict[str, list[Result]] = defaultdict(list)
    for result in results:
        by_family[result.family].append(result)
        by_kind[result.kind].append(result)
    return {
        "overall": rate(results),
        "by_family": {f: rate(by_family[f]) for f in FAMILIES if f in by_family},
        "by_kind": {k: rate(by_kind[k]) for k in KINDS if k in by_kind},
        "errors": sum(r.error is not None for r in results),
    }


def shorten(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def print_report(summary: dict, results: list[Result], *, show_failures: int | None = None) -> None:
    def line(name: str, r: dict) -> str:
        return f"  {name:<24} {r['passed']:>4}/{r['total']:<4} {r['rate'] * 100:6.1f}%"

    print("Pass rate")
    print(line("overall", summary["overall"]))
    print("By family")
    for name, r in summary["by_family"].items():
        print(line(name, r))
    print("By kind")
    for name, r in summary["by_kind"].items():
        print(line(name, r))
    failures = [r for r in results if not r.passed]
    if not failures:
        return
    shown = failures if show_failures is None else failures[:show_failures]
    print(f"\nFailures ({len(failures)}{'' if len(shown) == len(failures) else f', first {len(shown)}'})")
    for r in shown:
        print(f"- {r.id} [{r.family}/{r.kind}] {shorten(r.text, 60)}")
        if r.error:
            print(f"    error: {shorten(r.error)}")
        if r.missing:
            print("    missing: " + "; ".join(" | ".join(group) for group in r.missing))
        if r.forbidden:
            print("    must not contain: " + ", ".join(r.forbidden))
        print(f"    bot: {shorten(r.reply) or '(no reply)'}")


def markdown_table(summary: dict, meta: dict) -> str:
    """Pass rates by family and kind side by side, for bench/README.md."""
    def cell(r: dict) -> str:
        return f"{r['passed']}/{r['total']} ({r['rate'] * 100:.0f}%)"

    overall = summary["overall"]
    families = [("**overall**", f"**{overall['passed']}/{overall['total']} ({overall['rate'] * 100:.1f}%)**")]
    families += [(name, cell(r)) for name, r in summary["by_family"].items()]
    kinds = [(name, cell(r)) for name, r in summary["by_kind"].items()]
    half = (len(kinds) + 1) // 2
    rows = max(len(families), half)
    pad = [("", "")] * rows
    columns = [(families + pad)[:rows], (kinds[:half] + pad)[:rows], (kinds[half:] + pad)[:rows]]
    lines = [f"Run {meta['started']} ({meta['questions']} questions, {meta['seconds']:.0f} s):", "",
             "| family | pass | | kind | pass | | kind | pass |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for row in zip(*columns, strict=True):
        lines.append("| " + " | | ".join(f"{name} | {value}" for name, value in row) + " |")
    return "\n".join(lines)


def update_readme(table: str) -> None:
    from bench.readme import replace_block

    replace_block("questions-results", table)


def write_results(path: Path, summary: dict, results: list[Result], meta: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"run": meta, "summary": summary, "results": [asdict(r) for r in results]}
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")


# ---------------------------------------------------------------- command line

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Score bench/questions.yaml end to end through the Rasa REST channel.",
        epilog="Example: .venv/bin/python bench/score_questions.py --start --only sj-",
    )
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa server (loopback only)")
    parser.add_argument("--start", action="store_true", help="start the servers on free ports with a temporary KB")
    parser.add_argument("--questions", type=Path, default=QUESTIONS, help="question file (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results JSON (default: %(default)s)")
    parser.add_argument("--only", nargs="+", metavar="PREFIX", help="score only ids starting with these prefixes")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request (default: %(default)s)")
    parser.add_argument("--start-timeout", type=float, default=600, help="seconds for the servers to come up")
    parser.add_argument("--workers", type=int, default=2, help="conversations in parallel (default: %(default)s)")
    parser.add_argument("--show", type=int, default=None, metavar="N", help="list only the first N failures")
    parser.add_argument("--update-readme", action="store_true", help="refresh the pass-rate table in bench/README.md")
    parser.add_argument("--fail-under", type=float, default=None, metavar="PCT",
                        help="exit 1 when the overall pass rate is below PCT percent")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        questions = load_questions(args.questions)
    except QuestionFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.only:
        questions = [q for q in questions if q.id.startswith(tuple(args.only))]
        if not questions:
            print(f"error: no question id starts with {' or '.join(args.only)}", file=sys.stderr)
            return 2

    started = dt.datetime.now(dt.timezone.utc)
    clock = time.monotonic()
    if args.start:
        from bench.harness import started_assistant

        with started_assistant(args.start_timeout) as assistant:
            url = assistant.rasa_url
            results = run(url, questions, timeout=args.timeout, workers=args.workers)
    else:
        url = require_loopback(args.url)
        results = run(url, questions, timeout=args.timeout, workers=args.workers)

    summary = summarize(results)
    meta = {
        "url": url, "started": started.isoformat(timespec="seconds"),
        "seconds": round(time.monotonic() - clock, 1), "questions_file": str(args.questions),
        "questions": len(questions), "only": args.only,
    }
    print_report(summary, results, show_failures=args.show)
    write_results(args.out, summary, results, meta)
    if args.update_readme and not args.only:
        update_readme(markdown_table(summary, meta))
    print(f"\nResults written to {args.out}")
    if args.fail_under is not None and summary["overall"]["rate"] * 100 < args.fail_under:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
