"""Backend step 3: what will run, the backend's own checks, then launch (after a confirmation).

The checks (``prepare``: files, hashes, model, memory) and the launch
(upload with progress, job creation, the detached follower or worker) run in
thread workers; Esc during an upload stops before any job is created. When
the run folder exists the live monitor opens on it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, cast

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import ProgressBar, Static
from textual.worker import Worker, WorkerState

from backends import registry
from backends.backend import BackendError, Problem
from backends.runs.values import RunSpec
from tui.journey import Position
from tui.screens.backend.plan import (
    build_spec,
    hosted_backend,
    local_backend,
    price_line,
    settings_lines,
    take_offer,
)
from tui.screens.confirm import ConfirmScreen
from tui.screens.step import StepScreen
from tui.state import BackendChoice, DatasetChoice
from tui.widgets.offers import MigrationOffers, OfferTaken

if TYPE_CHECKING:
    from backends.runs import RunFolder


@dataclass
class UploadProgress(Message):
    what: str
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UploadProgress)


@dataclass
class Prepared:
    spec: RunSpec | None
    problems: list[Problem]
    data_blocked: bool = False
    """The data has errors (``backends.preflight``): the way on is back to the Dataset step."""


DATASET_REPORT = Position(1, 1)
SETTINGS = Position(2, 1)


class BackendLaunchScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(2, 2)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="back"),
        Binding("d", "fix_data", "Fix the data", id="fix-data"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.prepared: Prepared | None = None
        self.launching = False
        self.cancel_launch = threading.Event()
        self.folder: RunFolder | None = None
        self.backend: Any = None
        self.refused = False
        """The provider refused to create the job (403 ``training_not_available``): the offers show."""

    @property
    def choice(self) -> BackendChoice:
        return self.app.backend_choice

    @property
    def data(self) -> DatasetChoice:
        return self.app.dataset_choice

    @property
    def is_local(self) -> bool:
        return registry.is_local(self.choice.backend)

    def next_label(self) -> str:
        return "Launch ›"

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="form"):
            yield Static(self.summary(), id="launch-summary", markup=False)
            if self.chosen and not self.is_local:
                yield Static(
                    price_line(self.choice, self.app.dataset_report),
                    id="launch-price",
                    markup=False,
                )
            yield Static("Checking the data and settings…", id="launch-checks", markup=False)
            yield MigrationOffers(id="offers")
        yield ProgressBar(id="launch-bar", show_eta=False)
        yield Static("", id="launch-status", markup=False)

    def summary(self) -> str:
        choice, data = self.choice, self.data
        if registry.find(choice.backend) is None:
            return "Nothing to launch yet: choose where to train (Backend › Where to train)."
        report = self.app.dataset_report
        examples = f" ({report.valid_examples:,} examples)" if report is not None else ""
        model = choice.local_model if self.is_local else choice.hosted_model
        rows = [
            ("Where", registry.label(choice.backend)),
            ("Training data", f"{data.train}{examples}"),
            ("Validation", data.validation or "none"),
            ("Model", model),
            *settings_lines(choice),
        ]
        return "\n".join(f"{label:<16} {value}" for label, value in rows)

    @property
    def chosen(self) -> bool:
        return registry.find(self.choice.backend) is not None

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#launch-bar").display = False
        if not self.chosen:
            self.query_one("#launch-checks", Static).update("")
            return
        self.backend = local_backend(self.choice) if self.is_local else self._hosted()
        self.prepare()

    def _hosted(self) -> Any:
        return hosted_backend(self.choice, self.app.today)

    # --- checks ------------------------------------------------------------------
    @work(thread=True, exclusive=True, exit_on_error=False, group="prepare")
    def prepare(self) -> Prepared:
        try:
            spec = build_spec(self.choice, self.data)
        except (OSError, ValueError) as error:
            return Prepared(None, [Problem(f"Cannot build the run: {error}")])
        from backends.preflight import preflight

        checked = preflight(self.backend, spec)
        return Prepared(checked.spec or spec, checked.problems, checked.data_blocked)

    def show_checks(self, prepared: Prepared) -> None:
        self.prepared = prepared
        lines = [
            f"{'✗' if problem.fatal else '•'} {problem.message}" for problem in prepared.problems
        ]
        if not any(problem.fatal for problem in prepared.problems) and not self.refused:
            lines.insert(0, "✓ Ready to launch.")
        if prepared.data_blocked:
            lines.append("Press d to go back to the Dataset report: each finding has its fix.")
        checks = self.query_one("#launch-checks", Static)
        checks.update("\n".join(lines))
        checks.set_class(self.fatal() is not None, "-blocked")
        self._validity = None
        self.refresh_validity()
        self.refresh_bindings()

    def fatal(self) -> str | None:
        if self.prepared is None:
            return None
        return next((p.message for p in self.prepared.problems if p.fatal), None)

    def problems(self) -> list[str]:
        if self.folder is not None:
            return [f"Launched as run {self.folder.run_id} (F5 lists the runs)."]
        if not self.chosen:
            return ["Choose where to train first (Back)."]
        if self.refused:
            return [
                f"{registry.label(self.choice.backend)} will not take it: take an offer, or Back."
            ]
        fatal = self.fatal()
        return [fatal] if fatal else []

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fix_data":
            return self.prepared is not None and self.prepared.data_blocked and not self.launching
        return super().check_action(action, parameters)

    def action_fix_data(self) -> None:
        """Back to the Dataset report, where each finding has its line and its fix."""
        self.leave(DATASET_REPORT)

    def can_go_next(self) -> bool:
        return self.prepared is not None and self.prepared.spec is not None and not self.launching

    # --- launch --------------------------------------------------------------------
    def action_next(self) -> None:
        if self.problems() or not self.can_go_next():
            self.app.bell()
            return
        self.app.push_screen(
            ConfirmScreen(self.confirm_title(), self.confirm_body(), yes="Launch", no="Not now"),
            self._confirmed,
        )

    def confirm_title(self) -> str:
        if self.is_local:
            return "Start training on this machine?"
        return f"Create a billable job on {registry.label(self.choice.backend)}?"

    def confirm_body(self) -> str:
        if self.is_local:
            return (
                "A training worker starts in the background (it outlives this window). "
                "Cancel it from the monitor; it saves a checkpoint first."
            )
        return (
            f"The data is uploaded and a fine-tuning job for {self.choice.hosted_model} is "
            f"created; it costs money.\n{price_line(self.choice, self.app.dataset_report)}"
        )

    def _confirmed(self, yes: bool | None) -> None:
        if not yes or self.prepared is None or self.prepared.spec is None:
            return
        self.launching = True
        self.cancel_launch.clear()
        self._validity = None
        self.refresh_validity()
        status = self.query_one("#launch-status", Static)
        status.set_classes("")
        status.update("Starting the worker…" if self.is_local else "Uploading… (Esc stops)")
        self.launch(self.prepared.spec)

    @work(thread=True, exclusive=True, exit_on_error=False, group="launch")
    def launch(self, spec: RunSpec) -> RunFolder:
        from backends.runs import RunStore

        store = RunStore.of(self.app.workspace)
        return self.backend.launch(
            spec,
            store,
            progress=lambda what, done, total: self.post_message(UploadProgress(what, done, total)),
            cancel=self.cancel_launch,
        )

    def on_upload_progress(self, message: UploadProgress) -> None:
        bar = self.query_one("#launch-bar", ProgressBar)
        bar.display = True
        bar.update(total=max(message.total, 1), progress=message.done)
        self.query_one("#launch-status", Static).update(
            f"Uploading {message.what}: {message.done / 2**20:,.1f} of "
            f"{message.total / 2**20:,.1f} MB (Esc stops)"
        )

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "prepare":
            if event.state is WorkerState.SUCCESS:
                self.show_checks(cast(Prepared, event.worker.result))
            elif event.state is WorkerState.ERROR:
                self.show_checks(Prepared(None, [Problem(self.explain(event.worker.error))]))
        elif event.worker.group == "launch" and event.state.name in ("SUCCESS", "ERROR"):
            self.launching = False
            self.query_one("#launch-bar").display = False
            if event.state is WorkerState.SUCCESS:
                self.launched(cast("RunFolder", event.worker.result))
            elif not self._offer_elsewhere(event.worker.error):
                self.failed(self.explain(event.worker.error))
            self._validity = None
            self.refresh_validity()

    def launched(self, folder: RunFolder) -> None:
        self.folder = folder
        status = self.query_one("#launch-status", Static)
        status.set_classes("-ok")
        status.update(f"Launched run {folder.run_id}.")
        # On to the Train step (its runs list), with the new run's monitor over it.
        self.app.monitor_next = folder
        self.store()
        self.dismiss("next")

    def failed(self, message: str) -> None:
        status = self.query_one("#launch-status", Static)
        status.set_classes("-error")
        status.update(f"Not launched: {message}")

    def _offer_elsewhere(self, error: BaseException | None) -> bool:
        """OpenAI answered 403 ``training_not_available``: say so in one line and offer the
        others, same data, the list in view and focused (Enter takes one). ``False`` for any
        other error."""
        from backends.hosted.errors import TrainingNotAvailable
        from backends.migration import offers
        from backends.text import printable_line

        if not isinstance(error, TrainingNotAvailable):
            return False
        self.refused = True
        if self.prepared is not None:
            self.show_checks(self.prepared)  # no "Ready to launch" after a refusal
        label = registry.label(self.choice.backend)
        said = printable_line(error.said) if error.said else "training_not_available"
        self.failed(f"{label} refused to create the job (403): {said}")
        found = offers(self.choice.hosted_model, self.app.today)
        offered = self.query_one("#offers", MigrationOffers)
        offered.show(f"{label} refused to create the job.", found)
        self.query_one("#offers-list").focus(scroll_visible=False)
        self.call_after_refresh(offered.scroll_visible, top=True, animate=False)
        return True

    def on_offer_taken(self, message: OfferTaken) -> None:
        """Back to Settings, pre-filled with the offer's backend and model (same data)."""
        instead_of = self.choice.hosted_model or "the model"
        take_offer(self.choice, message.offer, message.reason, instead_of)
        self.dismiss(SETTINGS)

    def explain(self, error: BaseException | None) -> str:
        """One plain line: a backend's own explanation, else the error's type and text, redacted."""
        from backends.hosted.errors import redact

        text = str(error) if isinstance(error, BackendError) else f"{type(error).__name__}: {error}"
        return redact(text, (self.choice.secret,))

    def action_back(self) -> None:
        if self.launching:
            self.cancel_launch.set()
            self.query_one("#launch-status", Static).update("Stopping before the job is created…")
            return
        super().action_back()
