"""The development set scored offline, through the answer path in this process, in seconds instead of minutes.

What the end-to-end scorer (bench/score_questions.py, bench/score_blind.py) sends through Rasa is replayed
here: each message's intent comes from the trained model (parsed once and cached per model in
~/.cache/huiqi/nlu-parses/), fixed replies for chit-chat come from domain.yml, and every other message goes
through `kb.answering.respond` with the follow-up context of the previous turn, rendered by the domain.
Messages the eligibility dialogue answers are not simulated and are counted apart. It is what
bench/answer_cv.py cross-validates the answer path's weights on; the end-to-end scorers stay the measure.

    .venv/bin/python bench/answer_eval.py                 # the dev set with the current weights
    .venv/bin/python bench/answer_eval.py --show 30       # and the first 30 failures
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from actions.answer import SMALL_TALK  # noqa: E402
from bench import score_blind as sb  # noqa: E402
from bench import score_questions as sq  # noqa: E402

TODAY = dt.date(2026, 12, 2)
ELIGIBILITY_INTENTS = {"ask_eligibility", "inform", "skip"}


@dataclass(frozen=True)
class Item:
    """One scored message: a question, or a turn of a dialogue (with the turns before it in `history`)."""

    id: str
    text: str
    expect: tuple[tuple[str, ...], ...]
    must_not: tuple[str, ...]
    history: tuple[str, ...] = ()
    group: str = ""  # items of one conversation share it, so cross-validation keeps them in one fold


def dev_items(root: Path = ROOT) -> list[Item]:
    """The development set: bench/questions.yaml and every folded blind round's questions and dialogues."""
    items = [Item(q.id, q.text, q.expect, q.must_not, q.turns, q.sender or q.id) for q in sq.load_questions()]
    for directory in sorted((root / "bench" / "blind").glob("round-*")):
        path = directory / "questions.yaml"
        if path.exists():
            for i, raw in enumerate(yaml.safe_load(path.read_text(encoding="utf-8"))["questions"]):
                q = sq.parse_question(raw, f"{path}, item {i + 1}")
                items.append(Item(q.id, q.text, q.expect, q.must_not, q.turns, q.id))
        path = directory / "dialogues.yaml"
        if path.exists():
            for raw in yaml.safe_load(path.read_text(encoding="utf-8"))["dialogues"]:
                dialogue_id, turns = sb.parse_dialogue(raw, str(path))
                for i, turn in enumerate(turns):
                    items.append(Item(f"{dialogue_id}#{i + 1}", turn.text, turn.expect, turn.must_not,
                                      tuple(t.text for t in turns[:i]), dialogue_id))
    return items


# ---------------------------------------------------------------- intents

def _model_path() -> Path:
    from bot.settings import load_settings
    from bot.training import ensure_model

    return ensure_model(load_settings())


def intents(texts: Iterable[str]) -> dict[str, str]:
    """The model's intent for each text, parsed once per model and kept in the cache directory."""
    from bot.settings import load_settings

    model = _model_path()
    cache_file = load_settings().cache_dir / "nlu-parses" / f"{model.stem}.json"
    cache: dict[str, str] = json.loads(cache_file.read_text(encoding="utf-8")) if cache_file.exists() else {}
    missing = sorted({t for t in texts if t not in cache})
    if missing:
        import logging

        from rasa.core.agent import Agent

        logging.disable(logging.DEBUG)  # Rasa logs every parse at debug level
        agent = Agent.load(str(model))

        async def parse_all() -> None:
            for text in missing:
                parsed = await agent.parse_message(text)
                cache[text] = (parsed.get("intent") or {}).get("name") or ""

        asyncio.run(parse_all())
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        cache_file.write_text(json.dumps(cache, ensure_ascii=False), encoding="utf-8")
    return cache


# ---------------------------------------------------------------- replaying

