"""The supervisor of `huiqi run`: a server that exits is restarted with backoff, the others keep running.

One that keeps exiting stops everything with the reason. Real processes; short delays.
"""

from __future__ import annotations

import sys
import time

import pytest

from bot.services import RESTART_DELAYS, GaveUp, Service, ServiceGroup, Supervisor


def service(name: str, code: str) -> Service:
    return Service(name=name, command=[sys.executable, "-c", code], health_url="http://127.0.0.1:9/none")


def started(tmp_path, *services: Service) -> ServiceGroup:
    group = ServiceGroup(list(services), tmp_path / "log")
    group.log_dir.mkdir(parents=True, exist_ok=True)
    for one in services:
        group.spawn(one)
    return group


def run_until(supervisor: Supervisor, done, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "the supervisor did not get there in time"
        supervisor.tick()
        time.sleep(0.02)


def test_the_policy_is_1_2_4_8_16_then_30_seconds_and_more_than_5_exits_in_5_minutes_stop_it():
    from bot import services

    assert RESTART_DELAYS == (1, 2, 4, 8, 16, 30)
    assert (services.MAX_EXITS, services.EXIT_WINDOW) == (5, 300)


def test_a_server_that_exits_is_restarted_with_growing_delays_and_the_others_keep_running(tmp_path):
    steady = service("steady", "import time; time.sleep(60)")
    flaky = service("flaky", "import sys; print('crashing', flush=True); sys.exit(3)")
    group = started(tmp_path, steady, flaky)
    said: list[str] = []
    supervisor = Supervisor(group, said.append, delays=(0.05, 0.1, 0.2), max_exits=10, window=60)
    steady_pid = steady.process.pid
    try:
        run_until(supervisor, lambda: supervisor.restarts >= 3)
        assert steady.process.pid == steady_pid and steady.process.poll() is None
        exits = [line for line in said if "意外退出" in line]
        assert exits[:3] == [f"flaky 意外退出（退出码 3），{d:g} 秒后重新启动；其他服务照常运行" for d in (0.05, 0.1, 0.2)]
        assert any(line.startswith("flaky 已重新启动") for line in said)
        assert (tmp_path / "log" / "flaky.log").read_text().count("crashing") >= 3  # each start appends to the log
    finally:
        group.stop(grace=2)


def test_a_server_that_keeps_exiting_stops_the_supervisor_with_the_reason_and_its_log(tmp_path):
    flaky = service("rasa", "import sys; print('model file is corrupt', flush=True); sys.exit(1)")
    group = started(tmp_path, flaky)
    supervisor = Supervisor(group, lambda _: None, delays=(0.01,), max_exits=3, window=60)
    try:
        with pytest.raises(GaveUp) as gave_up:
            run_until(supervisor, lambda: False)
    finally:
        group.stop(grace=2)
    message = str(gave_up.value)
    assert message.startswith("rasa 在 1 分钟内退出了 4 次（最后一次退出码 1），不再重启")
    assert "model file is corrupt" in message


def test_a_server_that_stayed_up_starts_again_from_the_first_delay(tmp_path):
    now = [0.0]
    flaky = service("actions", "import time; time.sleep(60)")
    group = started(tmp_path, flaky)
    said: list[str] = []
    supervisor = Supervisor(group, said.append, delays=(1, 2, 4), stable_after=60, clock=lambda: now[0])
    try:
        for _ in range(2):  # two quick crashes: 1 s, then 2 s
            flaky.process.kill()
            flaky.process.wait()
            supervisor.tick()
            now[0] += 5
            supervisor.tick()
        now[0] += 61  # up for a minute
        supervisor.tick()
        flaky.process.kill()
        flaky.process.wait()
        supervisor.tick()
    finally:
        group.stop(grace=2)
    delays = [line.split("，")[1].split("；")[0] for line in said if "意外退出" in line]
    assert delays == ["1 秒后重新启动", "2 秒后重新启动", "1 秒后重新启动"]
