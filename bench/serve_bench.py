"""Reply latency and throughput of our assistant against a bare `rasa init` bot, measured alternately.

The machine is shared and noisy, so every speed figure that matters is a ratio against the bare bot
(same Rasa, same venv, same machine) measured in the same run, in alternating windows:

1. closed loop: C conversations (1, 5, 20, 50) each send their next message when the reply arrives,
   for --seconds per window, --rounds windows per bot and level, the bots' order swapped every round;
2. open loop: messages arrive at a fixed rate (half the bare bot's saturation rate, from step 1),
   each in a conversation of its own, so latency is the bots' own and not just our client's queue;
3. memory: resident memory of the Rasa server, the action server and the web app (and the bare bot);
4. a knowledge-base change: `huiqi kb import` of a new measure, then the time until the bot answers
   with its figure (the first message sent after the import returns, and how long until it is right);
5. load without loss: N conversations × T turns at a fixed message rate; afterwards every
   conversation's tracker is read back and replies missing, duplicated, out of order or erroring counted.

Our assistant gets questions from bench/questions.yaml (real policy questions through the whole
pipeline: NLU, dialogue, custom actions, KB retrieval, SQL tracker store); the bare bot gets the
`rasa init` domain's own messages. Results: bench/results/serve.json and a table in bench/README.md.

    .venv/bin/python bench/serve_bench.py                       # everything (~15 min on 2 cores)
    .venv/bin/python bench/serve_bench.py --quick               # shorter windows, fewer levels
    .venv/bin/python bench/serve_bench.py --only closed open    # some parts: closed open memory import load
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import aiohttp
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.harness import VENV_BIN, memory_mib, started_assistant, started_baseline  # noqa: E402
from bench.readme import replace_block  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "serve.json"
README = ROOT / "bench" / "README.md"
QUESTIONS = ROOT / "bench" / "questions.yaml"
PARTS = ("closed", "open", "memory", "import", "load")
# What a user of the `rasa init` bot says (its own NLU examples), one conversation's worth.
BASELINE_SCRIPT = ["hello", "I am sad", "yes", "are you a bot?", "great", "goodbye"]
TURNS_PER_CONVERSATION = 6  # then the sender starts a fresh conversation, as new visitors do


# ---------------------------------------------------------------- traffic

def our_script() -> list[str]:
    """Single-turn questions of every kind from the development set, in file order."""
    items = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))
    items = items["questions"] if isinstance(items, dict) else items
    return [item["text"] for item in items if not item.get("turns") and not item.get("sender")
            and len(item["text"]) < 200]


class Client:
    """One bot's REST channel; records (start, latency, ok) per message."""

    def __init__(self, url: str, session: aiohttp.ClientSession, timeout: float) -> None:
        self.url = url.rstrip("/") + "/webhooks/rest/webhook"
        self.session = session
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def send(self, sender: str, text: str) -> tuple[float, bool, list]:
        started = time.perf_counter()
        try:
            async with self.session.post(self.url, json={"sender": sender, "message": text},
                                         timeout=self.timeout) as reply:
                body = await reply.json(content_type=None)
                ok = reply.status == 200 and isinstance(body, list) and len(body) > 0
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            body, ok = [], False
        return time.perf_counter() - started, ok, body if isinstance(body, list) else []


def percentiles(latencies: list[float]) -> dict[str, float | None]:
    if not latencies:
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None}
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 1)

    return {"p50_ms": at(0.50), "p95_ms": at(0.95), "p99_ms": at(0.99)}


async def closed_window(client: Client, script: list[str], conversations: int, seconds: float,
                        tag: str) -> dict:
    """C conversations in a closed loop for `seconds`; counts replies that arrive inside the window."""
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds

    async def conversation(worker: int) -> None:
        nonlocal errors
        position = worker * 7  # different workers start at different questions
        while time.perf_counter() < deadline:
            sender = f"{tag}-{worker}-{uuid.uuid4().hex[:8]}"
            for _ in range(TURNS_PER_CONVERSATION):
                if time.perf_counter() >= deadline:
                    return
                latency, ok, _ = await client.send(sender, script[position % len(script)])
                position += 1
                if time.perf_counter() <= deadline:
                    latencies.append(latency)
                    errors += not ok

    started = time.perf_counter()
    await asyncio.gather(*(conversation(w) for w in range(conversations)))
    elapsed = time.perf_counter() - started
    return {"latencies": latencies, "errors": errors, "seconds": min(elapsed, seconds)}


