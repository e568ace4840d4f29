"""What screens and their widgets may use of the application, typed.

Screens must not import ``tui.app`` (the app imports every screen). So the app's
interface lives here, one layer down: ``JourneyApp`` is a Textual ``App`` that declares
the state and controller methods screens read and call (``self.app.workspace``,
``self.app.open_monitor(...)``). ``tui.app.FinetuneApp`` inherits it and provides them;
screens and widgets type their ``app`` property with it::

    @property
    def app(self) -> JourneyApp:
        return cast(JourneyApp, super().app)

A Textual ``App`` subclass rather than a ``Protocol``: screens call ``App`` methods too
(``push_screen``, ``notify``, ``call_from_thread``), and a protocol cannot inherit them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import TYPE_CHECKING

from textual.app import App

from backends.decision import Answers
from backends.workspace import Workspace
from tui.journey import Position
from tui.state import BackendChoice, ChatChoice, DatasetChoice, EvalChoice

if TYPE_CHECKING:
    from backends.data.report import DatasetReport
    from backends.decision import Recommendation
    from backends.evaluate.compare import Comparison
    from backends.runs import RunFolder


class JourneyApp(App[None]):
    """The application as screens see it: the journey's state and its controller."""

    workspace: Workspace
    today: date
    clock: Callable[[], datetime]
    """Now, timezone-aware (injectable for tests)."""
    answers: Answers
    dataset_choice: DatasetChoice
    dataset_report: DatasetReport | None
    dataset_report_key: tuple[str, ...]
    """The dataset choice the cached report was made for."""
    backend_choice: BackendChoice
    eval_choice: EvalChoice
    chat_choice: ChatChoice
    monitor_next: RunFolder | None
    """A run just launched: its monitor opens over the next step shown."""
    comparison: Comparison | None
    comparison_key: tuple[object, ...]
    """The evaluate choice the cached comparison was made with."""

    @property
    def recommendation(self) -> Recommendation:
        """The recommendation for the answers as last saved."""
        raise NotImplementedError

    @property
    def evaluate_position(self) -> Position:
        """Where the Evaluate stage starts."""
        raise NotImplementedError

    def timestamp(self) -> float:
        """Now, in Unix seconds, from the app's clock."""
        raise NotImplementedError

    def open_monitor(self, folder: RunFolder) -> None:
        """Open the monitor of ``folder`` over whatever is on screen."""
        raise NotImplementedError

    def go_to(self, position: Position) -> None:
        """Leave the current step for ``position``."""
        raise NotImplementedError

    def record_dataset(self, report: DatasetReport) -> None:
        """Measured figures from the Dataset step flow into the decision."""
        raise NotImplementedError

    def record_evaluation(self, comparison: Comparison, key: tuple[object, ...]) -> None:
        """Measured scores from the Evaluate stage flow into the decision."""
        raise NotImplementedError
