"""Starting, watching, restarting and stopping the assistant's server processes.

Each process gets its own process group so that stopping it also stops what it
spawned (Sanic workers, TensorFlow threads); nothing is left behind. `Supervisor`
restarts a server that exits, with backoff, while the others keep serving.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings
from bot.topology import endpoints_env, endpoints_file

VENV_BIN = Path(sys.executable).parent


@dataclass
class Service:
    """One server process: its command, health URL, environment and log."""

    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None
    # Sent as ?token= with the health check (Rasa's /status needs it); never part of health_url or a message.
    api_token: str | None = None

    def healthy(self) -> bool:
        """Whether the health URL answers 200 within 2 seconds."""
        url = self.health_url
        if self.api_token:
            url += ("&" if "?" in url else "?") + urllib.parse.urlencode({"token": self.api_token})
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 25) -> str:
        """The last `lines` lines of the service's log; empty when it has none."""
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ServiceError(RuntimeError):
    """A server that could not be started or stopped."""

    pass


class ServiceGroup:
    """Start services in order, wait until each answers its health URL, stop them all."""

    def __init__(self, services: list[Service], log_dir: Path) -> None:
        """Keep the services, in start order, and the directory their logs go to; nothing started yet."""
        self.services = services
        self.log_dir = log_dir

    def start(self, timeout: float = 360) -> None:
        """Start every service and wait until each is healthy; on failure or timeout stop them all and raise."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for service in self.services:
                self.spawn(service)
            deadline = time.monotonic() + timeout
            for service in self.services:
                while not service.healthy():
                    if service.process.poll() is not None:
                        raise ServiceError(f"{service.name} exited with code {service.process.returncode}:\n"
                                           f"{service.log_tail()}")
                    if time.monotonic() > deadline:
                        raise ServiceError(f"{service.name} did not answer {service.health_url} "
                                           f"within {timeout:.0f}s:\n{service.log_tail()}")
                    time.sleep(0.5)
        except BaseException:
            self.stop()
            raise

    def spawn(self, service: Service) -> None:
        """Start (or start again) one service, appending its output to log_dir/<name>.log."""
        service.log_path = self.log_dir / f"{service.name}.log"
        with service.log_path.open("ab") as log:
            service.process = subprocess.Popen(
                service.command, cwd=PROJECT_ROOT, env={**os.environ, **service.env},
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            )

    def first_exited(self) -> Service | None:
        """The first service whose process has exited, or None."""
        return next((s for s in self.services if s.process and s.process.poll() is not None), None)

    def stop(self, grace: float = 10) -> None:
        """Stop the running services' process groups: SIGTERM, then SIGKILL after `grace` seconds."""
        running = [s for s in self.services if s.process and s.process.poll() is None]
        for service in running:
            _signal_group(service.process, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for service in running:
            try:
                service.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(service.process, signal.SIGKILL)
                service.process.wait(5)
        for service in self.services:
            if service.process:
                # Sanic may leave workers in the group after the parent exits.
                _signal_group(service.process, signal.SIGKILL)

    def __enter__(self) -> ServiceGroup:
        """Start every service; the group, whose `__exit__` stops them."""
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        """Stop every service."""
        self.stop()


# The restart policy of `huiqi run` (README, "Restarts"): wait 1, 2, 4, 8, 16, then 30 s before each
# restart of a server that exited; more than MAX_EXITS exits of one server within EXIT_WINDOW seconds
# means it will not come back by itself, so everything stops and says why.
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)
MAX_EXITS = 5
EXIT_WINDOW = 300
# A server that has run this long without exiting starts again from the first delay.
STABLE_AFTER = 60


class GaveUp(ServiceError):
    """A server kept exiting; the message says which, how often and its last log lines."""


@dataclass
class _Watch:
    exits: deque = field(default_factory=deque)
    attempt: int = 0
    restart_at: float | None = None
    started_at: float = 0.0


