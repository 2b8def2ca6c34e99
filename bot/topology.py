"""The scaled topology: which endpoints file Rasa reads, and the nginx that routes senders.

One machine runs with `endpoints.yml` (SQLite tracker store, in-memory lock store,
no event broker). `HUIQI_ENDPOINTS=deploy/endpoints.scale.yml` switches Rasa to
PostgreSQL, Redis and RabbitMQ — Rasa's own components, chosen by configuration.
Rasa refuses a `${VAR}` that is not set, so the variables the chosen file names
are checked here first: plain settings get a default, secrets must be given.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from bot.settings import PROJECT_ROOT

DEFAULT_ENDPOINTS = "endpoints.yml"
NGINX_TEMPLATE = PROJECT_ROOT / "deploy" / "nginx.conf"

# Defaults for what is not secret; users and passwords have none (an empty value is allowed).
SCALE_DEFAULTS = {
    "HUIQI_TRACKER_PG_HOST": "127.0.0.1",
    "HUIQI_TRACKER_PG_PORT": "5432",
    "HUIQI_TRACKER_PG_DB": "huiqi_tracker",
    "HUIQI_TRACKER_PG_LOGIN_DB": "postgres",
    "HUIQI_REDIS_HOST": "127.0.0.1",
    "HUIQI_REDIS_PORT": "6379",
    "HUIQI_REDIS_DB": "1",
    "HUIQI_REDIS_PASSWORD": "",
    "HUIQI_REDIS_KEY_PREFIX": "huiqi",
    "HUIQI_RABBITMQ_HOST": "127.0.0.1",
    "HUIQI_RABBITMQ_PORT": "5672",
    "HUIQI_RABBITMQ_QUEUE": "huiqi_events",
}
# Filled in by bot.services for every endpoints file.
SUPPLIED_BY_SERVICES = {"HUIQI_ACTION_ENDPOINT", "HUIQI_TRACKER_DB"}

_VARIABLE = re.compile(r"\$\{([A-Z][A-Z0-9_]*)\}")


class TopologyError(SystemExit):
    """A missing endpoints file or variable; the message names it (never its value)."""


def endpoints_file(environ: Mapping[str, str] = os.environ) -> Path:
    """`HUIQI_ENDPOINTS` (relative to the project) or endpoints.yml."""
    raw = environ.get("HUIQI_ENDPOINTS", "").strip() or DEFAULT_ENDPOINTS
    path = Path(raw) if Path(raw).is_absolute() else PROJECT_ROOT / raw
    if not path.is_file():
        raise TopologyError(f"HUIQI_ENDPOINTS: no such endpoints file: {path}")
    return path


def endpoints_env(path: Path, environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """Defaults for the `${VAR}`s in an endpoints file that are not set; an error naming any secret not set."""
    needed = set(_VARIABLE.findall(path.read_text(encoding="utf-8"))) - SUPPLIED_BY_SERVICES
    missing = sorted(n for n in needed if n not in environ and n not in SCALE_DEFAULTS)
    if missing:
        raise TopologyError(f"{path.name} needs these environment variables set: {', '.join(missing)}")
    return {n: SCALE_DEFAULTS[n] for n in needed if n not in environ}


def render_nginx(*, listen: str, rasa_servers: Iterable[str], action_servers: Iterable[str],
                 actions_listen: str, prefix: Path, web_servers: Iterable[str] = (),
                 template: Path = NGINX_TEMPLATE) -> str:
    """deploy/nginx.conf with its `${HUIQI_…}` placeholders filled in (nginx's own `$vars` are left alone).

    Without `web_servers` the web app's routes answer 502 (a topology of Rasa servers only).
    """
    web = list(web_servers)
    values = {
        "HUIQI_NGINX_LISTEN": listen,
        "HUIQI_NGINX_ACTIONS_LISTEN": actions_listen,
        "HUIQI_NGINX_PREFIX": str(prefix),
        "HUIQI_RASA_SERVERS": _servers(rasa_servers),
        "HUIQI_ACTION_SERVERS": _servers(action_servers),
        "HUIQI_WEB_SERVERS": _servers(web) if web else "server 127.0.0.1:9 down;  # no web app in this topology",
    }

    def fill(match: re.Match) -> str:
        if match.group(1) not in values:
            raise TopologyError(f"{template}: unknown placeholder ${{{match.group(1)}}}")
        return values[match.group(1)]

    return _VARIABLE.sub(fill, template.read_text(encoding="utf-8"))


def _servers(addresses: Iterable[str]) -> str:
    # One failed connection takes a server out for 10s; the request goes on to the next one.
    lines = [f"server {address} max_fails=1 fail_timeout=10s;" for address in addresses]
    if not lines:
        raise TopologyError("nginx needs at least one upstream server")
    return "\n        ".join(lines)


def nginx_command(prefix: Path, conf: Path) -> list[str]:
    """Debian's nginx in the foreground with its files under `prefix` (no root paths, no daemon)."""
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return [nginx, "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"]


def write_nginx_conf(prefix: Path, *, listen: str, actions_listen: str, rasa_servers: Iterable[str],
                     action_servers: Iterable[str], web_servers: Iterable[str] = ()) -> Path:
    """Write an nginx configuration that routes by sender to several Rasa and action servers; return its path."""
    prefix.mkdir(parents=True, exist_ok=True)
    conf = prefix / "nginx.conf"
    conf.write_text(render_nginx(listen=listen, actions_listen=actions_listen, prefix=prefix,
                                 rasa_servers=rasa_servers, action_servers=action_servers,
                                 web_servers=web_servers), encoding="utf-8")
    return conf
