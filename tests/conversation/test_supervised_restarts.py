"""`huiqi run` keeps serving: a killed server is restarted while the others answer.

Runs `huiqi run` itself (as `make run` does) on free loopback ports and a temporary var/ and
knowledge base, kills its action server and then its Rasa server as a crash would (SIGKILL to
the process group), and talks to it through the REST channel meanwhile.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml

from bot.services import free_port
from bot.settings import PROJECT_ROOT, rasa_token

pytestmark = pytest.mark.conversation

QUESTION = "首台套奖励多少"
ANSWER = "200万元"


class Run:
    """One `huiqi run` in its own process group, its stdout and stderr collected as they come."""

    def __init__(self, var_dir: Path, kb_url: str) -> None:
        self.var_dir = var_dir
        self.ports = {"HUIQI_RASA_PORT": free_port(), "HUIQI_ACTIONS_PORT": free_port(), "HUIQI_WEB_PORT": free_port()}
        env = {**os.environ, **{k: str(v) for k, v in self.ports.items()}, "HUIQI_HOST": "127.0.0.1",
               "HUIQI_VAR_DIR": str(var_dir), "HUIQI_DB_URL": kb_url, "PYTHONUNBUFFERED": "1"}
        env.pop("HUIQI_RASA_TOKEN", None)  # generated into var/ as on a fresh machine
        env.pop("HUIQI_TRACKER_DB", None)
        self.process = subprocess.Popen([str(Path(sys.executable).with_name("huiqi")), "run"], cwd=PROJECT_ROOT,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                        start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=lambda s=stream, out=lines: out.extend(iter(s.readline, "")), daemon=True).start()

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['HUIQI_RASA_PORT']}"

    def wait_started(self, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while not any("惠企政策助手已启动" in line for line in self.stdout):
            assert self.process.poll() is None, "".join(self.stdout + self.stderr)[-3000:]
            assert time.monotonic() < deadline, "huiqi run did not start in time"
            time.sleep(0.5)

    def texts(self, sender: str, text: str, timeout: float = 60) -> list[str]:
        reply = requests.post(f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text},
                              timeout=timeout)
        reply.raise_for_status()
        return [m.get("text", "") for m in reply.json()]

    def said(self, sender: str) -> list[str]:
        reply = requests.get(f"{self.rasa_url}/conversations/{sender}/tracker",
                             params={"token": rasa_token(self.var_dir, {})}, timeout=30)
        reply.raise_for_status()
        return [e["text"] for e in reply.json()["events"] if e["event"] == "user"]

    def kill(self, *needles: str) -> None:
        """SIGKILL the process group of the server whose command line holds every needle."""
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            text = b" ".join(args).decode(errors="replace")
            if all(n in text for n in needles) and "pytest" not in text:
                pid = int(cmdline.parent.name)
                if os.getpgid(pid) != os.getpgid(self.process.pid):
                    os.killpg(os.getpgid(pid), signal.SIGKILL)
                    return
        raise AssertionError(f"no process with {needles}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


def wait_for(check, seconds: float, step: float = 1.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            result = check()
            if result:
                return result
        except (requests.RequestException, AssertionError):
            pass
        assert time.monotonic() < deadline, f"not within {seconds} s"
        time.sleep(step)


@pytest.fixture(scope="module")
def running(trained_model, conversation_kb, tmp_path_factory):  # trained_model: `huiqi run` finds it in models/
    run = Run(tmp_path_factory.mktemp("huiqi-run"), conversation_kb)
    try:
        run.wait_started()
        yield run
    finally:
        run.stop()


def apology() -> str:
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_service_unavailable"][0]["text"]


def test_a_killed_action_server_gives_a_polite_reply_at_once_and_real_answers_again_within_60_s(running):
    assert ANSWER in " ".join(running.texts("firm-crash", QUESTION))
    running.kill("run actions", f"--port {running.ports['HUIQI_ACTIONS_PORT']}")
    killed = time.monotonic()
    assert running.texts("firm-crash", QUESTION, timeout=5) == [apology()]
    assert time.monotonic() - killed < 5
    wait_for(lambda: ANSWER in " ".join(running.texts("firm-crash", QUESTION)), 60 - (time.monotonic() - killed))
    # The conversation is intact: every turn, before, during and after, in order.
    said = running.said("firm-crash")
    assert said[:2] == [QUESTION, QUESTION] and said == [QUESTION] * len(said)
    log = "".join(running.stderr)
    assert "actions 意外退出" in log and "actions 已重新启动" in log
    assert "actions 意外退出" in (running.var_dir / "log" / "supervisor.log").read_text(encoding="utf-8")


def test_a_killed_rasa_server_is_back_within_90_s_with_its_conversations(running):
    running.texts("firm-rasa-crash", "你好")
    running.kill("bot.rasa_server", f"--port {running.ports['HUIQI_RASA_PORT']}")
    killed = time.monotonic()
    wait_for(lambda: running.texts("firm-rasa-crash", "谢谢", timeout=10), 90, step=2)
    assert time.monotonic() - killed < 90
    assert running.said("firm-rasa-crash")[0] == "你好"
    assert "rasa 已重新启动" in "".join(running.stderr)
    # The web app kept serving meanwhile and the run is still up.
    assert running.process.poll() is None
    assert requests.get(f"http://127.0.0.1:{running.ports['HUIQI_WEB_PORT']}/health", timeout=10).status_code == 200


def test_huiqi_run_names_the_token_file_but_never_prints_the_token(running):
    token = rasa_token(running.var_dir, {})
    printed = "".join(running.stdout + running.stderr)
    assert f"{token[:4]}…（{len(token)} 个字符）" in printed and str(running.var_dir / "rasa_token") in printed
    assert token not in printed
    assert token not in "".join(p.read_text(errors="replace") for p in (running.var_dir / "log").glob("*.log"))
