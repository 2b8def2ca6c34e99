"""政策找企业 on real servers: the web app's admin API and the `huiqi` CLI, with a fake DingTalk group robot.

Each site is a web app over a fresh knowledge base; the robot is a fake DingTalk on loopback.

An import of a measure with a rule lists the right firms (one eligible, one not, one undecided with its
missing fact); the robot receives one signed message with the counts and no firm facts; a robot host
outside DINGTALK_REPLY_HOSTS gets nothing, the import still succeeds and `huiqi kb matches --failed`
lists the push.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import textwrap
import time
from io import BytesIO
from pathlib import Path

import pytest
import requests
from openpyxl import load_workbook

from bot.services import ServiceGroup, free_port, web_service
from bot.settings import Settings, load_settings
from kb.admin.tokens import create_token
from kb.store.db import make_engine, make_sessionmaker
from kb.store.loader import load_seed, read_seed, seed_files
from kb.store.schema import create_schema
from tests.bot.fake_dingtalk import FakeDingTalk, dingtalk_sign
from tests.kb.test_firm_matches import credit_code, firms_yaml, measure_yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ROBOT_SECRET = "SEC-live-robot-secret"


class Site:
    """One web app over its own knowledge base, with an editor token and the firms it was given."""

    def __init__(self, url: str, kb_url: str, token: str, codes: dict[str, str], limit: int) -> None:
        self.url, self.kb_url, self.token, self.codes, self.limit = url, kb_url, token, codes, limit

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        return requests.request(method, f"{self.url}/api/admin{path}", timeout=60,
                                headers={"Authorization": f"Bearer {self.token}"}, **kwargs)

    def upload(self, name: str, text: str) -> requests.Response:
        return self.call("POST", "/import", files={"file": (name, textwrap.dedent(text).encode())})

    def huiqi(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).with_name("huiqi")), *args], cwd=PROJECT_ROOT,
                              env={**os.environ, "HUIQI_DB_URL": self.kb_url, **(env or {})},
                              capture_output=True, text=True, timeout=120)


def start_site(directory: Path, robot_env: dict[str, str]):
    kb_url = f"sqlite:///{directory / 'kb.sqlite3'}"
    engine = make_engine(kb_url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        load_seed(session, read_seed(seed_files()))
        token = create_token("测试编辑", "editor", session=session)
    engine.dispose()
    defaults = load_settings()
    settings = Settings(host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
                        model_dir=defaults.model_dir, cache_dir=defaults.cache_dir,
                        tracker_db=directory / "tracker.sqlite3", var_dir=directory, db_url=kb_url)
    service = web_service(settings)
    service.env.update(robot_env)
    group = ServiceGroup([service], directory / "log")
    group.start(timeout=120)
    rng = random.Random()
    site = Site(settings.web_url, kb_url, token, {n: credit_code(rng) for n in ("small", "big", "unsaid")},
                rng.randint(20, 200))
    assert site.upload("firms.yaml", firms_yaml(site.codes, site.limit)).status_code == 200
    return group, site


@pytest.fixture(scope="module")
def robot():
    with FakeDingTalk() as fake:
        yield fake


@pytest.fixture(scope="module")
def allowed(tmp_path_factory, robot):
    group, site = start_site(tmp_path_factory.mktemp("matches-allowed"), {
        "DINGTALK_STAFF_ROBOT_URL": robot.robot_webhook("live-token"), "DINGTALK_STAFF_ROBOT_SECRET": ROBOT_SECRET,
        "DINGTALK_REPLY_HOSTS": f"oapi.dingtalk.com,{robot.origin}"})
    try:
        yield site
    finally:
        group.stop()


@pytest.fixture(scope="module")
def refused(tmp_path_factory, robot):
    group, site = start_site(tmp_path_factory.mktemp("matches-refused"), {
        "DINGTALK_STAFF_ROBOT_URL": robot.robot_webhook("refused-token"),
        "DINGTALK_REPLY_HOSTS": "oapi.dingtalk.com,api.dingtalk.com"})
    try:
        yield site
    finally:
        group.stop()


def expected_lists(site: Site) -> dict:
    limit, codes = site.limit, site.codes
    return {"eligible": [{"credit_code": codes["small"], "name": f"测试小企业{limit}"}], "likely": [],
            "not_eligible": [{"credit_code": codes["big"], "name": f"测试大企业{limit}"}],
            "undecided": [{"credit_code": codes["unsaid"], "name": f"测试未填人数企业{limit}",
                           "missing": ["employees"], "missing_labels": ["员工人数"]}]}


def test_an_imported_measure_lists_its_firms_in_the_api_the_cli_and_excel(allowed, robot):
    robot.clear()
    imported = allowed.upload("m.yaml", measure_yaml("live-grant", allowed.limit))
    assert imported.status_code == 200, imported.text
    revision = imported.json()["revision"]
    assert imported.json()["matches"] == [{"measure_id": "live-grant", "revision": revision, "status": "done",
                                           "error": None, "firms": 3, "counts": {"eligible": 1, "likely": 0,
                                                                                  "not_eligible": 1, "unknown": 1}}]
    body = allowed.call("GET", "/measures/live-grant/matches").json()
    assert {k: body[k] for k in ("measure_id", "revision", "stored", "firms")} == {
        "measure_id": "live-grant", "revision": revision, "stored": True, "firms": 3}
    assert {k: body[k] for k in ("eligible", "likely", "not_eligible", "undecided")} == expected_lists(allowed)

    cli = allowed.huiqi("kb", "matches", "live-grant", "--format", "json")
    assert cli.returncode == 0, cli.stderr
    assert json.loads(cli.stdout) == body
    text = allowed.huiqi("kb", "matches", "live-grant").stdout
    assert f"测试未填人数企业{allowed.limit}  缺：员工人数" in text

    sheet = load_workbook(BytesIO(allowed.call("GET", "/measures/live-grant/matches?format=xlsx").content)).active
    assert [row[:3] for row in sheet.iter_rows(min_row=3, values_only=True)] == [
        ("符合", allowed.codes["small"], f"测试小企业{allowed.limit}"),
        ("待补充信息", allowed.codes["unsaid"], f"测试未填人数企业{allowed.limit}"),
        ("不符合", allowed.codes["big"], f"测试大企业{allowed.limit}")]
    assert allowed.call("GET", "/measures/no-such-measure/matches").status_code == 404


def test_the_robot_receives_one_signed_message_with_the_counts_and_no_firm_facts(allowed, robot):
    robot.clear()
    before = int(time.time() * 1000)
    assert allowed.upload("m2.yaml", measure_yaml("live-robot-grant", allowed.limit)).status_code == 200
    [body] = robot.wait_for(1, timeout=30)
    time.sleep(1.0)
    assert len(robot.bodies()) == 1  # one change of one measure: one message
    query = robot.query(0)
    assert query["access_token"] == "live-token"
    assert before <= int(query["timestamp"]) <= int(time.time() * 1000)
    assert query["sign"] == dingtalk_sign(query["timestamp"], ROBOT_SECRET)
    text = body["markdown"]["text"]
    assert "企业库 3 家：符合 1 家，很可能符合 0 家，待补充信息 1 家，不符合 1 家" in text
    assert "匹配 live-robot-grant" in text
    for fact in (str(allowed.limit - 3), str(allowed.limit + 40), "丽水市遂昌县", allowed.codes["small"]):
        assert fact not in text


def test_an_edit_of_the_rule_in_the_api_matches_again(allowed, robot):
    assert allowed.upload("m3.yaml", measure_yaml("live-edit-grant", allowed.limit)).status_code == 200
    record = allowed.call("GET", "/measures/live-edit-grant").json()
    record["rule"] = {"all": [{"field": "employees", "op": "le", "value": allowed.limit + 100}]}
    robot.clear()
    edited = allowed.call("PUT", "/measures/live-edit-grant", json=record)
    assert edited.status_code == 200, edited.text
    assert edited.json()["matches"][0]["counts"]["eligible"] == 2
    assert "符合 2 家" in robot.wait_for(1, timeout=30)[0]["markdown"]["text"]
    assert allowed.call("GET", "/measures/live-edit-grant/matches").json()["revision"] == edited.json()["revision"]


def test_a_refused_robot_host_gets_nothing_and_the_import_still_succeeds(refused, robot):
    robot.clear()
    imported = refused.upload("m.yaml", measure_yaml("live-refused-grant", refused.limit))
    assert imported.status_code == 200 and imported.json()["revision"]
    assert refused.call("GET", "/measures/live-refused-grant/matches").json()["undecided"] == \
        expected_lists(refused)["undecided"]
    time.sleep(2.0)
    assert robot.bodies() == []
    failed = refused.huiqi("kb", "matches", "--failed", "--format", "json")
    assert failed.returncode == 0, failed.stderr
    [failure] = json.loads(failed.stdout)["failed"]
    assert failure["what"] == "push" and failure["measure_id"] == "live-refused-grant"
    assert "is not in DINGTALK_REPLY_HOSTS" in failure["error"]


def test_a_cli_import_with_a_refused_robot_succeeds_and_says_the_counts(refused, robot, tmp_path):
    robot.clear()
    path = tmp_path / "cli.yaml"
    path.write_text(textwrap.dedent(measure_yaml("live-cli-grant", refused.limit)), encoding="utf-8")
    result = refused.huiqi("kb", "import", str(path), "--author", "王芳",
                           env={"DINGTALK_STAFF_ROBOT_URL": robot.robot_webhook("cli-token"),
                                "DINGTALK_REPLY_HOSTS": "oapi.dingtalk.com"})
    assert result.returncode == 0, result.stderr
    assert "匹配企业 live-cli-grant：企业库 3 家，符合 1，很可能符合 0，待补充信息 1，不符合 1" in result.stdout
    assert robot.bodies() == []
    text = refused.huiqi("kb", "matches", "--failed").stdout
    assert "live-cli-grant  推送失败" in text


def test_what_a_firm_types_in_the_public_api_never_enters_the_registry_or_the_matches(allowed):
    firms_before = allowed.call("GET", "/status").json()["firms"]
    matched_before = allowed.call("GET", "/measures/live-grant/matches").json()
    reply = requests.post(f"{allowed.url}/api/eligibility", timeout=60, json={
        "text": f"我们是丽水遂昌的民营企业，{allowed.limit - 5}个人，营收6800万"})
    assert reply.status_code == 200, reply.text
    assert allowed.call("GET", "/status").json()["firms"] == firms_before == 3
    assert allowed.call("GET", "/measures/live-grant/matches").json() == matched_before
