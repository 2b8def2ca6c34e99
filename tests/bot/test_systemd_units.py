"""deploy/systemd: one unit per server, restarted on failure, accepted by `systemd-analyze verify`."""

from __future__ import annotations

import configparser
import shutil
import subprocess

import pytest

from bot.settings import PROJECT_ROOT

UNITS = PROJECT_ROOT / "deploy" / "systemd"
INSTALL_ROOT = "/opt/huiqi"


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name, encoding="utf-8")
    return parser


def test_there_is_a_unit_for_each_server_and_each_restarts_on_failure_within_a_start_limit():
    names = sorted(p.name for p in UNITS.glob("*.service"))
    assert names == ["huiqi-actions.service", "huiqi-rasa.service", "huiqi-web.service"]
    for name in names:
        parsed = unit(name)
        assert parsed["Service"]["Restart"] == "on-failure", name
        assert (parsed["Unit"]["StartLimitIntervalSec"], parsed["Unit"]["StartLimitBurst"]) == ("300", "5"), name


def test_the_rasa_unit_starts_rasa_through_the_token_wrapper_and_never_names_a_token():
    exec_start = unit("huiqi-rasa.service")["Service"]["ExecStart"]
    assert exec_start.startswith(f"{INSTALL_ROOT}/.venv/bin/python -m bot.rasa_server ")
    for name in UNITS.glob("*.service"):
        assert "--auth-token" not in name.read_text() and "HUIQI_RASA_TOKEN=" not in name.read_text()


def test_systemd_analyze_verify_accepts_the_units(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed here")
    # The units name /opt/huiqi; verify checks that ExecStart exists, so point them at this checkout.
    for path in UNITS.glob("*.service"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8").replace(INSTALL_ROOT, str(PROJECT_ROOT)),
                                          encoding="utf-8")
    done = subprocess.run([analyze, "verify", "--man=no", *sorted(str(p) for p in tmp_path.glob("*.service"))],
                          capture_output=True, text=True, timeout=120)
    ours = [line for line in done.stderr.splitlines() if "huiqi-" in line]
    assert done.returncode == 0 and not ours, done.stderr
