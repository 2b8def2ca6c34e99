"""Eligibility: firm facts against rule data, one verdict service for chat, API, DingTalk and the firm registry.

Modules, each one job (import downwards only):

- facts: `profile` (the field registry, one asked field's answer), `numbers` (numerals as firms write them),
  `quantities` (figures with the range their wording allows), `parsing` (every fact a message gives),
  `english`, `wording` (kb/rules/facts.yaml), `fact_bounds` (plausible values), `regions`;
- rules: `rulebook` (the grammar, named groups and derived categories of kb/rules/*.yaml);
- the engine: `verdicts` (what a verdict holds, conditions said in Chinese), `compiled` (rules checked once),
  `judging` (three-valued evaluation of one call), `engine` (evaluate, evaluate_all, next_question, and
  `RegistryJudge` for many firms against a few rules);
- `service` — measures with rules read from the KB, `MeasureVerdict` (the one verdict type every caller gets),
  scope and the short summary the chat shows; `firms` — the firm registry;
- `matches` — 政策找企业: a measure whose rule a change added or changed, judged for every registered firm
  after the commit, stored by revision, read by the CLI, the admin API and DingTalk.
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
