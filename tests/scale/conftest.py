"""Real PostgreSQL, Redis and RabbitMQ on loopback, and clusters of Rasa servers over them.

Each test gets its own PostgreSQL databases, Redis key prefix and RabbitMQ queue,
created here and removed afterwards. A backend that does not answer is started
with the command this machine uses; one that still does not answer fails the
test (nothing is skipped).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis
import requests
from sqlalchemy import create_engine, text

from bot.services import Service, ServiceGroup, action_service, free_port, rasa_service
from bot.topology import nginx_command, write_nginx_conf
from kb.store.loader import seed_database
from tests.conversation.conftest import Chat, server_settings, trained_model, with_kb  # noqa: F401  (fixtures)

PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
REDIS_PORT = 6379
RABBITMQ_PORT = 5672
RABBITMQ_URL = f"amqp://guest:guest@127.0.0.1:{RABBITMQ_PORT}/"

START_COMMANDS = {
    "PostgreSQL": ("pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | sort -V | tail -1) main start",
                   PG["port"]),
    "Redis": ("mkdir -p /var/lib/redis /var/log/redis && redis-server --daemonize yes --bind 127.0.0.1 -::1 "
              "--port 6379 --save '' --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log",
              REDIS_PORT),
    "RabbitMQ": ("rabbitmq-server -detached", RABBITMQ_PORT),
}


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _ready(name: str) -> bool:
    if name == "PostgreSQL":
        return subprocess.run(["pg_isready", "-q", "-h", PG["host"], "-p", str(PG["port"])]).returncode == 0
    return _answers(RABBITMQ_PORT if name == "RabbitMQ" else REDIS_PORT)


@pytest.fixture(scope="session")
def backends() -> None:
    """PostgreSQL, Redis and RabbitMQ answering on loopback, started here if they were not."""
    for name, (command, _port) in START_COMMANDS.items():
        if _ready(name):
            continue
        subprocess.run(command, shell=True, check=False, capture_output=True, timeout=120)
        deadline = time.monotonic() + 90
        while not _ready(name):
            if time.monotonic() > deadline:
                pytest.fail(f"{name} does not answer on 127.0.0.1 and `{command}` did not start it")
            time.sleep(1)


def _unique(label: str) -> str:
    return f"huiqi_{label}_{uuid.uuid4().hex[:10]}"


def _admin_engine():
    return create_engine(f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/postgres",
                         isolation_level="AUTOCOMMIT", future=True)


@pytest.fixture
def pg_database(backends):
    """Make fresh PostgreSQL databases, all dropped after the test; returns (name, URL)."""
    admin = _admin_engine()
    created: list[str] = []

    def create(label: str) -> tuple[str, str]:
        name = _unique(label)
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return name, f"postgresql://{PG['user']}@{PG['host']}:{PG['port']}/{name}"

    yield create
    with admin.connect() as connection:
        for name in created:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_kb(pg_database) -> str:
    """Give the knowledge base migrated and loaded from the seed on its own PostgreSQL database."""
    _, url = pg_database("kb")
    seed_database(url)
    return url


@pytest.fixture
def redis_prefix(backends) -> str:
    """Give a Redis key prefix of this test's own (alphanumeric, as Rasa requires); its keys are deleted after."""
    prefix = f"huiqitest{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis(host="127.0.0.1", port=REDIS_PORT, db=1)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def broker_queue(backends) -> str:
    """Give a RabbitMQ queue of this test's own, deleted after (Rasa declares it durable and binds it)."""
    name = _unique("events")
    yield name
    asyncio.run(_delete_queue(name))


async def _delete_queue(name: str) -> None:
    import aio_pika

    connection = await aio_pika.connect(RABBITMQ_URL)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


