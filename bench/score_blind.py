"""Score a blind round (bench/blind/round-N/) end to end: questions, dialogues, firm profiles and fact phrasings.

A blind round is written by someone who has not seen the code, the development set or any failure
(bench/blind/README.md). It is scored on main *before* anyone looks at its failures; the score goes into
the blind-round table of bench/README.md, and only then may the round join the development set.

    .venv/bin/python bench/score_blind.py bench/blind/round-1 --start            # start the servers itself
    .venv/bin/python bench/score_blind.py bench/blind/round-1 --start --record   # and write the table row
    .venv/bin/python bench/score_blind.py bench/blind/round-1 --parts phrases    # parts: questions dialogues
                                                                                  #   profiles phrases

- questions.yaml: like bench/questions.yaml (bench/score_questions.py), one fresh sender per question.
- dialogues.yaml: `dialogues: [{id, turns: [{text, expect, must_not, gives}]}]`; each turn is scored on
  its own, and a turn also fails when the bot asks again for a firm fact an earlier turn `gives`.
- profiles.yaml: a firm's own description (`text`) and expected verdicts per benefit; sent as
  `POST /api/eligibility {"text": …}`; benefits map to measures through bench/blind/benefits.yaml.
- phrases.yaml: one fact phrasing each with its value; read by the assistant's own parser.

Results: bench/results/blind-<round>.json; `--record` writes the round's row in bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))

from bench import score_questions as sq  # noqa: E402

BENEFITS = ROOT / "bench" / "blind" / "benefits.yaml"
RESULTS_DIR = ROOT / "bench" / "results"
PARTS = ("questions", "dialogues", "profiles", "phrases")
TODAY = "2026-12-02"  # the day the rounds' relative dates (今年, 去年) and windows are read against
VERDICTS = ("eligible", "not_eligible", "undecided")
# Blind fact keys → the assistant's field names, and the factor that turns a blind value into engine units.
FACT_FIELDS = {
    "region": "region", "industry": "industry", "ownership": "ownership", "entity_type": "entity_type",
    "taxpayer_type": "taxpayer_type", "employees": "employees", "founded_year": "founded_year",
    "certifications": "certifications", "revenue_wan": "revenue", "total_assets_wan": "total_assets",
    "rd_expense_wan": "rd_expense", "rd_ratio": "rd_ratio", "taxable_income_wan": "taxable_income",
    "digital_investment_wan": "digital_investment",
}


class RoundError(ValueError):
    """A round file that does not follow the format; names the file, the item and the key."""


# ---------------------------------------------------------------- files

def _load(path: Path, key: str) -> list[dict]:
    if not path.exists():
        return []
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise RoundError(f"{path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise RoundError(f"{path}: expected a top-level key {key}: [...]")
    ids = [str(item.get("id")) for item in data[key]]
    duplicates = [i for i, n in Counter(ids).items() if n > 1]
    if duplicates:
        raise RoundError(f"{path}: duplicate ids {', '.join(duplicates)}")
    return data[key]


@dataclass(frozen=True)
class Turn:
    text: str
    expect: tuple[tuple[str, ...], ...]
    must_not: tuple[str, ...]
    gives: tuple[str, ...]  # the assistant's field names this turn states


def parse_dialogue(raw: dict, where: str) -> tuple[str, list[Turn]]:
    if not isinstance(raw.get("turns"), list) or not raw["turns"]:
        raise RoundError(f"{where}: a dialogue needs turns")
    turns = []
    for i, turn in enumerate(raw["turns"]):
        at = f"{where}, turn {i + 1}"
        if not isinstance(turn, dict) or not str(turn.get("text") or "").strip():
            raise RoundError(f"{at}: a turn needs text")
        expect = tuple(sq._strings(group, f"{at}, expect") for group in turn.get("expect") or [])
        must_not = sq._strings(turn["must_not"], f"{at}, must_not") if turn.get("must_not") else ()
        gives = tuple(FACT_FIELDS.get(k, k) for k in (turn.get("gives") or {}))
        turns.append(Turn(str(turn["text"]).strip(), expect, must_not, gives))
    return str(raw["id"]), turns


# ---------------------------------------------------------------- questions and dialogues

@dataclass
class TurnResult:
    dialogue: str
    index: int
    text: str
    passed: bool
    missing: list[list[str]] = field(default_factory=list)
    forbidden: list[str] = field(default_factory=list)
    asked_again: list[str] = field(default_factory=list)
    reply: str = ""
    error: str | None = None


def asked_fields(reply: str) -> set[str]:
    """The firm facts the reply asks for, told by the assistant's own question for each fact."""
    from kb.eligibility.profile import FIELDS

    return {name for name, spec in FIELDS.items() if spec.question and spec.question in reply}


