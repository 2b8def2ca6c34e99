"""政策找企业: when a change adds a measure with a rule or changes a rule, judge it for every registered firm.

After the change's transaction commits — never inside it, so a failure here never undoes the change —
one pass over the firm registry per changed measure, with the one verdict engine (kb.eligibility),
stored by (revision, measure, firm) in `firm_matches`, with a `MatchRun` per measure and its counts.
Only a measure's latest results are kept; the runs keep their counts and failures. Listeners (the staff
group robot, bot/staff_robot.py) hear of each revision's runs once they are stored. Matching reads the
registry only; nothing a firm types in the chat enters it.

The hook: kb.importer.apply_import and kb.revisions.rollback call `schedule` after recording their
revision; the session's commit then runs the matching (`after_transaction_end` of the outermost
transaction, after the connection is released). A rolled-back or dry-run change matches nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, event, func, select
from sqlalchemy.orm import Session

from kb.eligibility.engine import FactsError, RegistryJudge, RuleError, evaluate
from kb.eligibility.profile import DERIVED_FROM
from kb.eligibility.service import RuleMeasure, field_label, measures_with_rules
from kb.errors import KBError
from kb.store.models import Firm, FirmMatch, MatchRun, Measure
from kb.store.queries import latest_revision_id

logger = logging.getLogger(__name__)

# Verdict statuses as stored, and the list each goes into in a result ("unknown" firms are "undecided").
GROUPS = {"eligible": "eligible", "likely": "likely", "not_eligible": "not_eligible", "unknown": "undecided"}
GROUP_ORDER = ("eligible", "likely", "undecided", "not_eligible")
NAMES_IN_SUMMARY = 10  # eligible and likely firm names a summary carries (for the staff group message)

_PENDING = "huiqi_pending_matches"
_COMMITTED = "huiqi_committed_matches"


class MatchNotFound(KBError):
    """No such measure, or it has no rule to match firms against."""


@dataclass(frozen=True)
class RunSummary:
    """One measure's run, as listeners and the change's result see it: counts and names, never firm facts."""

    run_id: int
    revision_id: int
    measure_id: str
    title: str
    document: str
    benefit: str
    window: str
    status: str  # done | failed
    error: str | None
    firms: int
    counts: Mapping[str, int]
    names: tuple[str, ...] = ()  # eligible, then likely firms' names, at most NAMES_IN_SUMMARY

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON: measure, revision, status, error, firms and counts (no names)."""
        return {"measure_id": self.measure_id, "revision": self.revision_id, "status": self.status,
                "error": self.error, "firms": self.firms, "counts": dict(self.counts)}


@dataclass
class _Pending:
    revision_id: int
    measure_ids: list[str]
    result: Any = None  # the change's ChangeResult; its `matches` are filled in after the commit


Listener = Callable[[Any, Sequence[RunSummary]], None]
_listeners: list[Listener] = []
_listeners_lock = threading.Lock()


def add_listener(listener: Listener) -> None:
    """Call `listener(bind, summaries)` after each change's runs are stored (once per listener)."""
    with _listeners_lock:
        if listener not in _listeners:
            _listeners.append(listener)


def remove_listener(listener: Listener) -> None:
    """Stop calling a listener added by `add_listener` (nothing happens if it was not added)."""
    with _listeners_lock:
        if listener in _listeners:
            _listeners.remove(listener)


# --- which measures a change asks to match ---------------------------------------------------------


def rule_changes(diff: Mapping[str, Any]) -> list[str]:
    """Measures a change added, or whose rule it changed (a diff from kb.revisions.diff_exports)."""
    part = diff.get("measures") or {}
    changed = [measure_id for measure_id, fields in (part.get("changed") or {}).items() if "rule" in fields]
    return list(dict.fromkeys([*(part.get("added") or []), *changed]))