@pytest.fixture
def scale_env(pg_database, redis_prefix, broker_queue) -> dict[str, str]:
    """Give what a Rasa server of the scaled topology reads: deploy/endpoints.scale.yml and this test's backends."""
    tracker_db, _ = pg_database("tracker")
    return {
        "HUIQI_ENDPOINTS": "deploy/endpoints.scale.yml",
        "HUIQI_TRACKER_PG_HOST": PG["host"],
        "HUIQI_TRACKER_PG_PORT": str(PG["port"]),
        "HUIQI_TRACKER_PG_DB": tracker_db,
        "HUIQI_TRACKER_PG_USER": PG["user"],
        "HUIQI_TRACKER_PG_PASSWORD": "",
        "HUIQI_REDIS_HOST": "127.0.0.1",
        "HUIQI_REDIS_PORT": str(REDIS_PORT),
        "HUIQI_REDIS_DB": "1",
        "HUIQI_REDIS_KEY_PREFIX": redis_prefix,
        "HUIQI_RABBITMQ_HOST": "127.0.0.1",
        "HUIQI_RABBITMQ_PORT": str(RABBITMQ_PORT),
        "HUIQI_RABBITMQ_USER": "guest",
        "HUIQI_RABBITMQ_PASSWORD": "guest",
        "HUIQI_RABBITMQ_QUEUE": broker_queue,
    }


class RoutedChat(Chat):
    """Talks through nginx, sending the sender id in X-Sender-Id as channels in front of nginx do."""

    last_upstream: str | None = None

    def send(self, sender: str, text: str) -> list[dict]:
        reply = requests.post(f"{self.settings.rasa_url}/webhooks/rest/webhook",
                              json={"sender": sender, "message": text},
                              headers={"X-Sender-Id": sender}, timeout=60)
        reply.raise_for_status()
        self.last_upstream = reply.headers.get("X-Huiqi-Upstream")
        return reply.json()


@dataclasses.dataclass
class Cluster:
    """N Rasa servers and one action server on shared backends, optionally behind nginx."""

    group: ServiceGroup
    servers: list[Chat]
    rasa_services: list[Service]
    front: RoutedChat | None = None

    def server_at(self, address: str) -> int:
        """Index of the Rasa server nginx named in X-Huiqi-Upstream (host:port)."""
        ports = [chat.settings.rasa_port for chat in self.servers]
        return ports.index(int(address.rsplit(":", 1)[1]))

    def kill(self, index: int) -> None:
        """SIGKILL a Rasa server and everything it spawned, as a crash would."""
        process = self.rasa_services[index].process
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def nginx_service(var_dir: Path, rasa_ports: list[int], action_ports: list[int]) -> tuple[Service, int, int]:
    """deploy/nginx.conf rendered for these ports and run in the foreground under a temp prefix."""
    listen, actions_listen = free_port(), free_port()
    prefix = var_dir / "nginx"
    conf = write_nginx_conf(prefix, listen=f"127.0.0.1:{listen}", actions_listen=f"127.0.0.1:{actions_listen}",
                            rasa_servers=[f"127.0.0.1:{p}" for p in rasa_ports],
                            action_servers=[f"127.0.0.1:{p}" for p in action_ports])
    service = Service(name="nginx", command=nginx_command(prefix, conf),
                      health_url=f"http://127.0.0.1:{listen}/nginx-health")
    return service, listen, actions_listen


@pytest.fixture
def make_cluster(trained_model, pg_kb, scale_env, tmp_path):  # noqa: F811
    """Start `rasa_count` Rasa servers (and nginx in front when asked) on this test's backends."""
    groups: list[ServiceGroup] = []

    def start(rasa_count: int, *, with_nginx: bool = False) -> Cluster:
        base = server_settings(tmp_path)
        actions = with_kb(action_service(base), pg_kb)
        settings = [dataclasses.replace(base, rasa_port=free_port()) for _ in range(rasa_count)]
        services: list[Service] = [actions]
        front = None
        if with_nginx:
            nginx, listen, _ = nginx_service(tmp_path, [s.rasa_port for s in settings], [base.actions_port])
            services.append(nginx)
            front = RoutedChat(dataclasses.replace(base, rasa_port=listen))
        rasa = []
        for index, one in enumerate(settings):
            service = rasa_service(one, trained_model, extra_env=scale_env)
            service.name = f"rasa-{index}"
            rasa.append(service)
        group = ServiceGroup(services + rasa, tmp_path / "log")
        groups.append(group)
        # Two Rasa servers load their models at once on a shared 2-core machine: be patient.
        group.start(timeout=420)
        return Cluster(group, [Chat(s) for s in settings], rasa, front)

    yield start
    for group in groups:
        group.stop()
