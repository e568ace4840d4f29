"""The decision checklist: answers → recommendation with reasons → saved record.

The rules and the break-even arithmetic load on first use (``recommend`` is not needed
to draw the first screen); their names are importable from here all the same.
"""

from typing import TYPE_CHECKING

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
from backends.decision.record import (
    SCHEMA_VERSION,
    DecisionRecord,
    LoadResult,
    load_decision,
    save_decision,
)
from backends.lazy import lazy_exports

if TYPE_CHECKING:
    from backends.decision.break_even import (
        BreakEven,
        compute_break_even,
        default_price_after,
        default_price_now,
    )
    from backends.decision.rules import Reason, Recommendation, Stance, Verdict, recommend

_LATER = {
    "backends.decision.break_even": (
        "BreakEven",
        "compute_break_even",
        "default_price_after",
        "default_price_now",
    ),
    "backends.decision.rules": ("Reason", "Recommendation", "Stance", "Verdict", "recommend"),
}


__getattr__ = lazy_exports(__name__, _LATER)


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
