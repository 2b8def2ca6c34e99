r"""The service team's DingTalk group robot (政策找企业): one markdown message per matched change.

`DINGTALK_STAFF_ROBOT_URL` is a custom group robot's webhook (自定义机器人,
`https://oapi.dingtalk.com/robot/send?access_token=…`); with `DINGTALK_STAFF_ROBOT_SECRET` (its 加签
secret, `SEC…`) each POST carries `timestamp` (ms) and `sign` = urlencode(base64(HMAC-SHA256(secret,
timestamp + "\n" + secret))) as query parameters. The host must be in `DINGTALK_REPLY_HOSTS`, the
allowlist every reply to DingTalk passes.

After a change's matching is stored (kb.eligibility.matches), a background thread sends one message per
measure — the measure, its benefit and window, the counts and the command that lists the firms — with a
short timeout, no redirects and no retry; the outcome is written on the runs (`push` sent | failed) and a
failure is logged and listed by `huiqi kb matches --failed`. The import has long returned by then. Only
firm names and counts are sent, never a firm's facts. DingTalk lets a robot send 20 messages a minute, so
a change matching more than MAX_MESSAGES measures sends the rest as one digest.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from bot.dingtalk_common import Origin, parse_reply_hosts, plain, sign, to_markdown, webhook_problem
from kb.eligibility.matches import RunSummary, add_listener, record_push, remove_listener

logger = logging.getLogger(__name__)

URL_VARIABLE = "DINGTALK_STAFF_ROBOT_URL"
SECRET_VARIABLE = "DINGTALK_STAFF_ROBOT_SECRET"
TIMEOUT_SECONDS = 5
MAX_MESSAGES = 10  # per change; the rest go in one digest (DingTalk: 20 messages a minute per robot)

# The command staff send the assistant in DingTalk to see a measure's list (bot/channels/dingtalk.py).
LIST_COMMAND = "匹配 {measure_id}"
MESSAGE_TITLE = "新政策匹配：{title}"
COUNTS = "企业库 {firms} 家：符合 {eligible} 家，很可能符合 {likely} 家，待补充信息 {unknown} 家，不符合 {not_eligible} 家"


def message_text(summary: RunSummary) -> str:
    """One change of one measure: what it is, what it gives, when to apply, how many firms, how to list them."""
    counts = {key: summary.counts.get(key, 0) for key in ("eligible", "likely", "unknown", "not_eligible")}
    lines = [f"#### 新政策匹配：{plain(summary.title)}",
             f"- 措施：{plain(summary.document)}（{summary.measure_id}，修订 {summary.revision_id}）",
             f"- 支持：{plain(summary.benefit)}",
             f"- 申报时间：{plain(summary.window)}",
             f"- {COUNTS.format(firms=summary.firms, **counts)}"]
    if summary.names:
        more = counts["eligible"] + counts["likely"] - len(summary.names)
        lines.append(f"- 符合或很可能符合：{'、'.join(plain(n) for n in summary.names)}{f' 等{more}家' if more > 0 else ''}")
    lines.append(f"名单：在钉钉里对助手发送“{LIST_COMMAND.format(measure_id=summary.measure_id)}”")
    return "\n".join(lines)


def digest_text(summaries: Sequence[RunSummary]) -> str:
    """The measures of a large change beyond the first MAX_MESSAGES, one line each."""
    lines = [f"#### 新政策匹配：另有 {len(summaries)} 条措施"]
    for s in summaries:
        lines.append(f"- {plain(s.title)}（{s.measure_id}）：符合 {s.counts.get('eligible', 0)}，"
                     f"很可能 {s.counts.get('likely', 0)}，待补充 {s.counts.get('unknown', 0)}")
    lines.append("名单：发送“匹配 措施编号”；最近的匹配：发送“新政策匹配”")
    return "\n".join(lines)


def payload(title: str, text: str) -> dict[str, Any]:
    """A DingTalk group-robot markdown message."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": to_markdown(text)}}


def messages(summaries: Sequence[RunSummary]) -> list[tuple[list[int], dict[str, Any]]]:
    """(run ids, DingTalk payload) for a change's successful runs: one per measure, then one digest."""
    done = [s for s in summaries if s.status == "done"]
    out = [([s.run_id], payload(MESSAGE_TITLE.format(title=s.title), message_text(s))) for s in done[:MAX_MESSAGES]]
    rest = done[MAX_MESSAGES:]
    if rest:
        out.append(([s.run_id for s in rest], payload(f"新政策匹配：另有 {len(rest)} 条措施", digest_text(rest))))
    return out


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A 30x to another host would get around the allowlist: treat it as a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - urllib's hook
        raise urllib.error.HTTPError(req.full_url, code, f"redirect to {urllib.parse.urlsplit(newurl).hostname} refused",
                                     headers, fp)


_opener = urllib.request.build_opener(_NoRedirect)


