"""The Decide stage: the four questions, then the recommendation.

Nothing is imported here: each screen's module loads when it is first asked for (the app
opens a step by the ``"module:Class"`` named in ``tui.journey``), so opening on one stage
never imports another's screens. ``from tui.screens.decide import X`` still works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.screens.decide.alternatives import AlternativesScreen
    from tui.screens.decide.benefit import BenefitScreen
    from tui.screens.decide.cost import CostScreen
    from tui.screens.decide.recommendation import RecommendationScreen
    from tui.screens.decide.use_case import UseCaseScreen

_MODULE_OF = {
    "UseCaseScreen": "tui.screens.decide.use_case",
    "AlternativesScreen": "tui.screens.decide.alternatives",
    "CostScreen": "tui.screens.decide.cost",
    "BenefitScreen": "tui.screens.decide.benefit",
    "RecommendationScreen": "tui.screens.decide.recommendation",
}

__all__ = [
    "AlternativesScreen",
    "BenefitScreen",
    "CostScreen",
    "RecommendationScreen",
    "UseCaseScreen",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