def schedule(session: Session, revision_id: int, diff: Mapping[str, Any], result: Any = None) -> None:
    """Match the change's measures once the session's transaction commits (nothing if it rolls back)."""
    measure_ids = rule_changes(diff)
    if measure_ids:
        session.info.setdefault(_PENDING, []).append(_Pending(revision_id, measure_ids, result))


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    # Also fired when a savepoint commits; only the outermost commit makes the change real.
    if _PENDING in session.info and session.get_nested_transaction() is None:
        session.info[_COMMITTED] = session.info.pop(_PENDING)


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction) -> None:
    if transaction.parent is not None or not session.info:
        return
    session.info.pop(_PENDING, None)  # rolled back: the change did not happen
    for pending in session.info.pop(_COMMITTED, None) or ():
        run_after_commit(session.get_bind(), pending.revision_id, pending.measure_ids, result=pending.result)


def run_after_commit(bind, revision_id: int, measure_ids: Iterable[str], *, result: Any = None,
                     today: dt.date | None = None) -> list[RunSummary]:
    """Match, store and tell the listeners; every failure is logged (and stored as a failed run), never raised."""
    measure_ids = list(measure_ids)
    today = today or dt.date.today()
    try:
        with Session(bind, future=True, expire_on_commit=False) as session:
            summaries = match_registry(measure_ids, revision_id=revision_id, session=session, today=today,
                                       commit_each=True)
            session.commit()
    except Exception as exc:  # noqa: BLE001 - the change is committed; matching must not turn it into an error
        logger.exception("政策找企业: matching revision %s (%s) failed", revision_id, ", ".join(measure_ids))
        summaries = _record_failure(bind, revision_id, measure_ids, f"{type(exc).__name__}: {exc}")
    if result is not None:
        result.matches = summaries
    with _listeners_lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(bind, summaries)
        except Exception:  # noqa: BLE001 - a listener's failure is its own; it never reaches the change
            logger.exception("政策找企业: a listener failed for revision %s", revision_id)
    return summaries


def _record_failure(bind, revision_id: int, measure_ids: list[str], error: str) -> list[RunSummary]:
    summaries = []
    try:
        with Session(bind, future=True, expire_on_commit=False) as session, session.begin():
            stored = set(session.execute(select(MatchRun.measure_id).where(MatchRun.revision_id == revision_id,
                                                                           MatchRun.measure_id.in_(measure_ids)))
                         .scalars())  # measures committed before the failure keep their own run
            for measure_id in [m for m in measure_ids if m not in stored]:
                run = MatchRun(revision_id=revision_id, measure_id=measure_id, status="failed", error=error[:2000],
                               firms=0, counts={})
                session.add(run)
                session.flush()
                summaries.append(RunSummary(run.id, revision_id, measure_id, measure_id, "", "", "", "failed",
                                            run.error, 0, {}))
    except Exception:  # noqa: BLE001 - the database itself is failing; the log is all that is left
        logger.exception("政策找企业: could not record the failed matching of revision %s", revision_id)
    return summaries


# --- judging ---------------------------------------------------------------------------------------


def _firms(session: Session) -> list[tuple[str, str, dict]]:
    rows = session.execute(select(Firm.credit_code, Firm.name, Firm.facts).order_by(Firm.credit_code))
    return [(code, name, facts or {}) for code, name, facts in rows]


def _row_parts(verdict, cache: dict) -> tuple[str, list[str], list[str]]:
    """(status, missing facts, conditions to confirm) of a verdict; firms with the same outcomes share one."""
    found = cache.get(id(verdict))
    if found is None:
        status = verdict.status.value
        missing = list(dict.fromkeys(DERIVED_FROM.get(name, name) for name in verdict.undecided_fields)) \
            if status == "unknown" else []
        to_confirm = list(verdict.to_confirm) if status in ("likely", "unknown") else []
        found = cache[id(verdict)] = (status, missing, to_confirm)
    return found