def run_dialogue(url: str, dialogue_id: str, turns: list[Turn], run_id: str, timeout: float) -> list[TurnResult]:
    sender = f"blind-{run_id}-{dialogue_id}"
    given: set[str] = set()
    results = []
    for index, turn in enumerate(turns, 1):
        result = TurnResult(dialogue_id, index, turn.text, passed=False)
        given |= set(turn.gives)
        try:
            result.reply = sq.reply_text(sq.send(url, sender, turn.text, timeout))
        except (requests.RequestException, ValueError) as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            results.append(result)
            continue
        probe = sq.Question(id=dialogue_id, text=turn.text, family="none", kind="fact", expect=turn.expect,
                            must_not=turn.must_not)
        result.missing, result.forbidden = sq.check(probe, result.reply)
        result.asked_again = sorted(asked_fields(result.reply) & given)
        result.passed = bool(result.reply.strip()) and not (result.missing or result.forbidden or result.asked_again)
        results.append(result)
    return results


def score_dialogues(url: str, dialogues: list[tuple[str, list[Turn]]], *, timeout: float, workers: int) -> dict:
    run_id = uuid.uuid4().hex[:8]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        done = list(pool.map(lambda d: run_dialogue(url, d[0], d[1], run_id, timeout), dialogues))
    turns = [t for dialogue in done for t in dialogue]
    return {
        "turns": {"passed": sum(t.passed for t in turns), "total": len(turns)},
        "dialogues": {"passed": sum(all(t.passed for t in d) for d in done), "total": len(done)},
        "results": [asdict(t) for t in turns],
    }


def score_questions(url: str, questions: list[sq.Question], *, timeout: float, workers: int) -> dict:
    results = sq.run(url, questions, timeout=timeout, workers=workers)
    summary = sq.summarize(results)
    return {**summary, "results": [asdict(r) for r in results]}


# ---------------------------------------------------------------- profiles

def load_benefits(path: Path = BENEFITS) -> dict[str, list[str]]:
    """Benefit keys of the blind catalogue → the measure ids that decide them, in order of preference."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {key: list(entry.get("measures") or []) for key, entry in data["benefits"].items()}


def our_verdict(verdicts: list[dict], measure_ids: list[str]) -> str | None:
    """The assistant's verdict on a benefit, folded to eligible / not_eligible / undecided (None: no verdict)."""
    by_id = {v["measure_id"]: v for v in verdicts}
    for measure_id in measure_ids:
        if measure_id in by_id:
            status = by_id[measure_id]["status"]
            return status if status in ("eligible", "not_eligible") else "undecided"
    return None


def score_profiles(web_url: str, profiles: list[dict], benefits: dict[str, list[str]], *, scope: str | None,
                   timeout: float) -> dict:
    rows = []
    for profile in profiles:
        body: dict[str, Any] = {"text": profile["text"], "date": TODAY}
        if scope:
            body["scope"] = scope
        try:
            reply = requests.post(f"{web_url}/api/eligibility", json=body, timeout=timeout)
            verdicts = reply.json().get("verdicts") or [] if reply.status_code == 200 else []
            error = None if reply.status_code == 200 else f"HTTP {reply.status_code}: {reply.text[:200]}"
        except (requests.RequestException, ValueError) as exc:
            verdicts, error = [], f"{type(exc).__name__}: {exc}"
        for expected in profile.get("verdicts") or []:
            key, want = expected["benefit"], expected["expect"]
            if want not in VERDICTS:
                raise RoundError(f"profiles.yaml ({profile['id']}): expect {want!r} is not one of {VERDICTS}")
            got = our_verdict(verdicts, benefits.get(key, []))
            rows.append({"profile": profile["id"], "benefit": key, "expect": want, "got": got,
                         "right": got == want, "over_claim": got == "eligible" and want != "eligible",
                         "error": error})
    decided = [r for r in rows if r["expect"] != "undecided"]
    undecided = [r for r in rows if r["expect"] == "undecided"]
    return {
        "decided": {"passed": sum(r["right"] for r in decided), "total": len(decided)},
        "undecided": {"passed": sum(r["right"] for r in undecided), "total": len(undecided)},
        "over_claims": sum(r["over_claim"] for r in rows),
        "no_verdict": sum(r["got"] is None for r in rows),
        "results": rows,
    }


