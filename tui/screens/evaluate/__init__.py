"""The Evaluate stage: set up the measurement, then run it and read the comparison."""

from tui.screens.evaluate.results import EvaluateResultsScreen
from tui.screens.evaluate.setup import EvaluateSetupScreen

EVALUATE_SCREENS = (EvaluateSetupScreen, EvaluateResultsScreen)

__all__ = ["EVALUATE_SCREENS", "EvaluateResultsScreen", "EvaluateSetupScreen"]