def judge(measures: Sequence[RuleMeasure], firms: Sequence[tuple[str, str, Mapping[str, Any]]], *,
          today: dt.date) -> tuple[dict[str, list[dict[str, Any]]], list[str]]:
    """Every firm's verdict on every measure, one pass over the firms: rows by measure id, and skipped firms.

    A firm whose stored facts the engine cannot read is skipped (and named), not guessed.
    """
    judge_ = RegistryJudge([(m.measure_id, m.rule) for m in measures], on=today)
    rows: dict[str, list[dict[str, Any]]] = {m.measure_id: [] for m in measures}
    skipped: list[str] = []
    parts: dict = {}
    for code, name, facts in firms:
        try:
            verdicts = judge_.verdicts(facts)
        except FactsError as exc:
            logger.warning("政策找企业: firm %s skipped, its facts cannot be read: %s", code, exc)
            skipped.append(code)
            continue
        for verdict in verdicts:  # verdicts are shared by firms alike, and live as long as judge_ does
            status, missing, to_confirm = _row_parts(verdict, parts)
            rows[verdict.measure_id].append({"credit_code": code, "name": name, "status": status,
                                             "missing": missing, "to_confirm": to_confirm})
    return rows, skipped


def _counts(rows: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    counts = dict.fromkeys(GROUPS, 0)
    for row in rows:
        counts[row["status"]] += 1
    return counts


def _window(measure: Measure | None, today: dt.date) -> str:
    from kb.currency import measure_currency
    from kb.format import format_date

    if measure is None:
        return ""
    note = measure_currency(measure, today=today).note
    if note:
        return note
    return f"有效期至{format_date(measure.valid_to)}" if measure.valid_to else "未写明申报时间，以主管部门通知为准"


_INSERT = ("INSERT INTO firm_matches (revision_id, measure_id, credit_code, name, status, missing, to_confirm) "
           "VALUES ({0}, {0}, {0}, {0}, {0}, {0}, {0})")


def _store(session: Session, revision_id: int, measure_id: str, rows: list[dict[str, Any]]) -> None:
    """Insert a measure's rows through the driver's executemany, each list encoded once.

    SQLAlchemy's per-row parameter processing and a JSON encoding per row cost more than the judging at
    10,000 firms × 100 measures.
    """
    connection = session.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    encoded: dict[int, str] = {}  # rows of firms judged alike share their lists: encode each list once

    def text(values: list[str]) -> str:
        found = encoded.get(id(values))
        if found is None:
            found = encoded[id(values)] = json.dumps(values, ensure_ascii=False)
        return found

    connection.exec_driver_sql(_INSERT.format(marker), [
        (revision_id, measure_id, row["credit_code"], row["name"], row["status"], text(row["missing"]),
         text(row["to_confirm"])) for row in rows])


def match_registry(measure_ids: Iterable[str], *, revision_id: int, session: Session, today: dt.date,
                   commit_each: bool = False) -> list[RunSummary]:
    """Judge the measures (those that have a rule) for every registered firm; store the results and the runs.

    `commit_each` commits after each measure's rows (the session begins anew), so a re-match of many
    measures never holds the database's write lock for long: on SQLite, other writers wait 5 s at most.
    """
    wanted = list(dict.fromkeys(measure_ids))
    held = {m.measure_id: m for m in measures_with_rules(session=session) if m.measure_id in set(wanted)}
    measures, failures = [], {}
    for measure_id in wanted:
        measure = held.get(measure_id)
        if measure is None:
            continue  # removed again, or its rule was taken away: nothing to match
        try:
            evaluate(measure.rule, {}, on=today, measure_id=measure_id)  # a rule the engine cannot read fails alone
        except RuleError as exc:
            failures[measure_id] = f"规则无法判断：{exc}"
            continue
        measures.append(measure)
    firms = _firms(session)
    rows, skipped = judge(measures, firms, today=today)
    windows = {m.id: _window(m, today) for m in session.execute(select(Measure).where(Measure.id.in_(wanted))).scalars()}
    summaries = []
    for measure_id in wanted:
        if measure_id not in held:
            continue
        measure = held[measure_id]
        error = failures.get(measure_id) or (f"{len(skipped)} 家企业的信息无法读取，未判断：{'、'.join(skipped[:5])}"
                                             if skipped else None)
        measure_rows = rows.get(measure_id, [])
        counts = _counts(measure_rows)
        status = "failed" if measure_id in failures else "done"
        run = MatchRun(revision_id=revision_id, measure_id=measure_id, status=status, error=error,
                       firms=len(firms), counts=counts)
        session.add(run)
        session.flush()
        if measure_rows:
            _store(session, revision_id, measure_id, measure_rows)
        if status == "done":  # the measure's older results give way to these (its runs keep their counts)
            session.execute(delete(FirmMatch).where(FirmMatch.measure_id == measure_id,
                                                    FirmMatch.revision_id < revision_id))
        if commit_each:
            session.commit()
        names = tuple(row["name"] for status_ in ("eligible", "likely") for row in measure_rows
                      if row["status"] == status_)[:NAMES_IN_SUMMARY]
        summaries.append(RunSummary(run.id, revision_id, measure_id, measure.title, measure.document, measure.benefit,
                                    windows.get(measure_id, ""), status, error, len(firms), counts, names))
    logger.info("政策找企业: revision %s, %d measure(s) over %d firm(s)", revision_id, len(summaries), len(firms))
    return summaries


# --- reading results -------------------------------------------------------------------------------


def latest_run(measure_id: str, *, session: Session) -> MatchRun | None:
    """The measure's latest completed run (newest revision first), or None."""
    query = (select(MatchRun).where(MatchRun.measure_id == measure_id, MatchRun.status == "done")
             .order_by(MatchRun.revision_id.desc(), MatchRun.id.desc()).limit(1))
    return session.execute(query).scalars().first()


@dataclass
class MatchList:
    """The firms a measure fits, split by verdict, as stored for a revision (or judged now, `stored` False)."""

    measure_id: str
    title: str
    revision: int
    firms: int
    stored: bool
    matched_at: str | None = None
    groups: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: {g: [] for g in GROUP_ORDER})

    def as_dict(self) -> dict[str, Any]:
        """The list as JSON: the measure, revision, counts and each group's firms."""
        return {"measure_id": self.measure_id, "title": self.title, "revision": self.revision,
                "matched_at": self.matched_at, "stored": self.stored, "firms": self.firms,
                "counts": {group: len(items) for group, items in self.groups.items()}, **self.groups}


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    entry = {"credit_code": row["credit_code"], "name": row["name"]}
    if row["status"] == "unknown":
        entry["missing"] = list(row["missing"] or [])
        entry["missing_labels"] = [field_label(name) for name in entry["missing"]]
    if row["status"] in ("likely", "unknown") and row["to_confirm"]:
        entry["to_confirm"] = list(row["to_confirm"])
    return entry


