"""The admin API and page on the real web app: tokens and roles, import, edit, history, rollback, export."""

from __future__ import annotations

import pytest
import requests

from bot.services import ServiceGroup, free_port, web_service
from bot.settings import Settings, load_settings
from kb.admin.tokens import create_token
from kb.store.db import make_engine, make_sessionmaker
from kb.store.loader import load_seed, read_seed, seed_files
from kb.store.schema import create_schema

NEW = """measures:
  - id: api-measure-1
    document: pe32-2023
    title: 海外仓建设补助
    summary: 新建公共海外仓给予一次性补助。
    benefits: [{what: 建设补助, amount: 50, unit: 万元}]
    sources: [https://example.org/api-1]
"""


class Admin:
    def __init__(self, url: str, tokens: dict[str, str]) -> None:
        self.url, self.tokens = url, tokens

    def call(self, method: str, path: str, role: str | None = "editor", **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return requests.request(method, f"{self.url}{path}", headers=headers, timeout=60, **kwargs)

    def export(self) -> bytes:
        return self.call("GET", "/api/admin/export?format=json", role="viewer").content


@pytest.fixture(scope="module")
def admin(tmp_path_factory):
    directory = tmp_path_factory.mktemp("admin-api")
    url = f"sqlite:///{directory / 'kb.sqlite3'}"
    engine = make_engine(url)
    create_schema(engine)
    with make_sessionmaker(engine).begin() as session:
        load_seed(session, read_seed(seed_files()))
        tokens = {"editor": create_token("编辑", "editor", session=session),
                  "viewer": create_token("访客", "viewer", session=session)}
    engine.dispose()
    defaults = load_settings()
    settings = Settings(host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
                        model_dir=defaults.model_dir, cache_dir=defaults.cache_dir,
                        tracker_db=directory / "tracker.sqlite3", var_dir=directory, db_url=url)
    service = web_service(settings)
    with ServiceGroup([service], directory / "log"):
        yield Admin(settings.web_url, tokens)


def test_the_openapi_description_lists_every_endpoint(admin):
    spec = admin.call("GET", "/api/admin/openapi.json", role=None).json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/admin/measures", "/api/admin/import", "/api/admin/rollback/{revision}", "/api/admin/export"} <= set(spec["paths"])


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer hq_wrong"}, {"Authorization": "Basic abc"}])
def test_a_call_without_a_valid_token_is_refused_with_401(admin, headers):
    reply = requests.get(f"{admin.url}/api/admin/measures", headers=headers, timeout=30)
    assert reply.status_code == 401 and reply.headers["WWW-Authenticate"] == "Bearer"


def test_a_viewer_token_reads_but_every_write_is_refused_with_403_and_changes_nothing(admin):
    before = admin.export()
    assert admin.call("GET", "/api/admin/measures?q=首台", role="viewer").status_code == 200
    files = {"file": ("new.yaml", NEW.encode())}
    assert admin.call("POST", "/api/admin/import", role="viewer", files=files).status_code == 403
    assert admin.call("PUT", "/api/admin/measures/api-measure-1", role="viewer", json={}).status_code == 403
    assert admin.call("POST", "/api/admin/rollback/1", role="viewer").status_code == 403
    assert admin.export() == before


def test_an_upload_is_previewed_then_applied_and_rolled_back_exactly(admin):
    before = admin.export()
    files = {"file": ("new.yaml", NEW.encode())}
    preview = admin.call("POST", "/api/admin/import?dry_run=1", files=files).json()
    assert preview["dry_run"] and preview["diff"]["measures"]["added"] == ["api-measure-1"]
    assert admin.export() == before
    history = admin.call("GET", "/api/admin/history", role="viewer").json()["revisions"]
    applied = admin.call("POST", "/api/admin/import", files={"file": ("new.yaml", NEW.encode())}).json()
    assert applied["revision"] and not applied["dry_run"]
    assert admin.call("GET", "/api/admin/measures/api-measure-1", role="viewer").json()["origin"] == "admin"
    newest = admin.call("GET", "/api/admin/history", role="viewer").json()["revisions"][0]
    assert newest["author"] == "api:编辑" and newest["added"] == ["api-measure-1"]

    rolled = admin.call("POST", f"/api/admin/rollback/{history[0]['id']}").json()
    assert rolled["revision"] > applied["revision"]
    assert admin.export() == before


def test_a_measure_edited_in_the_form_goes_through_the_import_path(admin):
    record = admin.call("GET", "/api/admin/measures?q=首台", role="viewer").json()["measures"][0]
    full = admin.call("GET", f"/api/admin/measures/{record['id']}", role="viewer").json()
    full["department"] = "省经信厅（测试）"
    reply = admin.call("PUT", f"/api/admin/measures/{record['id']}", json=full).json()
    changed = reply["diff"]["measures"]["changed"][record["id"]]
    assert list(changed) == ["department"] and changed["department"][1] == "省经信厅（测试）"
    assert admin.call("GET", f"/api/admin/measures/{record['id']}", role="viewer").json()["department"] == "省经信厅（测试）"


def test_a_bad_upload_gets_422_with_problems_by_sheet_row_and_column_and_changes_nothing(admin):
    before = admin.export()
    reply = admin.call("POST", "/api/admin/import", files={"file": ("bad.yaml", NEW.replace("amount: 50", "amount: 五十万元以内").encode())})
    assert reply.status_code == 422
    assert reply.json()["problems"] == ["bad.yaml, measures[0] (id=api-measure-1).benefits[0].amount: not a number: '五十万元以内'"]
    broken = admin.call("POST", "/api/admin/import", files={"file": ("policies.xlsx", b"PK\x03\x04 not really")})
    assert broken.status_code == 422 and "not a readable Excel workbook" in broken.json()["problems"][0]
    assert admin.export() == before


def test_exports_come_as_json_yaml_and_xlsx(admin):
    assert admin.call("GET", "/api/admin/export?format=yaml", role="viewer").text.startswith("documents:")
    xlsx = admin.call("GET", "/api/admin/export?format=xlsx", role="viewer")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_admin_page_is_served_in_chinese(admin):
    page = requests.get(f"{admin.url}/admin", timeout=30)
    assert page.status_code == 200 and "知识库管理" in page.text and "/api/admin" in page.text


def test_the_stale_list_names_closed_windows_and_superseded_editions_for_a_viewer(admin):
    reply = admin.call("GET", "/api/admin/stale?today=2026-12-02", role="viewer")
    assert reply.status_code == 200
    states = {m["id"]: m["state"] for m in reply.json()["measures"]}
    assert states["sjsl-2026-b2"] == "window_closed" and states["e84-2024-first-set"] == "superseded"
    assert admin.call("GET", "/api/admin/stale?today=someday", role="viewer").status_code == 400


def test_an_editor_sets_a_measures_channel_and_window_and_a_window_without_its_source_is_refused(admin):
    full = admin.call("GET", "/api/admin/measures/fc-dxgj", role="viewer").json()
    full["channel"] = {"name": "优质中小企业梯度培育平台", "url": "https://zjtx.miit.gov.cn/", "note": None}
    full["application_window"] = {"from": "2026-03-01", "until": "2026-04-30", "call": "测试批次",
                                  "source": "https://example.org/call", "note": None}
    reply = admin.call("PUT", "/api/admin/measures/fc-dxgj", json=full)
    assert reply.status_code == 200 and set(reply.json()["diff"]["measures"]["changed"]["fc-dxgj"]) == {
        "channel", "application_window"}
    full["application_window"] = {"until": "2026-05-31"}
    refused = admin.call("PUT", "/api/admin/measures/fc-dxgj", json=full)
    assert refused.status_code == 422 and "application_window.source: missing" in refused.json()["problems"][0]
