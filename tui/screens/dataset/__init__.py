"""The Dataset stage: pick the data, then read the report."""

from tui.screens.dataset.pick import DatasetPickScreen
from tui.screens.dataset.report import DatasetReportScreen

DATASET_SCREENS = (DatasetPickScreen, DatasetReportScreen)

__all__ = ["DATASET_SCREENS", "DatasetPickScreen", "DatasetReportScreen"]