def _grouped(result: MatchList, rows: Iterable[Mapping[str, Any]]) -> MatchList:
    for row in sorted(rows, key=lambda r: (r["name"], r["credit_code"])):
        result.groups[GROUPS[row["status"]]].append(_entry(row))
    return result


def matches_of(measure_id: str, *, session: Session, today: dt.date | None = None) -> MatchList:
    """The stored result of the measure's latest run; a measure with a rule never matched is judged now."""
    measure = session.get(Measure, measure_id)
    if measure is None:
        raise MatchNotFound(f"没有编号为 {measure_id} 的措施")
    run = latest_run(measure_id, session=session)
    if run is not None:
        rows = session.execute(select(FirmMatch.credit_code, FirmMatch.name, FirmMatch.status, FirmMatch.missing,
                                      FirmMatch.to_confirm)
                               .where(FirmMatch.revision_id == run.revision_id, FirmMatch.measure_id == measure_id))
        result = MatchList(measure_id, measure.title, run.revision_id, run.firms, True,
                           run.created_at.isoformat(timespec="seconds"))
        return _grouped(result, (row._mapping for row in rows))
    held = [m for m in measures_with_rules(session=session) if m.measure_id == measure_id]
    if not held:
        raise MatchNotFound(f"措施 {measure_id} 没有资格规则，无法匹配企业")
    firms = _firms(session)
    rows, _ = judge(held, firms, today=today or dt.date.today())
    result = MatchList(measure_id, measure.title, latest_revision_id(session=session), len(firms), False)
    return _grouped(result, rows[measure_id])


