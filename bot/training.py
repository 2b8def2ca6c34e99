"""Train only when the model's inputs changed, and reuse models across clones.

A model is named by a fingerprint of everything that shapes it (config, domain,
training data, jieba dictionary, Rasa version). A model with that name in
`models/` or in the user cache (~/.cache/huiqi/models) is used as it is.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from bot.settings import PROJECT_ROOT, Settings

MODEL_INPUTS = ("config.yml", "domain.yml", "data", "jieba_dict")  # jieba_dict: `huiqi train` adds KB terms


def model_fingerprint(root: Path = PROJECT_ROOT) -> str:
    import rasa  # the version is part of what shapes a model

    digest = hashlib.sha256(f"rasa {rasa.__version__}\n".encode())
    for name in MODEL_INPUTS:
        path = root / name
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            digest.update(str(file.relative_to(root)).encode() + b"\0" + file.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def model_name(fingerprint: str) -> str:
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

    if not quiet:
        print("训练数据有变化，开始训练模型（约1分钟）…", flush=True)
    env = dict(os.environ)
    env.setdefault("RASA_CACHE_DIRECTORY", str(settings.cache_dir / "rasa-cache"))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    command = [
        str(Path(sys.executable).with_name("rasa")), "train",
        "--config", "config.yml", "--domain", "domain.yml", "--data", "data",
        "--out", str(settings.model_dir), "--fixed-model-name", name,
    ]
    subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL if quiet else None)
    cached.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(target, cached)
    return target
