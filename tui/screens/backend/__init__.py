"""The Backend stage: where to train, its settings, then launch."""

from tui.screens.backend.launch import BackendLaunchScreen
from tui.screens.backend.settings import BackendSettingsScreen
from tui.screens.backend.where import BackendWhereScreen

BACKEND_SCREENS = (BackendWhereScreen, BackendSettingsScreen, BackendLaunchScreen)

__all__ = ["BACKEND_SCREENS", "BackendLaunchScreen", "BackendSettingsScreen", "BackendWhereScreen"]