def recent_runs(*, session: Session, limit: int = 10) -> list[dict[str, Any]]:
    """The latest runs, newest first, with the measure's title (for 新政策匹配)."""
    query = select(MatchRun, Measure.title).outerjoin(Measure, Measure.id == MatchRun.measure_id) \
        .order_by(MatchRun.id.desc()).limit(limit)
    return [{"run": run.id, "revision": run.revision_id, "measure_id": run.measure_id, "title": title or run.measure_id,
             "created_at": run.created_at.isoformat(timespec="seconds"), "status": run.status, "error": run.error,
             "firms": run.firms, "counts": {GROUPS[k]: v for k, v in (run.counts or {}).items()}}
            for run, title in session.execute(query)]


def failed_runs(*, session: Session, limit: int = 50) -> list[dict[str, Any]]:
    """Runs whose matching failed (or skipped firms), and pushes to the staff robot that failed; newest first."""
    query = (select(MatchRun).where((MatchRun.status == "failed") | (MatchRun.push == "failed")
                                    | MatchRun.error.isnot(None))
             .order_by(MatchRun.id.desc()).limit(limit))
    failures = []
    for run in session.execute(query).scalars():
        when = run.created_at.isoformat(timespec="seconds")
        if run.status == "failed" or run.error:
            failures.append({"run": run.id, "revision": run.revision_id, "measure_id": run.measure_id,
                             "created_at": when, "what": "match", "error": run.error})
        if run.push == "failed":
            failures.append({"run": run.id, "revision": run.revision_id, "measure_id": run.measure_id,
                             "created_at": when, "what": "push", "error": run.push_error})
    return failures


def record_push(run_ids: Iterable[int], *, session: Session, error: str | None) -> None:
    """Note how the push of these runs went: sent, or failed and why (listed by `huiqi kb matches --failed`)."""
    for run_id in run_ids:
        run = session.get(MatchRun, run_id)
        if run is not None:
            run.push, run.push_error = ("failed", error[:2000]) if error else ("sent", None)


def find_measure(text: str, *, session: Session) -> tuple[str | None, list[tuple[str, str]]]:
    """A measure with a rule named by its id or (part of) its title; else (None, candidates to pick from)."""
    text = text.strip()
    if not text:
        return None, []
    held = measures_with_rules(session=session)
    for measure in held:
        if measure.measure_id == text:
            return measure.measure_id, []
    found = [m for m in held if text in m.title or text in m.keywords or m.title in text]
    exact = [m for m in found if m.title == text]
    if len(exact) == 1 or len(found) == 1:
        return (exact or found)[0].measure_id, []
    return None, [(m.measure_id, m.title) for m in found[:8]]


def count_rows(*, session: Session) -> int:
    """How many firm match rows are stored, over all revisions and measures."""
    return session.execute(select(func.count()).select_from(FirmMatch)).scalar_one()


# --- Excel ---------------------------------------------------------------------------------------

GROUP_LABELS = {"eligible": "符合", "likely": "很可能符合（还需确认）", "undecided": "待补充信息", "not_eligible": "不符合"}


def matches_workbook(result: Mapping[str, Any]) -> bytes:
    """The list as an Excel workbook: one row per firm with its verdict and what is missing."""
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "匹配企业"
    sheet.append(["措施编号", result["measure_id"], "措施", result["title"], "修订", result["revision"]])
    sheet.append(["结果", "统一社会信用代码", "企业名称", "待补充信息", "还需确认"])
    for group in GROUP_ORDER:
        for item in result[group]:
            sheet.append([GROUP_LABELS[group], item["credit_code"], item["name"],
                          "、".join(item.get("missing_labels") or []), "、".join(item.get("to_confirm") or [])])
    for column, width in zip("ABCDE", (22, 22, 36, 30, 40), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