async def open_window(client: Client, script: list[str], rate: float, seconds: float, tag: str) -> dict:
    """Messages arrive every 1/rate s whatever the replies do; each is its own conversation's first turn."""
    latencies: list[float] = []
    errors = 0
    lateness: list[float] = []

    async def one(index: int) -> None:
        nonlocal errors
        latency, ok, _ = await client.send(f"{tag}-{index}-{uuid.uuid4().hex[:8]}", script[index % len(script)])
        latencies.append(latency)
        errors += not ok

    tasks = []
    started = time.perf_counter()
    count = int(rate * seconds)
    for index in range(count):
        due = started + index / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        lateness.append(max(0.0, time.perf_counter() - due))
        tasks.append(asyncio.create_task(one(index)))
    await asyncio.gather(*tasks)
    return {"rate": rate, "messages": count, "latencies": latencies, "errors": errors,
            "seconds": time.perf_counter() - started, "send_lateness_max_ms": round(max(lateness) * 1000, 1)}


def summarize_closed(windows: list[dict]) -> dict:
    latencies = [x for w in windows for x in w["latencies"]]
    seconds = sum(w["seconds"] for w in windows)
    return {"replies": len(latencies), "errors": sum(w["errors"] for w in windows),
            "replies_per_second": round(len(latencies) / seconds, 2) if seconds else None,
            "window_rates": [round(len(w["latencies"]) / w["seconds"], 2) for w in windows],
            **percentiles(latencies)}


async def warm_up(client: Client, script: list[str], tag: str) -> None:
    """First replies load lazily built parts (the KB index, TensorFlow graphs): not what a user waits for."""
    for index in range(12):
        await client.send(f"{tag}-warm-{index % 3}", script[index % len(script)])


async def run_closed(bots: dict[str, tuple[Client, list[str]]], levels: list[int], rounds: int,
                     seconds: float) -> dict:
    windows: dict[str, dict[int, list[dict]]] = {name: {c: [] for c in levels} for name in bots}
    order = list(bots)
    for level in levels:
        for round_index in range(rounds):
            for name in order if round_index % 2 == 0 else reversed(order):
                client, script = bots[name]
                print(f"  closed loop: {name}, {level} conversations, round {round_index + 1}/{rounds}…",
                      file=sys.stderr, flush=True)
                windows[name][level].append(
                    await closed_window(client, script, level, seconds, f"closed-{name}-{level}-{round_index}"))
    return {name: {str(level): summarize_closed(ws) for level, ws in per_level.items()}
            for name, per_level in windows.items()}


# ---------------------------------------------------------------- knowledge-base change

def import_file(directory: Path, index: int, token: str) -> tuple[Path, str, str]:
    """A new measure with a term no seed measure has and a figure to look for in the reply."""
    term = f"月球基地{token}{index}号补助"
    amount = 300 + 17 * index
    path = directory / f"change-{index}.yaml"
    path.write_text(yaml.safe_dump({"measures": [{
        "id": f"bench-change-{token}-{index}", "document": "pe32-2023", "title": term,
        "summary": "基准测试用的临时措施：导入后应立即可答。",
        "benefits": [{"what": term, "amount": amount, "unit": "万元"}],
        "department": "省经信厅", "keywords": [term],
        "sources": ["https://example.org/bench-change"],
    }]}, allow_unicode=True), encoding="utf-8")
    return path, f"{term}是多少钱", f"{amount}万元"


