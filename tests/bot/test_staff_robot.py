"""The staff group robot: one signed markdown message per matched measure, at a fake DingTalk on loopback.

Only names and counts leave; a refused host, a refusal or a timeout is logged and stored, never retried, and
the import has returned long before.
"""

from __future__ import annotations

import random
import time
import urllib.parse

import pytest

from bot import staff_robot
from kb.eligibility import matches
from kb.eligibility.matches import RunSummary
from tests.bot.fake_dingtalk import FakeDingTalk, dingtalk_sign
from tests.kb.test_firm_matches import credit_code, do_import, firms_yaml, measure_yaml

ROBOT_SECRET = "SEC-robot-test-secret"


@pytest.fixture
def fake():
    with FakeDingTalk() as server:
        yield server


@pytest.fixture
def registry(seeded, tmp_path):
    """Three fresh firms around a fresh threshold, already imported."""
    rng = random.Random()
    codes = {name: credit_code(rng) for name in ("small", "big", "unsaid")}
    limit = rng.randint(20, 200)
    do_import(seeded, tmp_path, "firms.yaml", firms_yaml(codes, limit))
    return seeded, codes, limit


@pytest.fixture
def installed():
    robots = []

    def install(environ):
        robot = staff_robot.install(environ)
        robots.append(robot)
        return robot

    yield install
    staff_robot.install({})  # no URL: the listener is removed again
    for robot in robots:
        if robot:
            robot.wait()


def test_the_signed_url_carries_dingtalks_timestamp_and_url_encoded_sign():
    robot = staff_robot.StaffRobot("https://oapi.dingtalk.com/robot/send?access_token=abc", ROBOT_SECRET, [])
    url = robot.signed_url(now_ms=1577262236757)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    assert query == {"access_token": ["abc"], "timestamp": ["1577262236757"],
                     "sign": [dingtalk_sign("1577262236757", ROBOT_SECRET)]}
    assert urllib.parse.quote_plus(dingtalk_sign("1577262236757", ROBOT_SECRET)) in url  # base64's + / = encoded
    assert staff_robot.StaffRobot("https://oapi.dingtalk.com/robot/send?access_token=abc", "", []).signed_url() == \
        "https://oapi.dingtalk.com/robot/send?access_token=abc"


def test_an_import_sends_one_signed_message_with_the_counts_and_no_firm_facts(registry, tmp_path, fake, installed):
    sessions, codes, limit = registry
    robot = installed({"DINGTALK_STAFF_ROBOT_URL": fake.robot_webhook("team-token"),
                       "DINGTALK_STAFF_ROBOT_SECRET": ROBOT_SECRET, "DINGTALK_REPLY_HOSTS": fake.origin})
    before = int(time.time() * 1000)
    result = do_import(sessions, tmp_path, "m.yaml", measure_yaml("test-robot-grant", limit))
    robot.wait()
    [body] = fake.bodies()
    query = fake.query(0)
    assert query["access_token"] == "team-token"
    assert before <= int(query["timestamp"]) <= int(time.time() * 1000)
    assert query["sign"] == dingtalk_sign(query["timestamp"], ROBOT_SECRET)
    assert body["msgtype"] == "markdown" and body["markdown"]["title"] == "新政策匹配：测试用小微企业补助"
    text = body["markdown"]["text"]
    assert "企业库 3 家：符合 1 家，很可能符合 0 家，待补充信息 1 家，不符合 1 家" in text
    assert "测试补助：30万元" in text and "“匹配 test-robot-grant”" in text
    assert f"测试小企业{limit}" in text  # a name, with the counts
    for fact in (str(limit - 3), str(limit + 40), "丽水市遂昌县", "员工", codes["small"]):
        assert fact not in text
    with sessions() as session:
        assert matches.failed_runs(session=session) == []
        run = session.get(matches.MatchRun, result.matches[0].run_id)
        assert (run.push, run.push_error) == ("sent", None)


def test_a_host_outside_the_reply_allowlist_gets_nothing_and_the_import_still_succeeds(registry, tmp_path, fake,
                                                                                     installed):
    sessions, _, limit = registry
    robot = installed({"DINGTALK_STAFF_ROBOT_URL": fake.robot_webhook(),
                       "DINGTALK_REPLY_HOSTS": "oapi.dingtalk.com"})
    result = do_import(sessions, tmp_path, "m.yaml", measure_yaml("test-robot-refused", limit))
    robot.wait()
    assert result.revision_id is not None and result.matches[0].counts["eligible"] == 1
    assert fake.bodies() == []
    with sessions() as session:
        [failure] = matches.failed_runs(session=session)
    assert failure["what"] == "push" and failure["measure_id"] == "test-robot-refused"
    assert f"127.0.0.1:{fake.port} is not in DINGTALK_REPLY_HOSTS" in failure["error"]
    assert "robot-token" not in failure["error"]


def test_a_refusal_by_dingtalk_is_stored_and_not_retried(registry, tmp_path, fake, installed):
    sessions, _, limit = registry
    fake.answer = {"errcode": 310000, "errmsg": "sign not match"}
    robot = installed({"DINGTALK_STAFF_ROBOT_URL": fake.robot_webhook(), "DINGTALK_STAFF_ROBOT_SECRET": "wrong",
                       "DINGTALK_REPLY_HOSTS": fake.origin})
    do_import(sessions, tmp_path, "m.yaml", measure_yaml("test-robot-sign", limit))
    robot.wait()
    assert len(fake.bodies()) == 1
    with sessions() as session:
        [failure] = matches.failed_runs(session=session)
    assert "errcode 310000, sign not match" in failure["error"]


def test_a_slow_robot_never_holds_up_the_import(registry, tmp_path, fake, installed, monkeypatch):
    sessions, _, limit = registry
    monkeypatch.setattr(staff_robot, "TIMEOUT_SECONDS", 0.5)
    fake.delay = 3
    robot = installed({"DINGTALK_STAFF_ROBOT_URL": fake.robot_webhook(), "DINGTALK_REPLY_HOSTS": fake.origin})
    started = time.monotonic()
    do_import(sessions, tmp_path, "m.yaml", measure_yaml("test-robot-slow", limit))
    assert time.monotonic() - started < 2.5
    robot.wait()
    with sessions() as session:
        [failure] = matches.failed_runs(session=session)
    assert "unreachable" in failure["error"] and "timed out" in failure["error"]


def summary(n: int) -> RunSummary:
    return RunSummary(n, 7, f"m-{n}", f"措施{n}", "测试文件", "补助", "未写明", "done", None, 5,
                      {"eligible": 1, "likely": 0, "not_eligible": 3, "unknown": 1})


def test_a_change_of_many_measures_sends_ten_messages_and_one_digest():
    sent = staff_robot.messages([summary(n) for n in range(1, 14)])
    assert [ids for ids, _ in sent] == [[n] for n in range(1, 11)] + [[11, 12, 13]]
    assert "另有 3 条措施" in sent[-1][1]["markdown"]["text"]
