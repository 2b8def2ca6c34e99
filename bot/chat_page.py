"""The firm-facing chat page (`/`) and the embeddable widget's script (`/widget/…`).

The widget is built from `widget/src` into `widget/dist` by `make install`;
nothing built is committed. The page tells the widget where Rasa's socket.io
channel is: `HUIQI_RASA_PUBLIC_URL` when browsers reach Rasa at another address
than this app does (a proxy), else `HUIQI_RASA_URL`.
"""

from __future__ import annotations

import os
from html import escape
from pathlib import Path

from sanic import Blueprint, response
from sanic.request import Request

from bot.settings import PROJECT_ROOT

WIDGET_DIST = PROJECT_ROOT / "widget" / "dist"
WIDGET_SCRIPT = "huiqi-widget.js"
DEFAULT_RASA_URL = "http://127.0.0.1:5005"

TITLE = "惠企政策助手"
INTRO = "我能回答浙江“8+4”经济政策、民营经济32条和“双尖双领”研发攻关计划：补助数字、申报条件、主管部门和政策出处。"
EXAMPLES = ("双尖双领怎么申报", "首台套奖励多少", "民营经济32条是什么", "小型微利企业标准")

CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".map": "application/json"}

PAGE = """<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="description" content="{intro}">
<title>{title}</title>
<style>
  html, body {{ margin: 0; height: 100%; }}
  body {{
    font-family: system-ui, -apple-system, "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei",
                 "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif;
    background: linear-gradient(180deg, #e9f0fb 0%, #f6f8fc 60%);
    color: #1d2433;
  }}
  .page {{ box-sizing: border-box; height: 100%; max-width: 860px; margin: 0 auto; padding: 24px 20px;
           display: flex; flex-direction: column; }}
  #chat {{ flex: 1; min-height: 0; }}
  .note {{ margin: 10px 0 0; font-size: 12px; color: #6b7486; text-align: center; }}
  /* On a phone the chat is the page. */
  @media (max-width: 600px) {{
    .page {{ padding: 0; height: 100vh; height: 100dvh; }}
    .note {{ display: none; }}
  }}
</style>
</head>
<body>
<main class="page">
  <div id="chat"><noscript>{title}需要启用 JavaScript。</noscript></div>
  <p class="note">回答依据已公开的政策文件整理，办理前请以主管部门发布的正式通知为准。</p>
</main>
<script src="/widget/{script}" defer
        data-server-url="{server_url}" data-history-url="/api/history" data-target="#chat" data-title="{title}"
        data-intro="{intro}" data-examples="{examples}"></script>
</body>
</html>
"""


def rasa_public_url() -> str:
    """The Rasa server's URL as the browser reaches it (`HUIQI_RASA_PUBLIC_URL`, else `HUIQI_RASA_URL`)."""
    return (os.environ.get("HUIQI_RASA_PUBLIC_URL") or os.environ.get("HUIQI_RASA_URL") or DEFAULT_RASA_URL).rstrip("/")


def render_page(server_url: str) -> str:
    """The chat page's HTML with the widget pointed at a Rasa server."""
    return PAGE.format(
        title=escape(TITLE), intro=escape(INTRO), script=WIDGET_SCRIPT,
        server_url=escape(server_url), examples=escape("|".join(EXAMPLES)),
    )


def content_security_policy(server_url: str) -> str:
    """Scripts only from this app and sockets only to Rasa: even markup that slipped past the sanitiser could not run."""
    socket_url = "ws" + server_url[len("http"):] if server_url.startswith("http") else server_url
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        # The widget's stylesheet is a <style> element inside its shadow root.
        "style-src 'self' 'unsafe-inline'",
        f"connect-src 'self' {server_url} {socket_url}",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ])


def create_blueprint(dist: Path = WIDGET_DIST) -> Blueprint:
    """The chat page and the widget's built files."""
    bp = Blueprint("chat_page")

    @bp.get("/")
    async def chat_page(request: Request) -> response.HTTPResponse:
        server_url = rasa_public_url()
        return response.html(render_page(server_url), headers={
            "Cache-Control": "no-cache",
            "Content-Security-Policy": content_security_policy(server_url),
            "X-Content-Type-Options": "nosniff",
        })

    @bp.get("/widget/<name>")
    async def widget_asset(request: Request, name: str) -> response.HTTPResponse:
        # Only files the build wrote, by exact name: no paths, no traversal.
        built = {p.name: p for p in dist.iterdir() if p.is_file()} if dist.is_dir() else {}
        if name not in built:
            if not built:
                return response.text("聊天组件尚未构建：请运行 make install。", status=503)
            return response.text("没有这个文件。", status=404)
        path = built[name]
        return await response.file(
            path, mime_type=CONTENT_TYPES.get(path.suffix, "application/octet-stream"),
            headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
        )

    return bp
