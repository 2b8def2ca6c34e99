"""Moved to kb.eligibility.service (one eligibility path); kept so older imports keep working."""

from kb.eligibility.service import *  # noqa: F401,F403
from kb.eligibility.service import (  # noqa: F401 - names star-import leaves out
    CATEGORY_NAMES,
    MatchResult,
    MeasureVerdict,
    Reason,
    RuleMeasure,
    field_label,
    jsonable_facts,
    match,
    measures_with_rules,
    rules_in_force,
    scope_of,
)
