"""The Decide stage: the four questions, then the recommendation."""

from tui.screens.decide.alternatives import AlternativesScreen
from tui.screens.decide.benefit import BenefitScreen
from tui.screens.decide.cost import CostScreen
from tui.screens.decide.recommendation import RecommendationScreen
from tui.screens.decide.use_case import UseCaseScreen

DECIDE_SCREENS = (
    UseCaseScreen,
    AlternativesScreen,
    CostScreen,
    BenefitScreen,
    RecommendationScreen,
)

__all__ = [
    "DECIDE_SCREENS",
    "AlternativesScreen",
    "BenefitScreen",
    "CostScreen",
    "RecommendationScreen",
    "UseCaseScreen",
]