# ---------------------------------------------------------------- phrases

def _close(got: Any, want: Any) -> bool:
    if isinstance(want, (int, float)) and not isinstance(want, bool):
        return isinstance(got, (int, float)) and not isinstance(got, bool) and math.isclose(got, want, rel_tol=0.02,
                                                                                            abs_tol=1e-6)
    if isinstance(want, list):
        return isinstance(got, (list, set, frozenset, tuple)) and sorted(map(str, got)) == sorted(map(str, want))
    return str(got) == str(want)


def _same_industry(got: Any, want: Any) -> bool:
    """Whether two freely written industry names agree: equal, one inside the other, or two characters in a row shared.

    "汽车零部件" and "汽车制造" agree; "竹木制品" and "木材加工" do not.
    """
    if not got or not want:
        return False
    got, want = str(got), str(want)
    return got in want or want in got or any(want[i:i + 2] in got for i in range(len(want) - 1))


_ADMIN_SUFFIX = re.compile(r"(?:畲族自治县|自治县|新区|市|区|县)(?=[\u4e00-\u9fff]|$)")


def _same_place(got: Any, want: Any) -> bool:
    """One place written with or without what contains it or its suffixes.

    "温州市洞头区" and "洞头区", "宁波市" and "宁波", "杭州市滨江区" and "杭州滨江", "丽水市景宁畲族自治县" and "景宁县".
    """
    if not got or not want:
        return False
    got, want = str(got), str(want)
    if got == want or got.endswith(want) or want.endswith(got) or got.rstrip("市") == want.rstrip("市"):
        return True
    if got == "浙江省外":  # the assistant names any place outside Zhejiang so: right for one the writer puts there
        from bench.blind_adapter import outside_zhejiang

        return outside_zhejiang(want)
    bare_got, bare_want = _ADMIN_SUFFIX.sub("", got), _ADMIN_SUFFIX.sub("", want)
    return len(bare_want) >= 2 and len(bare_got) >= 2 and (bare_got.endswith(bare_want) or bare_want.endswith(bare_got))


def _within(got: Any, bounds: dict | list) -> bool:
    """A value inside the stated range, or the same range given back ({"max": 5000}).

    A range written [low, high] is {min: low, max: high}.
    """
    if isinstance(bounds, (list, tuple)):
        bounds = {"min": bounds[0], "max": bounds[1] if len(bounds) > 1 else None}
    if isinstance(got, dict):
        return all(_close(got.get(k), v) for k, v in bounds.items() if v is not None)
    if not isinstance(got, (int, float)) or isinstance(got, bool):
        return False
    low, high = bounds.get("min"), bounds.get("max")
    return (low is None or got >= low - 1e-9) and (high is None or got <= high + 1e-9)


def phrase_expectations(raw: dict) -> dict[str, tuple[str, Any]]:
    """Our field → ("value", v) or ("range", {min, max}) for each fact the phrase states."""
    if "values" in raw:  # a value may be a range {min, max}, as the round's header says
        return {FACT_FIELDS.get(k, k): ("range", v) if isinstance(v, dict) else ("value", v)
                for k, v in raw["values"].items()}
    name = FACT_FIELDS.get(raw["field"], raw["field"])
    return {name: ("range", raw["range"]) if "range" in raw else ("value", raw["value"])}


def read_phrase(text: str, asked: str | None) -> dict[str, Any]:
    """The facts the assistant's parser reads from one phrasing (with the fact it had asked for, if any)."""
    from bench.blind_adapter import read_facts

    return read_facts(text, asked=FACT_FIELDS.get(asked, asked) if asked else None)


def read_bounds(text: str, asked: str | None) -> dict[str, tuple]:
    """The range the parser gives each hedged figure of a phrasing ("不到300万": below 300)."""
    from bench.blind_adapter import read_bounds as bounds

    return bounds(text, asked=FACT_FIELDS.get(asked, asked) if asked else None)


