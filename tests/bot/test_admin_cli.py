"""`huiqi kb import|export|template|rollback`, `huiqi admin token create` and the retraining helpers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from bot.admin_cli import reload_model, write_admin_terms
from kb.errors import KBError

PROJECT_ROOT = Path(__file__).resolve().parents[2]
NEW = """measures:
  - id: cli-measure-1
    document: pe32-2023
    title: 海外仓建设补助
    summary: 新建公共海外仓给予一次性补助。
    benefits: [{what: 建设补助, amount: 50, unit: 万元}]
    keywords: [海外仓测试词]
    sources: [https://example.org/cli-1]
"""


@pytest.fixture
def huiqi(tmp_path, db_url):
    env = {**os.environ, "HUIQI_DB_URL": db_url, "HUIQI_VAR_DIR": str(tmp_path / "var")}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(Path(sys.executable).with_name("huiqi")), *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)

    assert run("kb", "load").returncode == 0
    return run


def test_import_shows_the_diff_suggests_retraining_and_rollback_restores_the_export(huiqi, tmp_path):
    before = huiqi("kb", "export", "--format", "yaml").stdout
    (tmp_path / "new.yaml").write_text(NEW, encoding="utf-8")
    dry = huiqi("kb", "import", "new.yaml", "--dry-run")
    assert dry.returncode == 0 and "+ 措施 cli-measure-1" in dry.stdout and "建议重新训练" in dry.stdout
    assert huiqi("kb", "export", "--format", "yaml").stdout == before
    applied = huiqi("kb", "import", "new.yaml", "--author", "王芳")
    assert "已导入，修订 2" in applied.stdout
    assert "王芳" in huiqi("kb", "history").stdout
    assert huiqi("kb", "rollback", "1").returncode == 0
    assert huiqi("kb", "export", "--format", "yaml").stdout == before


def test_a_bad_excel_file_exits_2_naming_sheet_row_and_column_and_the_export_is_byte_identical(huiqi, tmp_path):
    import io

    from openpyxl import load_workbook

    from kb.admin.sheets import SHEETS

    assert huiqi("kb", "template", "policies.xlsx").returncode == 0
    book = load_workbook(tmp_path / "policies.xlsx")
    headers = [c.header for c in SHEETS["措施"]]
    row = {"编号": "x-1", "所属文件": "pe32-2023", "标题": "测试", "摘要": "测试", "补助上限": "五十万元以内",
           "来源网址": "https://example.org/x"}
    book["措施"].append([row.get(h) for h in headers])
    buffer = io.BytesIO()
    book.save(buffer)
    (tmp_path / "policies.xlsx").write_bytes(buffer.getvalue())
    before = huiqi("kb", "export", "--format", "json").stdout
    result = huiqi("kb", "import", "policies.xlsx")
    assert result.returncode == 2
    assert 'policies.xlsx, sheet 措施, row 2, column 补助上限: "五十万元以内" is not an amount' in result.stderr
    assert "知识库未改动" in result.stderr
    assert huiqi("kb", "export", "--format", "json").stdout == before


def test_a_token_is_printed_once_and_stored_only_as_a_hash(huiqi, sessions):
    result = huiqi("admin", "token", "create", "王芳", "--role", "viewer")
    token = result.stdout.strip().splitlines()[-1]
    from kb.admin.tokens import hash_token, token_holder
    from kb.store.models import AdminToken

    with sessions() as session:
        row = session.query(AdminToken).one()
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        assert token_holder(token, session=session).role == "viewer"


def test_train_writes_the_knowledge_bases_missing_terms_to_the_jieba_dictionary(tmp_path):
    (tmp_path / "policy_terms.txt").write_text("首台套 50000 nz\n", encoding="utf-8")
    export = {"documents": [{"short_name": "海外仓新政", "aliases": ["首台套"]}], "measures": [{"keywords": ["冷链物流"]}]}
    assert write_admin_terms(export, tmp_path) == ["冷链物流", "海外仓新政"]
    assert (tmp_path / "admin_terms.txt").read_text(encoding="utf-8") == "冷链物流 20000 nz\n海外仓新政 20000 nz\n"


def test_reload_asks_the_running_rasa_server_to_load_the_new_model(tmp_path):
    received = []

    class Rasa(BaseHTTPRequestHandler):
        def do_PUT(self):  # noqa: N802 (http.server's naming)
            received.append((self.path, json.loads(self.rfile.read(int(self.headers["Content-Length"])))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Rasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        model = tmp_path / "huiqi-new.tar.gz"
        reload_model(f"http://127.0.0.1:{server.server_port}", model, token="tok-en")
        assert received == [("/model?token=tok-en", {"model_file": str(model.resolve())})]
    finally:
        server.shutdown()
    with pytest.raises(KBError):
        reload_model(f"http://127.0.0.1:{server.server_port}", model, timeout=2)
