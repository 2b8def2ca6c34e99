"""Servers for the benchmarks: our assistant on a temporary KB, a bare `rasa init` bot, and their memory.

Both run from this project's venv (same Rasa, same machine). The bare bot is made once by `rasa init`
(which also trains it) under the cache directory and reused while the Rasa version stays the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from any directory
    sys.path.insert(0, str(ROOT))

from bot.services import VENV_BIN, Service, ServiceGroup, action_service, free_port, rasa_service, web_service  # noqa: E402
from bot.settings import Settings, load_settings  # noqa: E402


@dataclass
class Assistant:
    settings: Settings
    kb_url: str
    group: ServiceGroup
    model: Path

    @property
    def rasa_url(self) -> str:
        return self.settings.rasa_url


@contextmanager
def started_assistant(start_timeout: float = 600, *, web: bool = True, model: Path | None = None) -> Iterator[Assistant]:
    """Start the action server, Rasa server (and web app) on free loopback ports, on a temporary KB from kb/seed.

    The model is the project's current one (trained if stale) unless one is given.
    """
    from bot.training import ensure_model
    from kb.store.loader import seed_database

    defaults = load_settings()
    if model is None:
        print("Checking the model (training only if config, domain or data changed)…", file=sys.stderr, flush=True)
        model = ensure_model(defaults)
    with tempfile.TemporaryDirectory(prefix="huiqi-bench-") as tmp:
        var_dir = Path(tmp)
        kb_url = f"sqlite:///{var_dir / 'kb.sqlite3'}"
        seed_database(kb_url)
        settings = Settings(
            host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
            model_dir=defaults.model_dir, cache_dir=defaults.cache_dir,
            tracker_db=var_dir / "tracker.sqlite3", var_dir=var_dir, db_url=kb_url,
        )
        services = [action_service(settings), rasa_service(settings, model)]
        if web:
            services.append(web_service(settings))
        group = ServiceGroup(services, var_dir / "log")
        print(f"Starting servers with model {model.name} (Rasa on {settings.rasa_url})…", file=sys.stderr, flush=True)
        group.start(timeout=start_timeout)
        try:
            yield Assistant(settings, kb_url, group, model)
        finally:
            group.stop()


def baseline_dir() -> Path:
    import rasa

    return load_settings().cache_dir / f"baseline-rasa-{rasa.__version__}"


def ensure_baseline() -> Path:
    """The bare bot's project directory, made and trained by `rasa init --no-prompt` if not there yet."""
    directory = baseline_dir()
    if not any((directory / "models").glob("*.tar.gz")):
        shutil.rmtree(directory, ignore_errors=True)  # a half-made one from an interrupted run
        directory.mkdir(parents=True)
        print(f"Making the bare bot with `rasa init` in {directory} (trains it, about a minute)…",
              file=sys.stderr, flush=True)
        done = subprocess.run([str(VENV_BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(directory)],
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              env={**os.environ, "RASA_TELEMETRY_ENABLED": "false"})
        if done.returncode != 0:
            raise RuntimeError(f"rasa init failed:\n{(done.stdout + done.stderr)[-2000:]}")
    return directory


@contextmanager
def started_baseline(start_timeout: float = 600) -> Iterator[tuple[str, ServiceGroup]]:
    """Run the bare bot with its own config files (not ours, which the project directory would supply)."""
    directory = ensure_baseline()
    port = free_port()
    service = Service(
        name="baseline",
        command=[str(VENV_BIN / "rasa"), "run", "--model", str(directory / "models"), "--enable-api",
                 "--interface", "127.0.0.1", "--port", str(port),
                 "--credentials", str(directory / "credentials.yml"),
                 "--endpoints", str(directory / "endpoints.yml")],
        health_url=f"http://127.0.0.1:{port}/status",
        env={"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    with tempfile.TemporaryDirectory(prefix="huiqi-baseline-") as tmp:
        group = ServiceGroup([service], Path(tmp) / "log")
        print(f"Starting the bare bot on http://127.0.0.1:{port}…", file=sys.stderr, flush=True)
        group.start(timeout=start_timeout)
        try:
            yield f"http://127.0.0.1:{port}", group
        finally:
            group.stop()


# ---------------------------------------------------------------- memory

def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # The command name in field 2 may hold spaces and parentheses: split after the last ')'.
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        tree.setdefault(parent, []).append(int(entry.name))
    return tree


def _status_kib(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory_mib(pid: int) -> dict[str, float]:
    """Resident memory of a process and its descendants now, and the sum of their peaks (VmHWM), in MiB."""
    tree, stack, pids = _children(), [pid], []
    while stack:
        current = stack.pop()
        pids.append(current)
        stack.extend(tree.get(current, []))
    return {
        "rss_mib": round(sum(_status_kib(p, "VmRSS") for p in pids) / 1024, 1),
        "peak_rss_mib": round(sum(_status_kib(p, "VmHWM") for p in pids) / 1024, 1),
        "processes": len(pids),
    }