def _at_bound(bounds: tuple | None, want: Any) -> bool:
    """A writer's value for a hedged figure that is the bound the parser read ("不到两百人": 200, below it)."""
    if not bounds or not isinstance(want, (int, float)) or isinstance(want, bool):
        return False
    return any(b is not None and math.isclose(b, want, rel_tol=0.02) for b in bounds)


def score_phrases(phrases: list[dict]) -> dict:
    rows = []
    for raw in phrases:
        wanted = phrase_expectations(raw)
        try:
            got = read_phrase(str(raw["text"]), raw.get("asked"))
            error = None
        except Exception as exc:  # a parser crash is a failure of that phrase, and the run goes on
            got, error = {}, f"{type(exc).__name__}: {exc}"
        wrong = {}
        for name, (how, value) in wanted.items():
            have = got.get(name)
            if how == "range":
                ok = _within(have, value)
            elif name == "certifications" and isinstance(value, list):
                from bench.blind_adapter import certifications_closed, certifications_named

                ok = have is not None and certifications_closed(have) == certifications_named(value)
            elif name == "industry":
                from bench.blind_adapter import industry_within, same_division

                ok = _same_industry(have, value) or industry_within(have, value) or same_division(have, value)
            elif name == "region":
                ok = _same_place(have, value)
            elif name == "entity_type":
                from bench.blind_adapter import same_entity_type

                ok = same_entity_type(have, value)
            elif name == "taxable_income":
                ok = _close(have, value) or _same_loss(have, value)
            else:
                ok = _close(have, value)
            if not ok and raw.get("approx") and how == "value":
                ok = _at_bound(read_bounds(str(raw["text"]), raw.get("asked")).get(name), value)
            if not ok:
                wrong[name] = {"want": value, "got": have}
        rows.append({"id": raw["id"], "text": raw["text"], "right": not wrong, "wrong": wrong, "error": error})
    return {"phrases": {"passed": sum(r["right"] for r in rows), "total": len(rows)},
            "results": json.loads(json.dumps(rows, ensure_ascii=False, default=sorted_list))}