class Supervisor:
    """Keep a started ServiceGroup serving: a server that exits is restarted with backoff.

    The others are left alone. Call `tick()` often (huiqi run does, twice a second); it raises GaveUp when a server
    exited more than `max_exits` times within `window` seconds.
    """

    def __init__(self, group: ServiceGroup, report: Callable[[str], None], *,
                 delays: tuple[float, ...] = RESTART_DELAYS, max_exits: int = MAX_EXITS,
                 window: float = EXIT_WINDOW, stable_after: float = STABLE_AFTER,
                 clock: Callable[[], float] = time.monotonic) -> None:
        """Watch the group's services, with the restart delays and the exit limit; no restart yet."""
        self.group = group
        self.report = report
        self.delays = delays
        self.max_exits = max_exits
        self.window = window
        self.stable_after = stable_after
        self.clock = clock
        now = clock()
        self.watches = {service.name: _Watch(started_at=now) for service in group.services}
        self.restarts = 0

    def tick(self) -> None:
        """Restart each exited server once its delay has passed; raise GaveUp when one exits too often."""
        now = self.clock()
        for service in self.group.services:
            watch = self.watches[service.name]
            if watch.restart_at is not None:
                if now >= watch.restart_at:
                    watch.restart_at = None
                    watch.started_at = now
                    self.group.spawn(service)
                    self.restarts += 1
                    self.report(f"{service.name} 已重新启动（第 {watch.attempt} 次尝试），日志见 {service.log_path}")
                continue
            code = service.process.poll() if service.process else None
            if code is None:
                if watch.attempt and now - watch.started_at >= self.stable_after:
                    watch.attempt = 0
                continue
            watch.exits.append(now)
            while watch.exits and now - watch.exits[0] > self.window:
                watch.exits.popleft()
            if len(watch.exits) > self.max_exits:
                raise GaveUp(f"{service.name} 在 {self.window / 60:g} 分钟内退出了 {len(watch.exits)} 次"
                             f"（最后一次退出码 {code}），不再重启，全部服务停止。最后的日志：\n{service.log_tail()}")
            delay = self.delays[min(watch.attempt, len(self.delays) - 1)]
            watch.attempt += 1
            watch.restart_at = now + delay
            _signal_group(service.process, signal.SIGKILL)  # whatever it left behind in its group
            self.report(f"{service.name} 意外退出（退出码 {code}），{delay:g} 秒后重新启动；其他服务照常运行")


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free on the host right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def rasa_env(settings: Settings, action_url: str | None = None,
             endpoints: Path | None = None, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Return the variables the endpoints file and credentials.yml refer to, with this machine's defaults."""
    settings.tracker_db.parent.mkdir(parents=True, exist_ok=True)
    return {
        "HUIQI_ACTION_ENDPOINT": action_url or settings.actions_url,
        "HUIQI_TRACKER_DB": str(settings.tracker_db),
        "HUIQI_DB_URL": settings.db_url,  # the DingTalk channel reads staff roles from the knowledge base
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
        "RASA_TELEMETRY_ENABLED": "false",
        # The scaled topology's PostgreSQL, Redis and RabbitMQ settings (see bot/topology.py).
        **endpoints_env(endpoints or endpoints_file(environ), environ),
        **dingtalk_env(environ),
    }


# credentials.yml names these and Rasa refuses to start on an unset ${VAR}. Defaults fill only what is
# unset; an empty secret switches the DingTalk channel off (every callback gets 503), never on.
DINGTALK_DEFAULTS = {
    "DINGTALK_APP_KEY": "",
    "DINGTALK_APP_SECRET": "",
    "DINGTALK_REPLY_HOSTS": "oapi.dingtalk.com,api.dingtalk.com",
}


def dingtalk_env(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The DingTalk variables credentials.yml needs that the environment does not set, with their defaults."""
    return {name: value for name, value in DINGTALK_DEFAULTS.items() if name not in environ}


def action_service(settings: Settings) -> Service:
    """The Rasa action server, with the knowledge base of `settings.db_url`."""
    return Service(
        name="actions",
        command=[str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(settings.actions_port)],
        health_url=f"http://{settings.host}:{settings.actions_port}/health",
        env={"SANIC_HOST": settings.host, "HUIQI_DB_URL": settings.db_url, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )


def rasa_service(settings: Settings, model: Path, action_url: str | None = None,
                 extra_env: Mapping[str, str] | None = None) -> Service:
    """Run Rasa with endpoints.yml, or the file `HUIQI_ENDPOINTS` names (in extra_env or the environment)."""
    environ = {**os.environ, **(extra_env or {})}
    endpoints = endpoints_file(environ)
    token = settings.rasa_token
    return Service(
        name="rasa",
        # bot.rasa_server runs `rasa run` with --auth-token (from HUIQI_RASA_TOKEN, set below).
        command=[
            str(VENV_BIN / "python"), "-m", "bot.rasa_server", "--model", str(model), "--enable-api",
            "--interface", settings.host, "--port", str(settings.rasa_port),
            "--credentials", "credentials.yml", "--endpoints", str(endpoints), "--cors", "*",
        ],
        # /status answers only once the model is loaded.
        health_url=f"http://{settings.host}:{settings.rasa_port}/status",
        api_token=token,
        env={**rasa_env(settings, action_url, endpoints, environ), "HUIQI_RASA_TOKEN": token, **(extra_env or {})},
    )


def web_service(settings: Settings) -> Service:
    """The web app (chat page, admin, API), with the knowledge base of `settings.db_url`."""
    return Service(
        name="web",
        command=[str(VENV_BIN / "python"), "-m", "bot.web", "--host", settings.host, "--port", str(settings.web_port)],
        health_url=f"http://{settings.host}:{settings.web_port}/health",
        # The token: /api/history reads a widget's own conversation from Rasa's API and checks its session key.
        env={"HUIQI_RASA_URL": settings.rasa_url, "HUIQI_RASA_TOKEN": settings.rasa_token,
             "HUIQI_DB_URL": settings.db_url, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )


# DingTalk Stream mode: the bridge runs with its own interpreter (`make dingtalk-stream` builds it).
DINGTALK_BRIDGE_PYTHON = PROJECT_ROOT / ".venv-dingtalk-stream" / "bin" / "python"


def dingtalk_stream_wanted(environ: Mapping[str, str] = os.environ) -> bool:
    """Whether `DINGTALK_MODE=stream` asks for the Stream-mode bridge."""
    return environ.get("DINGTALK_MODE", "http").strip().lower() == "stream"


def dingtalk_bridge_service(settings: Settings, environ: Mapping[str, str] = os.environ) -> Service:
    """The Stream mode bridge, forwarding to this Rasa server's DingTalk callback; raises if it cannot start."""
    if not DINGTALK_BRIDGE_PYTHON.exists():
        raise ServiceError("DINGTALK_MODE=stream needs the bridge's environment: run `make dingtalk-stream`")
    if not environ.get("DINGTALK_APP_KEY") or not environ.get("DINGTALK_APP_SECRET"):
        raise ServiceError("DINGTALK_MODE=stream needs DINGTALK_APP_KEY and DINGTALK_APP_SECRET in the environment")
    port = environ.get("HUIQI_DINGTALK_BRIDGE_PORT", "").strip() or "5006"
    return Service(
        name="dingtalk-stream",
        command=[str(DINGTALK_BRIDGE_PYTHON), str(PROJECT_ROOT / "bridge" / "dingtalk_stream" / "bridge.py"),
                 "--callback-url", f"{settings.rasa_url}/webhooks/dingtalk/webhook",
                 "--host", settings.host, "--health-port", port],
        health_url=f"http://{settings.host}:{port}/health",
    )