async def run_import(client: Client, kb_url: str, trials: int) -> dict:
    results = []
    token = uuid.uuid4().hex[:4]
    env = {**os.environ, "HUIQI_DB_URL": kb_url, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"}
    with tempfile.TemporaryDirectory(prefix="huiqi-change-") as tmp:
        for index in range(trials):
            path, question, figure = import_file(Path(tmp), index, token)
            before = await client.send(f"change-before-{token}-{index}", question)
            started = time.perf_counter()
            done = subprocess.run([str(VENV_BIN / "huiqi"), "kb", "import", str(path)], env=env,
                                  capture_output=True, text=True)
            command_seconds = time.perf_counter() - started
            if done.returncode != 0:
                raise RuntimeError(f"huiqi kb import failed: {done.stderr.strip()[-500:]}")
            returned = time.perf_counter()
            attempts, first_right, first_latency = 0, None, None
            while time.perf_counter() - returned < 30:
                attempts += 1
                latency, _, body = await client.send(f"change-{token}-{index}-{attempts}", question)
                first_latency = first_latency if first_latency is not None else latency
                if figure in " ".join(str(m.get("text", "")) for m in body):
                    first_right = time.perf_counter() - returned
                    break
            results.append({
                "figure_before": figure in " ".join(str(m.get("text", "")) for m in before[2]),
                "import_command_s": round(command_seconds, 2), "attempts": attempts,
                "visible_after_s": round(first_right, 3) if first_right is not None else None,
                "first_reply_latency_s": round(first_latency, 3) if first_latency is not None else None,
            })
    visible = [r["visible_after_s"] for r in results if r["visible_after_s"] is not None]
    return {
        "trials": results,
        "right_at_first_message": sum(r["attempts"] == 1 and r["visible_after_s"] is not None for r in results),
        "visible_after_s_median": round(statistics.median(visible), 3) if visible else None,
        "visible_after_s_max": round(max(visible), 3) if visible else None,
        "never_visible": len(results) - len(visible),
        "import_command_s_median": round(statistics.median(r["import_command_s"] for r in results), 2),
    }


# ---------------------------------------------------------------- load without loss

async def run_load(client: Client, rasa_url: str, script: list[str], conversations: int, turns: int,
                   rate: float, session: aiohttp.ClientSession, api_token: str = "") -> dict:
    """Turn k of conversation i is due at (k × conversations + i) / rate; it waits for the reply to turn k−1.

    The trackers are read back through Rasa's HTTP API with its token (`api_token`).
    """
    token = uuid.uuid4().hex[:6]
    senders = [f"load-{token}-{i}" for i in range(conversations)]
    sent: dict[str, list[str]] = {s: [] for s in senders}
    failures = Counter()
    latencies: list[float] = []
    started = time.perf_counter()

    async def conversation(index: int) -> None:
        sender = senders[index]
        for turn in range(turns):
            due = started + (turn * conversations + index) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            text = script[(index * turns + turn) % len(script)]
            latency, ok, body = await client.send(sender, text)
            sent[sender].append(text)
            latencies.append(latency)
            if not ok:
                failures["error_or_empty_reply"] += 1

    await asyncio.gather(*(conversation(i) for i in range(conversations)))
    elapsed = time.perf_counter() - started

    missing = duplicated = out_of_order = unanswered = 0
    for sender in senders:
        async with session.get(f"{rasa_url}/conversations/{sender}/tracker",
                               params={"include_events": "ALL", "token": api_token}) as reply:
            events = (await reply.json())["events"]
        said = [e.get("text") for e in events if e.get("event") == "user"]
        # A user turn the bot answered: at least one bot event before the next user event.
        answered = []
        for position, event in enumerate(events):
            if event.get("event") == "user":
                rest = events[position + 1:]
                next_user = next((i for i, e in enumerate(rest) if e.get("event") == "user"), len(rest))
                answered.append(any(e.get("event") == "bot" for e in rest[:next_user]))
        expected = sent[sender]
        missing += sum(max(0, n - said.count(t)) for t, n in Counter(expected).items())
        duplicated += sum(max(0, said.count(t) - n) for t, n in Counter(expected).items())
        if said != expected and Counter(said) == Counter(expected):
            out_of_order += 1
        unanswered += answered.count(False)
    return {
        "conversations": conversations, "turns": turns, "rate": rate, "messages": len(latencies),
        "seconds": round(elapsed, 1), "errors": failures["error_or_empty_reply"],
        "missing_in_tracker": missing, "duplicated": duplicated, "conversations_out_of_order": out_of_order,
        "user_turns_without_bot_reply": unanswered, **percentiles(latencies),
    }


# ---------------------------------------------------------------- the run

def ratio(ours: float | None, bare: float | None) -> float | None:
    return round(ours / bare, 2) if ours and bare else None


async def bench(args: argparse.Namespace) -> dict:
    script = our_script()
    meta = {
        "run_at": dt.datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "seconds_per_window": args.seconds, "rounds": args.rounds, "levels": args.levels,
    }
    result: dict = {"run": meta}
    with ExitStack() as stack:
        assistant = stack.enter_context(started_assistant())
        need_bare = {"closed", "open"} & set(args.only)
        bare_url = stack.enter_context(started_baseline())[0] if need_bare else None
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:
            ours = Client(assistant.rasa_url, session, args.timeout)
            bots = {"ours": (ours, script)}
            if bare_url:
                bots["bare"] = (Client(bare_url, session, args.timeout), BASELINE_SCRIPT)
            for name, (client, lines) in bots.items():
                await warm_up(client, lines, f"warm-{name}")

            if "closed" in args.only:
                closed = await run_closed(bots, args.levels, args.rounds, args.seconds)
                result["closed_loop"] = closed
                saturation = {name: max(v["replies_per_second"] or 0 for v in per.values())
                              for name, per in closed.items()}
                first = str(args.levels[0])
                result["closed_loop_ratios"] = {
                    f"p50_at_{first}": ratio(closed["ours"][first]["p50_ms"], closed["bare"][first]["p50_ms"]),
                    "saturation_replies_per_second": saturation,
                    "saturation": ratio(saturation["ours"], saturation["bare"]),
                }
            if "open" in args.only:
                bare_saturation = (result.get("closed_loop_ratios", {}).get("saturation_replies_per_second", {})
                                   .get("bare")) or args.open_rate * 2
                rate = round(args.open_rate or bare_saturation / 2, 2)
                opened = {}
                for name in ("bare", "ours"):
                    client, lines = bots[name]
                    print(f"  open loop: {name} at {rate} messages/s…", file=sys.stderr, flush=True)
                    window = await open_window(client, lines, rate, args.open_seconds, f"open-{name}")
                    opened[name] = {"rate": rate, "messages": window["messages"], "errors": window["errors"],
                                    "send_lateness_max_ms": window["send_lateness_max_ms"],
                                    "seconds": round(window["seconds"], 1), **percentiles(window["latencies"])}
                result["open_loop"] = opened
            if "import" in args.only:
                print("  knowledge-base change: import → answer…", file=sys.stderr, flush=True)
                result["kb_change"] = await run_import(ours, assistant.kb_url, args.import_trials)
            if "load" in args.only:
                print(f"  load: {args.load_conversations} conversations × {args.load_turns} turns at "
                      f"{args.load_rate} messages/s…", file=sys.stderr, flush=True)
                result["load"] = await run_load(ours, assistant.rasa_url, script, args.load_conversations,
                                                args.load_turns, args.load_rate, session,
                                                api_token=assistant.settings.rasa_token)
        if "memory" in args.only:
            memory = {s.name: memory_mib(s.process.pid) for s in assistant.group.services}
            result["memory"] = memory
    meta["load_average_at_end"] = round(os.getloadavg()[0], 2)
    return result


# ---------------------------------------------------------------- report

def table(result: dict) -> str:
    lines = [f"Run {result['run']['run_at']} on {result['run']['machine']}; load average "
             f"{result['run']['load_average_at_start']} → {result['run'].get('load_average_at_end')}; "
             f"{result['run']['rounds']} alternating windows of {result['run']['seconds_per_window']} s per bot and level.", ""]
    closed = result.get("closed_loop")
    if closed:
        lines += ["| conversations | bare: p50 / p95 / p99 (ms) | bare: replies/s | ours: p50 / p95 / p99 (ms) "
                  "| ours: replies/s | p50 ours ÷ bare | replies/s ours ÷ bare |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for level in closed["ours"]:
            b, o = closed["bare"][level], closed["ours"][level]
            lines.append(f"| {level} | {b['p50_ms']} / {b['p95_ms']} / {b['p99_ms']} | {b['replies_per_second']} "
                         f"| {o['p50_ms']} / {o['p95_ms']} / {o['p99_ms']} | {o['replies_per_second']} "
                         f"| {ratio(o['p50_ms'], b['p50_ms'])} | {ratio(o['replies_per_second'], b['replies_per_second'])} |")
        r = result["closed_loop_ratios"]
        lines += ["", f"Saturation (best replies/s over the levels): bare {r['saturation_replies_per_second']['bare']}, "
                  f"ours {r['saturation_replies_per_second']['ours']}, ratio {r['saturation']} (target ≥ 0.8). "
                  f"p50 at one conversation, ours ÷ bare: {next(v for k, v in r.items() if k.startswith('p50'))} "
                  f"(target ≤ 1.2)."]
    opened = result.get("open_loop")
    if opened:
        lines += ["", "| open loop | rate (messages/s) | messages | errors | p50 / p95 / p99 (ms) |",
                  "| --- | --- | --- | --- | --- |"]
        for name, o in opened.items():
            lines.append(f"| {name} | {o['rate']} | {o['messages']} | {o['errors']} "
                         f"| {o['p50_ms']} / {o['p95_ms']} / {o['p99_ms']} |")
        lines.append("\nTarget: ours p95 ≤ 150 ms in the open-loop run.")
    memory = result.get("memory")
    if memory:
        lines += ["", "| server | resident now (MiB) | peak (MiB) |", "| --- | --- | --- |"]
        lines += [f"| {name} | {m['rss_mib']} | {m['peak_rss_mib']} |" for name, m in memory.items()]
    change = result.get("kb_change")
    if change:
        lines += ["", f"Knowledge-base change ({len(change['trials'])} imports): right at the first message after "
                  f"`huiqi kb import` returned in {change['right_at_first_message']} of {len(change['trials'])}; "
                  f"visible after {change['visible_after_s_median']} s median, {change['visible_after_s_max']} s max "
                  f"(counting that message's own reply time; target ≤ 1 s); the import command itself took "
                  f"{change['import_command_s_median']} s."]
    load = result.get("load")
    if load:
        lines += ["", f"Load without loss: {load['conversations']} conversations × {load['turns']} turns at "
                  f"{load['rate']} messages/s ({load['messages']} messages, {load['seconds']} s): errors "
                  f"{load['errors']}, missing {load['missing_in_tracker']}, duplicated {load['duplicated']}, "
                  f"out of order {load['conversations_out_of_order']}, turns without a bot reply "
                  f"{load['user_turns_without_bot_reply']}; latency p50 / p95 / p99 {load['p50_ms']} / "
                  f"{load['p95_ms']} / {load['p99_ms']} ms."]
    return "\n".join(lines)


def update_readme(text: str, marker: str = "serve-results") -> None:
    replace_block(marker, text)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--levels", nargs="+", type=int, default=[1, 5, 20, 50])
    parser.add_argument("--rounds", type=int, default=2, help="windows per bot and level (default: %(default)s)")
    parser.add_argument("--seconds", type=float, default=20, help="closed-loop window (default: %(default)s)")
    parser.add_argument("--open-seconds", type=float, default=30)
    parser.add_argument("--open-rate", type=float, default=None,
                        help="messages/s for the open loop (default: half the bare bot's saturation)")
    parser.add_argument("--import-trials", type=int, default=5)
    parser.add_argument("--load-conversations", type=int, default=200)
    parser.add_argument("--load-turns", type=int, default=10)
    parser.add_argument("--load-rate", type=float, default=8.0, help="messages/s (default: %(default)s)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per request")
    parser.add_argument("--quick", action="store_true", help="levels 1 and 20, 1 round of 10 s, small load")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--update-readme", action="store_true")
    args = parser.parse_args(argv)
    if args.quick:
        args.levels, args.rounds, args.seconds, args.open_seconds = [1, 20], 1, 10, 15
        args.import_trials, args.load_conversations, args.load_turns = 2, 20, 5
    if "open" in args.only and "closed" not in args.only and args.open_rate is None:
        parser.error("--open-rate is needed when the closed loop (which measures the bare bot's saturation) is not run")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    result = asyncio.run(bench(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    report = table(result)
    print(report)
    if args.update_readme:
        update_readme(report)
    print(f"\nResults written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