def _same_loss(got: Any, want: Any) -> bool:
    """A loss written as taxable income 0 on one side and as its amount (negative) on the other.

    The writers' brief allows either (round 14 on), and the parser keeps the amount.
    """
    numbers = [v for v in (got, want) if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return len(numbers) == 2 and min(numbers) < 0 and max(numbers) == 0


def sorted_list(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    return str(value)


# ---------------------------------------------------------------- report

def pct(part: dict) -> str:
    return f"{part['passed']}/{part['total']} ({part['passed'] / part['total'] * 100:.1f}%)" if part["total"] else "–"


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip() or "unknown"


def summary_line(name: str, scores: dict) -> str:
    cells = [name, scores["meta"]["started"][:10], f"`{scores['meta']['commit']}`"]
    q, d, p, f = (scores.get(k) for k in ("questions", "dialogues", "profiles", "phrases"))
    cells.append(pct(q["overall"]) if q else "–")
    cells.append(f"{pct(d['turns'])}; {d['dialogues']['passed']}/{d['dialogues']['total']} whole" if d else "–")
    cells.append(f"{pct(p['decided'])}; undecided {pct(p['undecided'])}; over-claims {p['over_claims']}" if p else "–")
    forced = scores.get("profiles_scope_all")
    cells.append(f"{pct(forced['decided'])}; over-claims {forced['over_claims']}" if forced else "–")
    cells.append(pct(f["phrases"]) if f else "–")
    cells.append(scores["meta"].get("note", ""))
    return "| " + " | ".join(cells) + " |"


def record(name: str, scores: dict) -> None:
    """Add or replace the round's row (by round name and commit) in the blind-round table of bench/README.md."""
    from bench.readme import README

    start, end = "<!-- blind-rounds:start -->", "<!-- blind-rounds:end -->"
    content = README.read_text(encoding="utf-8")
    head, rest = content.split(start, 1)
    block, tail = rest.split(end, 1)
    lines = [line for line in block.strip().splitlines()]
    row = summary_line(name, scores)
    key = f"| {name} | "
    lines = [line for line in lines if not (line.startswith(key) and f"`{scores['meta']['commit']}`" in line)]
    lines.append(row)
    README.write_text(f"{head}{start}\n" + "\n".join(lines) + f"\n{end}{tail}", encoding="utf-8")


def print_summary(name: str, scores: dict) -> None:
    print(f"Blind {name} at {scores['meta']['commit']}")
    if "questions" in scores:
        q = scores["questions"]
        print(f"  questions  {pct(q['overall'])}")
        for kind, r in q["by_kind"].items():
            print(f"    {kind:<14} {r['passed']}/{r['total']}")
    if "dialogues" in scores:
        d = scores["dialogues"]
        print(f"  dialogue turns {pct(d['turns'])}; whole dialogues {pct(d['dialogues'])}")
    for key in ("profiles", "profiles_scope_all"):
        if key in scores:
            p = scores[key]
            print(f"  {key:<20} decided {pct(p['decided'])}; undecided {pct(p['undecided'])}; "
                  f"over-claims {p['over_claims']}; no verdict {p['no_verdict']}")
    if "phrases" in scores:
        print(f"  phrases    {pct(scores['phrases']['phrases'])}")


# ---------------------------------------------------------------- command line

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Score a blind round end to end.")
    parser.add_argument("round", type=Path, help="the round's directory, e.g. bench/blind/round-1")
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--start", action="store_true", help="start the servers on free ports with a temporary KB")
    parser.add_argument("--url", default="http://127.0.0.1:5005", help="Rasa server (loopback), without --start")
    parser.add_argument("--web-url", default="http://127.0.0.1:8000", help="web app (loopback), without --start")
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--record", action="store_true", help="write the round's row in bench/README.md")
    parser.add_argument("--note", default="", help="a remark for the table row (what was scored)")
    args = parser.parse_args(argv)

    directory = args.round.resolve()
    name = directory.name
    try:
        questions = sq._unique([sq.parse_question(raw, f"questions.yaml, item {i + 1}")
                                for i, raw in enumerate(_load(directory / "questions.yaml", "questions"))],
                               directory / "questions.yaml") if "questions" in args.parts else []
        dialogues = [parse_dialogue(raw, f"dialogues.yaml ({raw.get('id')})")
                     for raw in _load(directory / "dialogues.yaml", "dialogues")] if "dialogues" in args.parts else []
        profiles = _load(directory / "profiles.yaml", "profiles") if "profiles" in args.parts else []
        phrases = _load(directory / "phrases.yaml", "phrases") if "phrases" in args.parts else []
    except (RoundError, sq.QuestionFileError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    started = dt.datetime.now(dt.timezone.utc)
    out = RESULTS_DIR / f"blind-{name}.json"
    scores: dict[str, Any] = {}
    if out.exists() and set(args.parts) != set(PARTS):
        # Parts scored separately at one commit add up to one row: keep the other parts of that run.
        earlier = json.loads(out.read_text(encoding="utf-8"))
        if earlier.get("meta", {}).get("commit") == commit():
            scores = {k: v for k, v in earlier.items() if k != "meta"}
    scores["meta"] = {"round": name, "started": started.isoformat(timespec="seconds"), "commit": commit(),
                      "note": args.note}
    if phrases:
        scores["phrases"] = score_phrases(phrases)

    def talk(rasa_url: str, web_url: str) -> None:
        if questions:
            scores["questions"] = score_questions(rasa_url, questions, timeout=args.timeout, workers=args.workers)
        if dialogues:
            scores["dialogues"] = score_dialogues(rasa_url, dialogues, timeout=args.timeout, workers=args.workers)
        if profiles:
            benefits = load_benefits()
            scores["profiles"] = score_profiles(web_url, profiles, benefits, scope=None, timeout=args.timeout)
            scores["profiles_scope_all"] = score_profiles(web_url, profiles, benefits, scope="all",
                                                          timeout=args.timeout)

    clock = time.monotonic()
    if questions or dialogues or profiles:
        if args.start:
            from bench.harness import started_assistant

            with started_assistant() as assistant:
                talk(assistant.rasa_url, f"http://127.0.0.1:{assistant.settings.web_port}")
        else:
            talk(sq.require_loopback(args.url), sq.require_loopback(args.web_url))
    scores["meta"]["seconds"] = round(time.monotonic() - clock, 1)

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(scores, ensure_ascii=False, indent=1, default=sorted_list) + "\n", encoding="utf-8")
    print_summary(name, scores)
    if args.record:
        record(name, scores)
    print(f"Results written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
