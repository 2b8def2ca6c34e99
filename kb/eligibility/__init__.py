"""Eligibility: firm facts against rule data, one verdict service for chat, API, DingTalk and the firm registry.

Modules, each one job (import downwards only):

- `engine`  — three-valued evaluation of rule data (eligible / likely / not_eligible / unknown), the next question;
- `service` — measures with rules read from the KB, `MeasureVerdict` (the one verdict type every caller gets),
  scope and the short summary the chat shows;
- `matches` — 政策找企业: a measure whose rule a change added or changed, judged for every registered firm
  after the commit (`RegistryJudge`), stored by revision, read by the CLI, the admin API and DingTalk.

Facts and their parsing live in kb.profile; the rule grammar, groups and categories in kb.rulebook and
kb/rules/*.yaml.
"""

from kb.eligibility.engine import (  # noqa: F401 - the package's public names
    FactsError,
    Finding,
    RegistryJudge,
    RuleError,
    Status,
    Verdict,
    evaluate,
    evaluate_all,
    evaluate_category,
    explain,
    format_money,
    format_value,
    next_question,
)
