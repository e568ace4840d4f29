"""The Train stage: the runs of this workspace, and which one goes on to Evaluate.

Nothing is imported here: each screen's module loads when it is first asked for (the app
opens a step by the ``"module:Class"`` named in ``tui.journey``), so opening on one stage
never imports another's screens. ``from tui.screens.train import X`` still works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.screens.train.runs_step import TrainRunsScreen

_MODULE_OF = {
    "TrainRunsScreen": "tui.screens.train.runs_step",
}

__all__ = [
    "TrainRunsScreen",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
