"""The Train stage: the runs of this workspace, and which one goes on to Evaluate."""

from tui.screens.train.runs_step import TrainRunsScreen

TRAIN_SCREENS = (TrainRunsScreen,)

__all__ = ["TRAIN_SCREENS", "TrainRunsScreen"]
