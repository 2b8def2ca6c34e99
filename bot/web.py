"""The project's web app (127.0.0.1:8000 by default).

Serves the chat page (bot/chat_page.py) and a health page that reports the
knowledge base and the Rasa server; later issues add the admin page and the JSON API.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import urllib.error
import urllib.request

from sanic import Sanic, response
from sanic.request import Request

from bot import admin, api, chat_page, history, staff_robot
from bot.settings import load_settings
from kb.store import queries


def create_app() -> Sanic:
    """The web app: chat page, health, history, admin and the public API over one session factory."""
    app = Sanic("huiqi_web")

    @app.before_server_start
    async def open_database(app: Sanic, _loop) -> None:
        app.ctx.sessions = load_settings().sessions()
        staff_robot.install()  # 政策找企业: admin changes' matches go to the staff group if DINGTALK_STAFF_ROBOT_URL is set

    @app.get("/health")
    async def health(request: Request) -> response.HTTPResponse:
        rasa_url = os.environ.get("HUIQI_RASA_URL", "http://127.0.0.1:5005")
        rasa_up = await asyncio.to_thread(_rasa_reachable, rasa_url)
        with request.app.ctx.sessions() as session:
            status = {
                "status": "ok",
                "kb_revision": queries.latest_revision_id(session=session),
                "kb": queries.counts_by_family(session=session),
                "rasa": rasa_up,
            }
        return response.json(status, ensure_ascii=False)

    # The firm-facing chat page at / and the widget script it embeds.
    app.blueprint(chat_page.create_blueprint())
    app.blueprint(admin.create_blueprint())  # /admin page and /api/admin/ JSON API
    app.blueprint(api.create_blueprint())  # POST /api/eligibility
    app.blueprint(history.create_blueprint())  # POST /api/history (a widget's own conversation)

    return app


def _rasa_reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def main() -> None:
    """`python -m bot.web`: serve the web app."""
    parser = argparse.ArgumentParser(description="惠企政策助手 web app")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args()
    create_app().run(host=args.host, port=args.port, access_log=False, workers=1)


if __name__ == "__main__":
    main()
