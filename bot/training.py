"""Train only when the model's inputs changed, and reuse models across clones.

A model is named by a fingerprint of everything that shapes it (config, domain,
training data, jieba dictionary, Rasa version). A model with that name in
`models/` or in the user cache (~/.cache/huiqi/models) is used as it is.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings

MODEL_INPUTS = ("config.yml", "domain.yml", "data", "jieba_dict")  # jieba_dict: `huiqi train` adds KB terms


def model_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A hash of everything that shapes a model: Rasa's version, config, domain, data and dictionaries."""
    import rasa  # the version is part of what shapes a model

    digest = hashlib.sha256(f"rasa {rasa.__version__}\n".encode())
    for name in MODEL_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_name(fingerprint: str) -> str:
    """The model file's name for a fingerprint."""
    return f"huiqi-{fingerprint}"


def ensure_model(settings: Settings, *, force: bool = False, quiet: bool = False) -> Path:
    """Path of a model trained on the current inputs, training one only when needed."""
    name = model_name(model_fingerprint())
    target = settings.model_dir / f"{name}.tar.gz"
    cached = settings.cache_dir / "models" / f"{name}.tar.gz"
    settings.model_dir.mkdir(parents=True, exist_ok=True)
    if not force and target.exists():
        return target
    if not force and cached.exists():
        shutil.copy2(cached, target)
        if not quiet:
            print(f"模型未变，使用缓存：{cached}")
        return target

    log_path = settings.var_dir / "log" / "train.log"
    if not quiet:
        print(f"训练数据有变化，开始训练模型（约1分钟；完整输出见 {log_path}）…", flush=True)
    env = dict(os.environ)
    env.setdefault("RASA_CACHE_DIRECTORY", str(settings.cache_dir / "rasa-cache"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("RASA_TELEMETRY_ENABLED", "false")  # no telemetry, and no banner about it
    env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    command = [
        str(Path(sys.executable).with_name("rasa")), "train",
        "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
        "--out", str(settings.model_dir), "--fixed-model-name", name,
    ]
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("a", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors="replace")
        for line in without_warnings(_logged(process.stdout, log)):
            if not quiet:
                print(line, end="", flush=True)
        if process.wait():
            raise subprocess.CalledProcessError(process.returncode, command,
                                                output=f"训练失败，完整输出见 {log_path}")
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, cached)
    return target


def _logged(lines: Iterable[str], log) -> Iterator[str]:
    for line in lines:
        log.write(line)
        yield line


# "…/rasa/shared/utils/io.py:99: UserWarning: …" (often in colour) and what follows it up to the next log
# record: an indented source line, or a message that goes on over several lines.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_WARNING = re.compile(r"^\S.*?:\d+: \w*Warning\b|^\w*Warning: |^WARNING:(tensorflow|absl)|^\d{4}-\d\d-\d\d .*WARNING ")
_NOT_WARNING = re.compile(r"^\d{4}-\d\d-\d\d |^Traceback|^\w*(Error|Exception)\b")


def without_warnings(lines: Iterable[str]) -> Iterator[str]:
    """The lines of Rasa's output that are not warnings (they stay in var/log/train.log)."""
    in_warning = False
    for line in lines:
        plain = _ANSI.sub("", line)
        if _WARNING.match(plain):
            in_warning = True
            continue
        if in_warning and not _NOT_WARNING.match(plain):
            continue
        in_warning = False
        yield line