class Replayer:
    """Runs messages through the answer path as the action server would, with the domain's wording."""

    def __init__(self, db_url: str, parses: dict[str, str]) -> None:
        from kb.store.db import sessions

        self.sessions = sessions(db_url)
        self.parses = parses
        domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8"))
        self.responses = domain["responses"]
        self.eligibility_turns = 0

    def text_of(self, reply) -> str:
        from kb.answering.reply import reply_text

        return reply_text(reply, self.responses)

    def conversation(self, texts: list[str], params) -> tuple[list[str], list[bool]]:
        """Replies to a conversation's messages, and which of them the answer path gave."""
        from kb.answering.respond import respond, respond_small_talk
        from kb.answering.vocabulary import vocabulary

        context: dict[str, Any] | None = None
        replies, simulated = [], []
        with self.sessions() as session:
            for text in texts:
                intent = self.parses.get(text, "")
                if intent == "handoff" and not vocabulary().asks_for_a_person(text):
                    intent = "ask_measure"  # as action_handoff does: no word asks for a person, so it is answered
                said_first = ""
                if intent == "handoff":
                    replies.append(self.responses["utter_handoff"][0]["text"])
                    simulated.append(True)
                    continue
                if intent == "greet":  # the rule's greeting, then action_small_talk
                    said_first = self.responses["utter_greet"][0]["text"] + "\n"
                if intent in SMALL_TALK:  # as action_small_talk does: answered when it holds a question
                    reply = respond_small_talk(text, SMALL_TALK[intent], session=session, today=TODAY, context=context)
                else:
                    reply = respond(text, session=session, today=TODAY, context=context, intent=intent,
                                    params=params)
                context = reply.context or context
                # The eligibility dialogue answers these itself (it hands questions to the answer path, which
                # is what keeps the topic for the next turn): their replies are not scored here.
                replies.append(said_first + self.text_of(reply))
                simulated.append(intent not in ELIGIBILITY_INTENTS)
        return replies, simulated


def evaluate(items: list[Item], replayer: Replayer, params) -> list[dict]:
    """Every item's result: passed, or which expectations were missing, or not simulated."""
    results = []
    for item in items:
        replies, simulated = replayer.conversation([*item.history, item.text], params)
        probe = sq.Question(id=item.id, text=item.text, family="none", kind="fact", expect=item.expect,
                            must_not=item.must_not)
        missing, forbidden = sq.check(probe, replies[-1])
        results.append({"id": item.id, "group": item.group, "simulated": simulated[-1],
                        "passed": simulated[-1] and not missing and not forbidden, "missing": missing,
                        "forbidden": forbidden, "reply": replies[-1]})
    return results


def summary(results: list[dict]) -> dict:
    simulated = [r for r in results if r["simulated"]]
    return {"passed": sum(r["passed"] for r in simulated), "simulated": len(simulated), "total": len(results)}


def seeded_db(directory: Path) -> str:
    from kb.store.loader import seed_database

    url = f"sqlite:///{directory / 'kb.sqlite3'}"
    seed_database(url)
    return url


def main(argv: list[str] | None = None) -> int:
    import tempfile

    from kb.answering.retrieval import PARAMETERS

    parser = argparse.ArgumentParser(description="Score the development set offline through the answer path.")
    parser.add_argument("--show", type=int, default=0, help="list the first N failures")
    parser.add_argument("--only", nargs="+", metavar="PREFIX", help="items whose id starts with these")
    args = parser.parse_args(argv)
    items = dev_items()
    if args.only:
        items = [i for i in items if i.id.startswith(tuple(args.only))]
    parses = intents(t for item in items for t in (*item.history, item.text))
    with tempfile.TemporaryDirectory(prefix="huiqi-eval-") as tmp:
        replayer = Replayer(seeded_db(Path(tmp)), parses)
        results = evaluate(items, replayer, PARAMETERS)
    total = summary(results)
    rounds = sorted({r["id"].split("-")[0] for r in results if r["id"].startswith("b")}, key=lambda b: int(b[1:]))
    parts = [("dev questions", None)] + [(f"round-{b[1:]} {what}", f"{b}-{kind}") for b in rounds
                                         for what, kind in (("questions", "q"), ("dialogue turns", "d"))]
    for name, prefix in parts:
        part = [r for r in results if (r["id"].startswith(prefix) if prefix else not r["id"].startswith("b"))]
        print(f"  {name:<24} {summary(part)['passed']}/{summary(part)['simulated']}")
    print(f"passed {total['passed']}/{total['simulated']} simulated ({total['total']} items; "
          f"{total['total'] - total['simulated']} answered by the eligibility dialogue, not simulated)")
    shown = 0
    for r in results:
        if r["simulated"] and not r["passed"] and shown < args.show:
            shown += 1
            print(f"- {r['id']}: missing {r['missing']} forbidden {r['forbidden']}")
            print("    " + " ".join(r["reply"].split())[:260])
    return 0


if __name__ == "__main__":
    sys.exit(main())
