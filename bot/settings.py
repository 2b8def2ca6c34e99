"""Typed settings from the environment. Defaults are for one developer machine."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from kb.store.db import database_url

if TYPE_CHECKING:
    from sqlalchemy.orm import sessionmaker

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a port number, not {raw!r}") from exc


@dataclass(frozen=True)
class Settings:
    """Where the servers listen and where models, caches, the tracker store and the knowledge base are."""

    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    model_dir: Path
    cache_dir: Path
    tracker_db: Path
    var_dir: Path
    db_url: str  # the knowledge base (`HUIQI_DB_URL`, else var/kb.sqlite3 in the project)

    @property
    def rasa_url(self) -> str:
        """The URL of Rasa's HTTP server."""
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        """The URL of the action server's webhook."""
        return f"http://{self.host}:{self.actions_port}/webhook"

    @property
    def web_url(self) -> str:
        """The URL of the web server: the consultation page, the admin pages and the API."""
        return f"http://{self.host}:{self.web_port}"

    def sessions(self) -> sessionmaker:
        """The knowledge base's one session factory in this process, its schema upgraded first."""
        from kb.store.schema import open_database  # Alembic is loaded only by the entry points that open the KB

        return open_database(self.db_url)

    @property
    def rasa_token(self) -> str:
        """Rasa's HTTP API token: `HUIQI_RASA_TOKEN`, else the one generated once into var/rasa_token."""
        return rasa_token(self.var_dir)


TOKEN_FILE = "rasa_token"


def rasa_token(var_dir: Path, environ: os._Environ | dict = os.environ) -> str:
    """The token every internal caller of Rasa's HTTP API sends; generated once (mode 0600) when unset.

    Never print it whole: `token_hint` shows enough to tell two tokens apart.
    """
    given = environ.get("HUIQI_RASA_TOKEN", "").strip()
    if given:
        return given
    path = var_dir / TOKEN_FILE
    if path.exists():
        saved = path.read_text(encoding="utf-8").strip()
        if saved:
            return saved
    var_dir.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    # Created readable by this user only, and never overwritten once written (two starts race safely).
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(token + "\n")
    return token


def token_hint(token: str) -> str:
    """The first four characters and the length: enough to tell tokens apart, never enough to use one."""
    return f"{token[:4]}…（{len(token)} 个字符）"


def load_settings() -> Settings:
    """Settings from the environment, with one developer machine's defaults."""
    var_dir = Path(os.environ.get("HUIQI_VAR_DIR", PROJECT_ROOT / "var"))
    cache_root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Settings(
        host=os.environ.get("HUIQI_HOST", "127.0.0.1"),
        rasa_port=_int("HUIQI_RASA_PORT", 5005),
        actions_port=_int("HUIQI_ACTIONS_PORT", 5055),
        web_port=_int("HUIQI_WEB_PORT", 8000),
        model_dir=Path(os.environ.get("HUIQI_MODEL_DIR", PROJECT_ROOT / "models")),
        cache_dir=Path(os.environ.get("HUIQI_CACHE_DIR", cache_root / "huiqi")),
        tracker_db=Path(os.environ.get("HUIQI_TRACKER_DB", var_dir / "tracker.sqlite3")),
        var_dir=var_dir,
        db_url=database_url(),
    )
