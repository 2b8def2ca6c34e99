"""Starting, watching and stopping the assistant's server processes.

Each process gets its own process group so that stopping it also stops what it
spawned (Sanic workers, TensorFlow threads); nothing is left behind.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings
from bot.topology import endpoints_env, endpoints_file

VENV_BIN = Path(sys.executable).parent


@dataclass
class Service:
    name: str
    command: list[str]
    health_url: str
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    log_path: Path | None = None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as reply:
                return reply.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def log_tail(self, lines: int = 25) -> str:
        if not self.log_path or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


class ServiceError(RuntimeError):
    pass


class ServiceGroup:
    """Start services in order, wait until each answers its health URL, stop them all."""

    def __init__(self, services: list[Service], log_dir: Path) -> None:
        self.services = services
        self.log_dir = log_dir

    def start(self, timeout: float = 360) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        try:
            for service in self.services:
                service.log_path = self.log_dir / f"{service.name}.log"
                log = service.log_path.open("ab")
                service.process = subprocess.Popen(
                    service.command, cwd=PROJECT_ROOT, env={**os.environ, **service.env},
                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )
                log.close()
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

    def first_exited(self) -> Service | None:
        return next((s for s in self.services if s.process and s.process.poll() is not None), None)

    def stop(self, grace: float = 10) -> None:
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
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def free_port(host: str = "127.0.0.1") -> int:
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
    return {name: value for name, value in DINGTALK_DEFAULTS.items() if name not in environ}


def action_service(settings: Settings) -> Service:
    return Service(
        name="actions",
        command=[str(VENV_BIN / "rasa"), "run", "actions", "--actions", "actions", "--port", str(settings.actions_port)],
        health_url=f"http://{settings.host}:{settings.actions_port}/health",
        env={"SANIC_HOST": settings.host, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )


def rasa_service(settings: Settings, model: Path, action_url: str | None = None,
                 extra_env: Mapping[str, str] | None = None) -> Service:
    """Run Rasa with endpoints.yml, or the file `HUIQI_ENDPOINTS` names (in extra_env or the environment)."""
    environ = {**os.environ, **(extra_env or {})}
    endpoints = endpoints_file(environ)
    return Service(
        name="rasa",
        command=[
            str(VENV_BIN / "rasa"), "run", "--model", str(model), "--enable-api",
            "--interface", settings.host, "--port", str(settings.rasa_port),
            "--credentials", "credentials.yml", "--endpoints", str(endpoints), "--cors", "*",
        ],
        # /status answers only once the model is loaded.
        health_url=f"http://{settings.host}:{settings.rasa_port}/status",
        env={**rasa_env(settings, action_url, endpoints, environ), **(extra_env or {})},
    )


def web_service(settings: Settings) -> Service:
    return Service(
        name="web",
        command=[str(VENV_BIN / "python"), "-m", "bot.web", "--host", settings.host, "--port", str(settings.web_port)],
        health_url=f"http://{settings.host}:{settings.web_port}/health",
        env={"HUIQI_RASA_URL": settings.rasa_url, "SQLALCHEMY_SILENCE_UBER_WARNING": "1"},
    )


# DingTalk Stream mode: the bridge runs with its own interpreter (`make dingtalk-stream` builds it).
DINGTALK_BRIDGE_PYTHON = PROJECT_ROOT / ".venv-dingtalk-stream" / "bin" / "python"


def dingtalk_stream_wanted(environ: Mapping[str, str] = os.environ) -> bool:
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
