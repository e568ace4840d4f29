"""The decision checklist: answers → recommendation with reasons → saved record."""

from backends.decision.answers import (
    Alternatives,
    Answers,
    Benefit,
    Cost,
    Measured,
    OrgAccess,
    PromptingTried,
    Reuse,
    UseCase,
    UseCaseCategory,
)
from backends.decision.break_even import (
    BreakEven,
    compute_break_even,
    default_price_after,
    default_price_now,
)
from backends.decision.record import (
    SCHEMA_VERSION,
    DecisionRecord,
    LoadResult,
    load_decision,
    save_decision,
)
from backends.decision.rules import Reason, Recommendation, Stance, Verdict, recommend

__all__ = [
    "SCHEMA_VERSION",
    "Alternatives",
    "Answers",
    "Benefit",
    "BreakEven",
    "Cost",
    "DecisionRecord",
    "LoadResult",
    "Measured",
    "OrgAccess",
    "PromptingTried",
    "Reason",
    "Recommendation",
    "Reuse",
    "Stance",
    "UseCase",
    "UseCaseCategory",
    "Verdict",
    "compute_break_even",
    "default_price_after",
    "default_price_now",
    "load_decision",
    "recommend",
    "save_decision",
]