class StaffRobot:
    """Posts to one group robot webhook; `notify` is the kb.eligibility.matches listener."""

    def __init__(self, url: str, secret: str | None, allowed: Iterable[Origin],
                 timeout: float | None = None) -> None:
        """Keep the webhook, its signing secret, the allowed hosts and the timeout; nothing sent yet."""
        self.url = url
        self.secret = secret or None
        self.allowed = tuple(allowed)
        self.timeout = TIMEOUT_SECONDS if timeout is None else timeout
        self._threads: list[threading.Thread] = []

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> StaffRobot | None:
        """The robot of `DINGTALK_STAFF_ROBOT_URL` with its secret and reply hosts, or None when no URL is set."""
        url = (environ.get(URL_VARIABLE) or "").strip()
        if not url:
            return None
        return cls(url, (environ.get(SECRET_VARIABLE) or "").strip(), parse_reply_hosts(environ.get("DINGTALK_REPLY_HOSTS")))

    def host(self) -> str:
        """The webhook's host name, for log lines that must not show the token."""
        return urllib.parse.urlsplit(self.url).hostname or "?"

    def signed_url(self, now_ms: int | None = None) -> str:
        """The webhook with `timestamp` and `sign` added when a secret is set (DingTalk's 加签)."""
        if not self.secret:
            return self.url
        timestamp = str(int(time.time() * 1000) if now_ms is None else now_ms)
        query = urllib.parse.urlencode({"timestamp": timestamp, "sign": sign(timestamp, self.secret)})
        return f"{self.url}{'&' if urllib.parse.urlsplit(self.url).query else '?'}{query}"

    def post(self, body: dict[str, Any]) -> str | None:
        """Send one message; None when DingTalk accepted it, else why not (naming the host, never the token)."""
        problem = webhook_problem(self.url, self.allowed)
        if problem:
            return problem.replace("sessionWebhook", "staff robot").replace("reply_hosts", "DINGTALK_REPLY_HOSTS")
        request = urllib.request.Request(self.signed_url(), data=json.dumps(body, ensure_ascii=False).encode(),
                                         headers={"Content-Type": "application/json; charset=utf-8"}, method="POST")
        try:
            with _opener.open(request, timeout=self.timeout) as reply:
                answer = json.loads(reply.read() or b"null")
        except urllib.error.HTTPError as exc:
            return f"staff robot {self.host()} answered HTTP {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            return f"staff robot {self.host()} unreachable: {type(exc).__name__} {reason}"
        if not isinstance(answer, dict) or answer.get("errcode", 0) != 0:
            errcode, errmsg = (answer or {}).get("errcode"), (answer or {}).get("errmsg")
            return f"staff robot {self.host()} refused the message: errcode {errcode}, {errmsg}"
        return None

    def deliver(self, bind, summaries: Sequence[RunSummary]) -> None:
        """Send the change's messages and write each outcome on its runs; never raises, never retries."""
        from sqlalchemy.orm import Session

        for run_ids, body in messages(summaries):
            try:
                problem = self.post(body)
            except Exception as exc:  # noqa: BLE001 - a background thread has nobody to raise to
                problem = f"{type(exc).__name__}: {exc}"
            if problem:
                logger.warning("政策找企业: push for run(s) %s failed: %s", run_ids, problem)
            try:
                with Session(bind, future=True) as session, session.begin():
                    record_push(run_ids, session=session, error=problem)
            except Exception:  # noqa: BLE001 - the outcome is in the log at least
                logger.exception("政策找企业: could not record the push of run(s) %s", run_ids)

    def notify(self, bind, summaries: Sequence[RunSummary]) -> None:
        """The listener: deliver in a background thread, so the change's caller never waits on DingTalk."""
        if not any(s.status == "done" for s in summaries):
            return
        thread = threading.Thread(target=self.deliver, args=(bind, list(summaries)), name="staff-robot",
                                  daemon=False)  # a CLI import waits for it at exit (a few seconds at most)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def wait(self, timeout: float = 30) -> None:
        """Wait for the pushes under way (tests; a clean shutdown)."""
        deadline = dt.datetime.now() + dt.timedelta(seconds=timeout)
        for thread in list(self._threads):
            thread.join(max(0.0, (deadline - dt.datetime.now()).total_seconds()))


_installed: StaffRobot | None = None
_install_lock = threading.Lock()


def install(environ: Mapping[str, str] = os.environ) -> StaffRobot | None:
    """Listen for matched changes if `DINGTALK_STAFF_ROBOT_URL` is set (the CLI and the web app call this)."""
    global _installed
    with _install_lock:
        if _installed is not None:
            remove_listener(_installed.notify)
            _installed = None
        try:
            robot = StaffRobot.from_env(environ)
        except ValueError as exc:  # a malformed DINGTALK_REPLY_HOSTS: say so, push nothing
            logger.error("政策找企业: staff robot off: %s", exc)
            return None
        if robot is not None:
            host_problem = webhook_problem(robot.url, robot.allowed)
            if host_problem:
                logger.warning("政策找企业: %s is not in DINGTALK_REPLY_HOSTS; pushes will be refused and listed "
                               "by `huiqi kb matches --failed`", robot.host())
            add_listener(robot.notify)
            _installed = robot
        return robot
