"""The Backend stage: where to train, its settings, then launch.

Nothing is imported here: each screen's module loads when it is first asked for (the app
opens a step by the ``"module:Class"`` named in ``tui.journey``), so opening on one stage
never imports another's screens. ``from tui.screens.backend import X`` still works.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui.screens.backend.launch import BackendLaunchScreen
    from tui.screens.backend.settings import BackendSettingsScreen
    from tui.screens.backend.where import BackendWhereScreen

_MODULE_OF = {
    "BackendWhereScreen": "tui.screens.backend.where",
    "BackendSettingsScreen": "tui.screens.backend.settings",
    "BackendLaunchScreen": "tui.screens.backend.launch",
}

__all__ = [
    "BackendLaunchScreen",
    "BackendSettingsScreen",
    "BackendWhereScreen",
]


def __getattr__(name: str) -> Any:
    if name not in _MODULE_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)
