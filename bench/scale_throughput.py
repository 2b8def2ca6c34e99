"""Messages per second with one and with two Rasa servers in the scaled topology, on loopback.

Closed loop: `--clients` senders each send their next message as soon as the
previous reply arrives, through nginx (deploy/nginx.conf) to N Rasa servers and
N action servers over PostgreSQL (tracker store and knowledge base), Redis (lock
store) and RabbitMQ (event broker). Each run is bounded by `--messages` and
`--seconds`. Databases, key prefix and queue are the run's own and removed after.

    .venv/bin/python bench/scale_throughput.py --servers 1 2
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import redis
import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.services import Service, ServiceGroup, action_service, free_port, rasa_service  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402
from bot.topology import nginx_command, write_nginx_conf  # noqa: E402
from bot.training import ensure_model  # noqa: E402
from kb.store.db import close_all  # noqa: E402
from kb.store.loader import load_seed, read_seed, seed_files  # noqa: E402
from kb.store.schema import open_database  # noqa: E402

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
# A mix of what firms ask: two need the action server and the knowledge base, one does not.
MESSAGES = ["首台套奖励多少", "民营经济32条是什么", "你好"]


@dataclasses.dataclass
class Result:
    servers: int
    clients: int
    messages: int
    seconds: float
    errors: int
    latencies: list[float]

    @property
    def per_second(self) -> float:
        return self.messages / self.seconds

    def row(self) -> dict:
        ordered = sorted(self.latencies) or [0.0]
        return {"rasa_servers": self.servers, "action_servers": self.servers, "clients": self.clients,
                "messages": self.messages, "errors": self.errors, "seconds": round(self.seconds, 1),
                "messages_per_second": round(self.per_second, 2),
                "latency_p50_ms": round(statistics.median(ordered) * 1000),
                "latency_p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000)}


def closed_loop(url: str, clients: int, limit: int, seconds: float, label: str) -> tuple[int, int, float, list[float]]:
    lock = threading.Lock()
    state = {"sent": 0, "errors": 0}
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    def client(index: int) -> None:
        sender = f"bench-{label}-{index}"
        session = requests.Session()
        turn = 0
        while time.monotonic() < deadline:
            with lock:
                if state["sent"] >= limit:
                    return
                state["sent"] += 1
            started = time.monotonic()
            try:
                reply = session.post(url, json={"sender": sender, "message": MESSAGES[turn % len(MESSAGES)]},
                                     headers={"X-Sender-Id": sender}, timeout=60)
                ok = reply.status_code == 200 and reply.json()
            except requests.RequestException:
                ok = False
            with lock:
                if ok:
                    latencies.append(time.monotonic() - started)
                else:
                    state["errors"] += 1
            turn += 1

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), state["errors"], time.monotonic() - started, latencies


def run(servers: int, args, model: Path, kb_url: str, work: Path) -> Result:
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", future=True)
    tracker_db = f"huiqi_bench_tracker_{uuid.uuid4().hex[:8]}"
    prefix = f"huiqibench{uuid.uuid4().hex[:8]}"
    queue = f"huiqi_bench_events_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{tracker_db}"'))
    env = {
        "HUIQI_ENDPOINTS": "deploy/endpoints.scale.yml", "HUIQI_TRACKER_PG_DB": tracker_db,
        "HUIQI_TRACKER_PG_USER": "postgres", "HUIQI_TRACKER_PG_PASSWORD": "",
        "HUIQI_REDIS_KEY_PREFIX": prefix, "HUIQI_RABBITMQ_QUEUE": queue,
        "HUIQI_RABBITMQ_USER": "guest", "HUIQI_RABBITMQ_PASSWORD": "guest",
    }
    defaults = load_settings()
    var = work / f"servers-{servers}"
    base = Settings(host="127.0.0.1", rasa_port=0, actions_port=0, web_port=0, model_dir=defaults.model_dir,
                    cache_dir=defaults.cache_dir, tracker_db=var / "unused.sqlite3", var_dir=var, db_url=kb_url)
    listen, actions_listen = free_port(), free_port()
    action_ports = [free_port() for _ in range(servers)]
    rasa_ports = [free_port() for _ in range(servers)]
    services: list[Service] = []
    for index, port in enumerate(action_ports):
        service = action_service(dataclasses.replace(base, actions_port=port))
        service.name = f"actions-{index}"
        services.append(service)
    conf = write_nginx_conf(var / "nginx", listen=f"127.0.0.1:{listen}", actions_listen=f"127.0.0.1:{actions_listen}",
                            rasa_servers=[f"127.0.0.1:{p}" for p in rasa_ports],
                            action_servers=[f"127.0.0.1:{p}" for p in action_ports])
    services.append(Service("nginx", nginx_command(var / "nginx", conf), f"http://127.0.0.1:{listen}/nginx-health"))
    for index, port in enumerate(rasa_ports):
        service = rasa_service(dataclasses.replace(base, rasa_port=port), model,
                               action_url=f"http://127.0.0.1:{actions_listen}/webhook", extra_env=env)
        service.name = f"rasa-{index}"
        services.append(service)
    group = ServiceGroup(services, var / "log")
    try:
        print(f"starting {servers} Rasa server(s) and {servers} action server(s)…", flush=True)
        group.start(timeout=600)
        url = f"http://127.0.0.1:{listen}/webhooks/rest/webhook"
        # Warm every server (the first message builds TensorFlow's graphs), then measure.
        closed_loop(url, clients=args.clients, limit=args.clients * len(MESSAGES), seconds=120, label="warm")
        done, errors, seconds, latencies = closed_loop(url, args.clients, args.messages, args.seconds, "run")
        return Result(servers, args.clients, done, seconds, errors, latencies)
    finally:
        group.stop()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{tracker_db}" WITH (FORCE)'))
        admin.dispose()
        client = redis.Redis(host="127.0.0.1", port=6379, db=1)
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        asyncio.run(_delete_queue(queue))


async def _delete_queue(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect("amqp://guest:guest@127.0.0.1:5672/")
    async with connection:
        await (await connection.channel()).queue_delete(name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--servers", type=int, nargs="+", default=[1, 2], help="Rasa servers per run (default: 1 2)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent senders (default: 8)")
    parser.add_argument("--messages", type=int, default=300, help="messages per run at most (default: 300)")
    parser.add_argument("--seconds", type=float, default=90, help="seconds per run at most (default: 90)")
    parser.add_argument("--output", type=Path, default=Path(__file__).parent / "results" / "scale_throughput.json")
    args = parser.parse_args()

    model = ensure_model(load_settings(), quiet=True)
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT", future=True)
    kb_db = f"huiqi_bench_kb_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{kb_db}"'))
    kb_url = f"postgresql://postgres@127.0.0.1:5432/{kb_db}"
    rows = []
    try:
        with open_database(kb_url).begin() as session:
            load_seed(session, read_seed(seed_files()))
        close_all()
        with tempfile.TemporaryDirectory() as work:
            for servers in args.servers:
                row = run(servers, args, model, kb_url, Path(work)).row()
                print(json.dumps(row), flush=True)
                rows.append(row)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{kb_db}" WITH (FORCE)'))
        admin.dispose()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({"cpus": _cpus(), "runs": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"written: {args.output}")
    return 0


def _cpus() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    raise SystemExit(main())
