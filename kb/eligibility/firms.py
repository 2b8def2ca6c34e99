"""Checks on behalf of a firm ("帮企业查"): unified social credit codes, the firm registry, eligibility.

A staff member names a firm by its 18-character unified social credit code (统一社会信用代码),
by its name as imported into the registry, or describes it in one sentence ("丽水遂昌的民营
金属制品厂，85人，营收6800万"). The answer is the eligibility verdict of every measure that
has a rule, grouped as eligible / undecided (with the facts that would decide) / not eligible.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.eligibility import FactsError, RuleError, Status
from kb.eligibility.parsing import extract_facts
from kb.eligibility.service import MeasureVerdict, match
from kb.store.models import Firm

# GB 32100-2015: the 31 characters a code may use (no I, O, S, V, Z) and the weights of positions 1–17.
CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
# Anything that is 18 letters or digits is read as an attempt at a credit code, so a typo gets a clear answer.
_CODE_LIKE = re.compile(r"[0-9A-Z]{18}")


def normalise_code(text: str) -> str:
    """Full-width and lower-case characters and spaces, as people paste them, into the canonical form."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text)).upper()


def check_digit(first17: str) -> str:
    """The 18th character for the first 17 (GB 32100-2015, 5.3): 31 − (Σ weight × value mod 31)."""
    total = sum(CREDIT_CODE_CHARS.index(char) * weight for char, weight in zip(first17, _WEIGHTS, strict=True))
    return CREDIT_CODE_CHARS[(31 - total % 31) % 31]


def credit_code_problem(code: str) -> str | None:
    """None for a valid code; otherwise why not, as a sentence for the staff member."""
    code = normalise_code(code)
    if len(code) != 18:
        return f"统一社会信用代码应为18位，“{code}”是{len(code)}位"
    wrong = sorted({char for char in code if char not in CREDIT_CODE_CHARS})
    if wrong:
        return f"统一社会信用代码“{code}”含有不允许的字符：{'、'.join(wrong)}（不使用I、O、S、V、Z）"
    expected = check_digit(code[:17])
    if code[17] != expected:
        return f"统一社会信用代码“{code}”校验位不对：最后一位应为{expected}，请核对是否抄错"
    return None


def is_valid_credit_code(code: str) -> bool:
    """Whether a code, once normalised, is a valid unified social credit code."""
    return credit_code_problem(code) is None


@dataclass(frozen=True)
class FirmCheck:
    """The answer to one "帮企业查"; `problem` set means nothing was evaluated."""

    query: str
    firm_name: str | None = None
    credit_code: str | None = None
    facts: dict[str, Any] = field(default_factory=dict)
    verdicts: tuple[MeasureVerdict, ...] = ()
    problem: str | None = None
    candidates: tuple[str, ...] = ()  # several registry names matched; the staff member should pick one

    def with_status(self, status: Status) -> list[MeasureVerdict]:
        """The verdicts of one status, best first."""
        return [v for v in self.verdicts if v.status == status.value]


def find_firm_by_code(code: str, *, session: Session) -> Firm | None:
    """The registry's firm with this credit code (normalised first), or None."""
    return session.get(Firm, normalise_code(code))


def find_firms_by_name(name: str, *, session: Session, limit: int = 6) -> list[Firm]:
    """The firm with exactly this name, else firms whose name contains it (at most `limit`)."""
    name = name.strip()
    if not name:
        return []
    exact = session.execute(select(Firm).where(Firm.name == name)).scalars().first()
    if exact:
        return [exact]
    # LIKE with the user's text as a bound parameter; % and _ in it are escaped so they match literally.
    pattern = "%" + name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    query = select(Firm).where(Firm.name.like(pattern, escape="\\")).order_by(Firm.name).limit(limit)
    return list(session.execute(query).scalars())


def evaluate_facts(facts: dict[str, Any], *, session: Session, today: dt.date) -> tuple[MeasureVerdict, ...]:
    """Verdicts of every measure in force that has a rule, from the one eligibility service; best first."""
    return tuple(match(facts, session=session, today=today, scope="all").verdicts)


def check_firm(text: str, *, session: Session, today: dt.date | None = None) -> FirmCheck:
    """Answer "帮企业查 <text>": by credit code, by registry name, or by the facts the sentence gives."""
    today = today or dt.date.today()
    query = text.strip()
    if not query:
        return FirmCheck(query, problem="请在“帮企业查”后面写上企业全称、18位统一社会信用代码，或一句话描述企业情况")
    code = normalise_code(query)
    if _CODE_LIKE.fullmatch(code):
        problem = credit_code_problem(code)
        if problem:
            return FirmCheck(query, credit_code=code, problem=problem)
        firm = find_firm_by_code(code, session=session)
        if firm is None:
            return FirmCheck(query, credit_code=code,
                             problem=f"企业库里没有统一社会信用代码为{code}的企业；可以一句话描述企业情况再查")
        return _check_registered(query, firm, session=session, today=today)
    # A registry name (or a part of one) first: a sentence describing a firm is never inside a firm's name.
    firms = find_firms_by_name(query, session=session)
    if len(firms) == 1:
        return _check_registered(query, firms[0], session=session, today=today)
    if firms:
        return FirmCheck(query, candidates=tuple(f.name for f in firms),
                         problem="企业库里有几家名称相近的企业，请发送完整名称或统一社会信用代码")
    facts = extract_facts(query, today=today)
    if facts:
        return _evaluate(FirmCheck(query, facts=facts), session=session, today=today)
    return FirmCheck(query, problem="企业库里没有这家企业，也没能从这句话读出企业情况；"
                                    "可以发送统一社会信用代码，或描述所在县区、行业、人数、营收等")


def _check_registered(query: str, firm: Firm, *, session: Session, today: dt.date) -> FirmCheck:
    check = FirmCheck(query, firm_name=firm.name, credit_code=firm.credit_code, facts=dict(firm.facts or {}))
    return _evaluate(check, session=session, today=today)


def _evaluate(check: FirmCheck, *, session: Session, today: dt.date) -> FirmCheck:
    try:
        verdicts = evaluate_facts(check.facts, session=session, today=today)
    except (FactsError, RuleError) as exc:
        # A registry row with facts the engine cannot read is an admin's fix, named here.
        where = f"企业库中“{check.firm_name}”的" if check.firm_name else ""
        return FirmCheck(check.query, check.firm_name, check.credit_code, check.facts,
                         problem=f"{where}企业信息有误，无法判断：{exc}")
    return FirmCheck(check.query, check.firm_name, check.credit_code, check.facts, verdicts)
