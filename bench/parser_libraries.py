"""jionlp and cn2an against our own reader (kb/eligibility/parsing.py) on a blind round's fact phrasings.

The libraries are not project dependencies: install them in a separate virtualenv and point the script at it,

    python3 -m venv /tmp/parsers && /tmp/parsers/bin/pip install jionlp cn2an pyyaml
    .venv/bin/python bench/parser_libraries.py bench/blind/round-1 --libs-python /tmp/parsers/bin/python

Two kinds of phrase are compared, the ones the libraries claim to read:

- money (every single-fact phrase whose field is an amount): jionlp `parse_money` on the figure's span, and cn2an
  `transform(text, "cn2an")` followed by reading the first figure with 万/亿/元; right when the amount (in 万元)
  is within the stated range, or within 2% of the stated value;
- places (phrases whose field is `region`): jionlp `parse_location`, right when city + county (or the city
  alone, for a city-only phrase) equal the stated place.

Result on round 1 (2026-12-03, jionlp 1.5.31, cn2an 0.5.24): money — ours 77/77, jionlp 48/77, cn2an 37/77; places —
ours 30/30, jionlp 25/30. Neither library reads hedges as ranges (八千多万, 不到两千万), "一个半亿", "两三千万",
bare answers to the asked field, towns (千岛湖, 横店) or the field a figure belongs to, so the hand-written
reader stays; the numbers are reproduced by running the script (see `--json`).
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

MONEY_FIELDS = {"revenue_wan", "total_assets_wan", "taxable_income_wan", "rd_expense_wan", "digital_investment_wan"}

# Runs inside the libraries' virtualenv: reads phrases as JSON on stdin, writes each library's reading.
LIBRARY_SCRIPT = r'''
import json, re, sys
import cn2an, jionlp
phrases = json.load(sys.stdin)
out = []
def wan(value, unit_text):
    return value / 10000.0
for p in phrases:
    text = p["text"]
    row = {"id": p["id"]}
    if p["kind"] == "money":
        try:  # parse_money reads a figure, not a sentence: give it the figure's span
            span = re.search(r"[0-9.零〇一二两三四五六七八九十百千万亿多余来几半]+(?:个)?[万亿]?(?:元|块)?", text)
            parsed = jionlp.parse_money(span.group()) if span else None
            num = parsed.get("num") if isinstance(parsed, dict) else None
            if isinstance(num, list):  # a range ("八千多万"): its low end
                num = num[0]
            row["jionlp"] = float(num) / 10000.0 if num is not None else None
        except Exception:
            row["jionlp"] = None
        try:
            converted = cn2an.transform(text, "cn2an")
            m = re.search(r"(\d+(?:\.\d+)?)\s*(亿|万|元)?", converted)
            if m:
                value = float(m.group(1))
                unit = m.group(2)
                if unit is None and re.search(r"[万亿]", text):
                    value, unit = value / 10000, "万"  # cn2an folded 万/亿 into the figure: it is in 元
                row["cn2an"] = value * 10000 if unit == "亿" else value if unit == "万" else (
                    value / 10000 if unit == "元" else value)
            else:
                row["cn2an"] = None
        except Exception:
            row["cn2an"] = None
    else:
        try:
            loc = jionlp.parse_location(text)
            row["jionlp"] = [loc.get("city"), loc.get("county")]
        except Exception:
            row["jionlp"] = None
    out.append(row)
print("@@RESULT@@" + json.dumps(out, ensure_ascii=False))
'''


def _right_money(got, raw: dict) -> bool:
    if not isinstance(got, (int, float)):
        return False
    if "range" in raw:
        low, high = raw["range"].get("min"), raw["range"].get("max")
        return (low is None or got >= low - 1e-6) and (high is None or got <= high + 1e-6)
    return math.isclose(got, raw["value"], rel_tol=0.02, abs_tol=1e-6)


def _right_place(got, want: str) -> bool:
    if not got:
        return False
    city, county = got
    if want.endswith("市") and want == city:
        return not county or county == want
    return bool(city and county) and f"{city}{county}" == want


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("round", type=Path)
    parser.add_argument("--libs-python", required=True, help="python of a virtualenv with jionlp and cn2an")
    parser.add_argument("--json", action="store_true", help="print every phrase's readings")
    args = parser.parse_args(argv)

    from bench.blind_adapter import read_facts
    from bench.score_blind import FACT_FIELDS

    phrases = yaml.safe_load((args.round / "phrases.yaml").read_text(encoding="utf-8"))["phrases"]
    chosen = []
    for raw in phrases:
        if "values" in raw:
            continue
        if raw["field"] in MONEY_FIELDS:
            chosen.append({**raw, "kind": "money"})
        elif raw["field"] == "region":
            chosen.append({**raw, "kind": "place"})
    request = [{"id": p["id"], "text": p["text"], "kind": p["kind"]} for p in chosen]
    reply = subprocess.run([args.libs_python, "-c", LIBRARY_SCRIPT], input=json.dumps(request, ensure_ascii=False),
                           capture_output=True, text=True, check=True)
    # The libraries print banners on stdout: the result is the line after the marker.
    result = reply.stdout.rsplit("@@RESULT@@", 1)[1]
    libraries = {row["id"]: row for row in json.loads(result)}
    score = {("money", name): 0 for name in ("ours", "jionlp", "cn2an")}
    score.update({("place", name): 0 for name in ("ours", "jionlp")})
    totals = {"money": 0, "place": 0}
    rows = []
    for raw in chosen:
        field = FACT_FIELDS.get(raw["field"], raw["field"])
        ours = read_facts(raw["text"], asked=FACT_FIELDS.get(raw.get("asked"), raw.get("asked"))).get(field)
        lib = libraries[raw["id"]]
        totals[raw["kind"]] += 1
        if raw["kind"] == "money":
            results = {"ours": _right_money(ours, raw), "jionlp": _right_money(lib.get("jionlp"), raw),
                       "cn2an": _right_money(lib.get("cn2an"), raw)}
        else:
            results = {"ours": ours == raw["value"], "jionlp": _right_place(lib.get("jionlp"), raw["value"])}
        for name, right in results.items():
            score[(raw["kind"], name)] += right
        rows.append({"id": raw["id"], "text": raw["text"], "ours": ours, **{k: lib.get(k) for k in ("jionlp", "cn2an")},
                     "right": results})
    for kind in ("money", "place"):
        cells = ", ".join(f"{name} {score[(k, name)]}/{totals[kind]}" for k, name in score if k == kind)
        print(f"{kind}: {cells}")
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
