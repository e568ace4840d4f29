"""The Evaluate stage: set up the measurement, run it and read the comparison, then try it.

Nothing is imported here: each screen's module loads when it is first asked for (the app
opens a step by the ``"module:Class"`` named in ``tui.journey``), so opening on one stage
never imports another's screens. ``from tui.screens.evaluate import X`` still works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.screens.evaluate.results import EvaluateResultsScreen
    from tui.screens.evaluate.setup import EvaluateSetupScreen
    from tui.screens.evaluate.tryit import TryItScreen

_MODULE_OF = {
    "EvaluateSetupScreen": "tui.screens.evaluate.setup",
    "EvaluateResultsScreen": "tui.screens.evaluate.results",
    "TryItScreen": "tui.screens.evaluate.tryit",
}

__all__ = [
    "EvaluateResultsScreen",
    "EvaluateSetupScreen",
    "TryItScreen",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
