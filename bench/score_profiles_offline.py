"""Score a round's firm profiles (and phrases) in-process, without starting the servers.

The same request body bench/score_blind.py sends to `POST /api/eligibility` is handed to the API's own
handler function over a fresh SQLite copy of the seed, so a change to the rules or the parser is measured in
seconds. bench/score_blind.py stays the reference (it goes through HTTP).

    .venv/bin/python bench/score_profiles_offline.py bench/blind/round-1 [--scope all] [--show 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import score_blind as sb  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("round", type=Path)
    parser.add_argument("--scope", default=None)
    parser.add_argument("--show", type=int, default=0, help="print this many wrong verdicts / phrases")
    parser.add_argument("--parts", nargs="+", default=["profiles", "phrases"])
    args = parser.parse_args(argv)

    from bot.api import check_body
    from kb.store.db import close_all, sessions
    from kb.store.loader import seed_database

    if "phrases" in args.parts:
        phrases = sb._load(args.round / "phrases.yaml", "phrases")
        scored = sb.score_phrases(phrases)
        print("phrases", sb.pct(scored["phrases"]))
        wrong = [r for r in scored["results"] if not r["right"]][: args.show]
        for row in wrong:
            print("  ✗", {k: v for k, v in row.items() if k != "right"})
    if "profiles" not in args.parts:
        return 0
    profiles = sb._load(args.round / "profiles.yaml", "profiles")
    benefits = sb.load_benefits()
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{directory}/kb.sqlite3"
        seed_database(url)
        factory = sessions(url)
        rows = []
        for profile in profiles:
            body = {"text": profile["text"], "date": sb.TODAY}
            if args.scope:
                body["scope"] = args.scope
            verdicts = check_body(factory, body)["verdicts"]
            for expected in profile.get("verdicts") or []:
                got = sb.our_verdict(verdicts, benefits.get(expected["benefit"], []))
                want = expected["expect"]
                rows.append({"profile": profile["id"], "benefit": expected["benefit"], "expect": want, "got": got,
                             "right": got == want, "over_claim": got == "eligible" and want != "eligible",
                             "why": expected.get("why", "")})
        close_all()
    decided = [r for r in rows if r["expect"] != "undecided"]
    undecided = [r for r in rows if r["expect"] == "undecided"]
    print(f"profiles decided {sum(r['right'] for r in decided)}/{len(decided)}, "
          f"undecided {sum(r['right'] for r in undecided)}/{len(undecided)}, "
          f"over-claims {sum(r['over_claim'] for r in rows)}, no verdict {sum(r['got'] is None for r in rows)}")
    shown = sorted((r for r in rows if not r["right"]), key=lambda r: (not r["over_claim"], r["expect"] == "undecided"))
    for row in shown[: args.show]:
        flag = "OVER" if row["over_claim"] else "✗"
        print(f"  {flag} {row['profile']} {row['benefit']}: want {row['expect']} got {row['got']} — {row['why'][:80]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
