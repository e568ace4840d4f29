"""The Evaluate stage: set up the measurement, run it and read the comparison, then try it."""

from tui.screens.evaluate.results import EvaluateResultsScreen
from tui.screens.evaluate.setup import EvaluateSetupScreen
from tui.screens.evaluate.tryit import TryItScreen

EVALUATE_SCREENS = (EvaluateSetupScreen, EvaluateResultsScreen, TryItScreen)

__all__ = ["EVALUATE_SCREENS", "EvaluateResultsScreen", "EvaluateSetupScreen", "TryItScreen"]
