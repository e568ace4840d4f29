"""The Train step: one run followed live from its folder, the same for every backend.

Reads only the run folder, through tails (``backends.run_watch``): the
history once, then the appended bytes, from a 4 Hz timer that pauses while
another screen covers this one. The plot is redrawn at that tick only when
new points arrived (or an option, the size or the theme changed).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import ClassVar

from textual import getters, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.events import Key, ScreenResume, ScreenSuspend
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Header, Log, Static
from textual.worker import Worker, WorkerState

from backends import control, registry
from backends.backend import BackendError
from backends.control import Action
from backends.gpu import GpuReading, read_gpus
from backends.local.export import list_exports
from backends.runs import RunFolder
from backends.runs.figures import RunFigures, compute_figures
from backends.runs.values import RunState
from backends.runs.watch import RunWatch, WatchUpdate
from tui.screens.confirm import ConfirmScreen
from tui.screens.host import JourneyApp
from tui.screens.message import MessageScreen
from tui.screens.run_output import OUTPUT_ACTIONS, OUTPUT_GROUPS, RunOutputActions
from tui.widgets.footer import KeyFooter, ScreenKeys
from tui.widgets.loss_plot import LossPlot, PlotOptions
from tui.widgets.run_stats import RunStats

Clock = Callable[[], float]
GpuProbe = Callable[[], Sequence[GpuReading]]

CONTROL_ACTIONS: dict[str, Action] = {
    "cancel_run": Action.CANCEL,
    "pause_run": Action.PAUSE,
    "resume_run": Action.RESUME,
    "save_now": Action.SAVE_NOW,
}


class MonitorScreen(RunOutputActions, Screen[None]):
    """Live loss plot, figures, alerts and the log tail of one run; keys to control it."""

    app = getters.app(JourneyApp)
    # Unannotated as in Textual's docs: Screen declares these ``ClassVar[...] | None``,
    # which mypy reads as instance variables that a ClassVar may not override.
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]  # noqa: RUF012
    COMMANDS = {ScreenKeys}  # noqa: RUF012
    VERTICAL_BREAKPOINTS = [(0, "-short"), (34, "-tall")]  # noqa: RUF012
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "detach", "Detach", id="detach"),
        Binding("c", "cancel_run", "Cancel", id="cancel-run"),
        Binding("p", "pause_run", "Pause", id="pause-run"),
        Binding("r", "resume_run", "Resume", id="resume-run"),
        Binding("k", "save_now", "Save now", id="save-now"),
        Binding("o", "show_output", "Output", id="show-output"),
        Binding("e", "evaluate", "Evaluate", id="evaluate"),
        Binding("m", "merge_output", "Merge", id="merge-output"),
        Binding("u", "push_output", "Push", id="push-output"),
        Binding("x", "export_output", "Export", id="export-output"),
        Binding("s", "cycle_smoothing", "Smoothing", id="toggle-smoothing", show=False),
        Binding("l", "toggle_log_scale", "Log scale", id="toggle-log-scale", show=False),
        Binding("v", "cycle_series", "Series", id="cycle-series", show=False),
        Binding("z", "cycle_zoom", "Zoom", id="cycle-zoom", show=False),
        Binding("g", "cycle_metric", "Plot", id="cycle-metric", show=False),
    ]

    POLL_S: ClassVar[float] = 0.25
    STATUS_EVERY: ClassVar[int] = 4
    """Re-read ``status.json`` every this many ticks (once a second)."""
    GPU_EVERY_S: ClassVar[float] = 5.0
    FOLLOWER_RETRY_S: ClassVar[float] = 30.0

    def __init__(
        self,
        folder: RunFolder,
        *,
        clock: Clock | None = None,
        gpu_probe: GpuProbe | None = None,
        standalone: bool = False,
        restart_follower: bool = True,
    ) -> None:
        super().__init__(classes="monitor")
        self.folder = folder
        self.clock: Clock = clock or time.time
        self.gpu_probe: GpuProbe = gpu_probe or read_gpus
        self.standalone = standalone
        self.restart_follower = restart_follower
        self.follow = RunWatch(folder)
        self.figures: RunFigures | None = None
        self.gpus: tuple[GpuReading, ...] = ()
        self.ticks = 0
        self._timer: Timer | None = None
        self._gpu_timer: Timer | None = None
        self._follower_tried_at: float | None = None
        self._alert_text = ""

    # --- layout -----------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="◆")
        with Horizontal(id="monitor-body"):
            with Vertical(id="monitor-plot-column"):
                yield LossPlot(self.follow.history, id="loss-plot")
                yield Static(PlotOptions().describe(), id="plot-options")
            with VerticalScroll(id="monitor-side", can_focus=False):
                yield RunStats(id="run-stats", offers_next=not self.standalone)
        yield Static(id="run-alert", markup=False)
        log = Log(id="log-tail", max_lines=2000, auto_scroll=True)
        log.border_title = "log.txt"
        yield log
        yield KeyFooter()

    @property
    def plot(self) -> LossPlot:
        return self.query_one(LossPlot)

    def on_mount(self) -> None:
        self.sub_title = f"Train · {self.folder.run_id}"
        backlog = self.follow.open(self.clock())
        if backlog:
            log = self.query_one(Log)
            log.write_lines(backlog)
            self.call_after_refresh(log.scroll_end, animate=False)
        self._show_figures()
        self._describe_plot()
        self._keep_follower()
        self._timer = self.set_interval(self.POLL_S, self.tick, name="monitor-poll")
        if self._wants_gpu():
            self.probe_gpus()
            self._gpu_timer = self.set_interval(self.GPU_EVERY_S, self.probe_gpus, name="gpu")

    # --- following the folder -------------------------------------------------
    def tick(self) -> None:
        """Read what was appended; redraw only what changed."""
        self.ticks += 1
        self._show_update(
            self.follow.poll(self.clock(), status=self.ticks % self.STATUS_EVERY == 0)
        )

    def _show_update(self, update: WatchUpdate) -> None:
        """Draw what a poll read: its log lines are gone from the tail once read, so every
        poll's update comes here."""
        if update.log_lines:
            self.query_one(Log).write_lines(update.log_lines)
        if update.points or update.reset:
            self.plot.update_data()
            self._describe_plot()
        if update.points or update.reset or update.status_changed:
            self._show_figures()
        if update.status_changed:
            self.refresh_bindings()
            self._keep_follower()
            if self.follow.status.state.is_terminal and self._gpu_timer is not None:
                self._gpu_timer.stop()
                self._gpu_timer = None
                self.gpus = ()

    def _show_figures(self) -> None:
        watch = self.follow
        self.figures = compute_figures(
            watch.spec,
            watch.status,
            watch.history,
            now=self.clock(),
            output_dir=self.folder.output_dir,
        )
        self.query_one(RunStats).show(self.figures, self.gpus)
        alert = self.query_one("#run-alert", Static)
        messages = []
        if self.figures.error and self.figures.state is RunState.FAILED:
            messages.append(f"Failed: {self.figures.error}")
        if watch.problem:
            messages.append(watch.problem)
        notes = []  # the follower's: what is missing and how to get it, damaged lines passed over
        if watch.status.extra.get("unfetched") and self.figures.detail:
            notes.append(self.figures.detail)
        if watch.metrics_note:
            notes.append(f"Note: {watch.metrics_note}")
        messages.extend(notes)
        if self.figures.alert is not None:
            messages.append(f"{self.figures.alert.message} {self.figures.alert.advice}")
        text = "\n".join(messages)
        if text != self._alert_text:  # Static.update lays the screen out again: only on change
            self._alert_text = text
            alert.update(text)
            alert.display = bool(messages)
        alert.set_class(bool(messages) and self.figures.state is RunState.FAILED, "-error")
        alert.set_class(self.figures.alert is not None, "-overfit")
        alert.set_class(bool(notes) and self.figures.alert is None, "-notes")
        self.set_class(bool(notes), "-noted")

    def on_screen_suspend(self, event: ScreenSuspend) -> None:
        if self._timer is not None:
            self._timer.pause()

    def on_screen_resume(self, event: ScreenResume) -> None:
        if self._timer is not None:
            self._timer.resume()
            self.tick()

    def _wants_gpu(self) -> bool:
        spec = self.follow.spec
        return (
            spec is not None
            and registry.is_local(spec.backend)
            and self.follow.status.state.is_active
        )

    @work(thread=True, exclusive=True, group="gpu", exit_on_error=False)
    def probe_gpus(self) -> tuple[GpuReading, ...]:
        return tuple(self.gpu_probe())

    def _keep_follower(self) -> None:
        """A hosted job whose follower died is caught up by starting a new follower."""
        status = self.follow.status
        if not self.restart_follower or status.extra.get("follower_alive") is not False:
            return
        now = time.monotonic()
        if (
            self._follower_tried_at is not None
            and now - self._follower_tried_at < self.FOLLOWER_RETRY_S
        ):
            return
        self._follower_tried_at = now
        self.start_follower()

    @work(thread=True, exclusive=True, group="follower", exit_on_error=False)
    def start_follower(self) -> str:
        from backends.hosted.follower import ensure_follower

        started = ensure_follower(self.folder)
        return "Restarted the follower of this hosted job." if started is not None else ""

    # --- actions ---------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        status = self.follow.status
        if action in CONTROL_ACTIONS:
            if status.state.is_terminal:
                return False  # a finished run has nothing to cancel, pause or save
            if action == "resume_run" and status.state is not RunState.PAUSED:
                return False
            if action == "pause_run" and status.state is RunState.PAUSED:
                return False
            spec = self.follow.spec
            if (
                spec is not None
                and not control.backend_supports(spec.backend, CONTROL_ACTIONS[action]).ok
            ):
                return False  # the backend cannot do it at all (a local run has no pause)
            verdict = control.check(spec, status, CONTROL_ACTIONS[action])
            return True if verdict.ok else None
        if action in OUTPUT_ACTIONS:
            return self.check_output_action(action)
        if action == "evaluate":
            if self.standalone:
                return False  # `finetune-tui watch` has no journey to go on with
            return status.state is RunState.SUCCEEDED
        return True

    def _hosted(self) -> bool:
        spec = self.follow.spec
        return spec is not None and registry.is_hosted(spec.backend)

    def on_key(self, event: Key) -> None:
        """A greyed-out control key says why it is greyed out."""
        for binding in self._bindings.key_to_bindings.get(event.key, []):
            action = CONTROL_ACTIONS.get(binding.action)
            if action is None:
                if binding.action == "evaluate" and self.check_action("evaluate", ()) is None:
                    self.notify("Evaluate opens once the run has succeeded.")
                if (
                    binding.action in OUTPUT_ACTIONS
                    and self.check_action(binding.action, ()) is None
                ):
                    self.notify(self.output_refusal(binding.action), title=binding.description)
                continue
            verdict = control.check(self.follow.spec, self.follow.status, action)
            if not verdict.ok:
                self.notify(f"{verdict.reason} {verdict.hint}".strip(), title=action.label)
                event.stop()
            return

    def action_detach(self) -> None:
        if self.standalone:
            self.app.exit()
        else:
            self.dismiss(None)

    def action_cancel_run(self) -> None:
        spec = self.follow.spec
        what = (
            "the hosted job (billing stops at what was trained)"
            if self._hosted()
            else ("the worker: it saves a checkpoint, then stops")
        )
        model = spec.model if spec else "this model"
        self.app.push_screen(
            ConfirmScreen(
                "Cancel this run?",
                f"{self.folder.run_id} ({model}) will be cancelled: {what}. This cannot be undone.",
                yes="Cancel the run",
                no="Keep it running",
            ),
            self._cancel_answered,
        )

    def _cancel_answered(self, yes: bool | None) -> None:
        if yes:
            self.control_run(Action.CANCEL)

    def action_pause_run(self) -> None:
        self.control_run(Action.PAUSE)

    def action_resume_run(self) -> None:
        self.control_run(Action.RESUME)

    def action_save_now(self) -> None:
        self.control_run(Action.SAVE_NOW)

    @work(thread=True, exclusive=True, group="control", exit_on_error=False)
    def control_run(self, action: Action) -> str:
        return control.perform(self.folder, action)

    @on(Worker.StateChanged)
    def _worker_done(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if event.state is WorkerState.SUCCESS:
            if worker.group == "gpu":
                self.gpus = tuple(worker.result or ())
                if self.figures is not None:
                    self.query_one(RunStats).show(self.figures, self.gpus)
            elif worker.group in ("control", "follower", *OUTPUT_GROUPS) and worker.result:
                lasting = worker.group in OUTPUT_GROUPS  # a result path to read and copy
                self.notify(str(worker.result), timeout=20 if lasting else 5)
                self._show_update(self.follow.poll(self.clock()))
                self._show_figures()
                self.refresh_bindings()
        elif event.state is WorkerState.ERROR:
            if worker.group == "gpu":
                self.gpus = ()
                return
            if worker.group == "hub-token":
                return  # no token found: push stays greyed
            self.refresh_bindings()
            error = worker.error
            message = str(error) if isinstance(error, BackendError) else repr(error)
            self.notify(message, title="Could not do that", severity="error", timeout=10)

    def action_show_output(self) -> None:
        figures = self.figures
        where = [f"Run folder: {self.folder.path}"]
        copied = None
        if figures is not None and figures.fine_tuned_model:
            where.append(f"Fine-tuned model: {figures.fine_tuned_model}")
            copied = figures.fine_tuned_model
            spec = self.follow.spec
            info = registry.find(spec.backend if spec is not None else None)
            deploy = info.deployment_instructions(figures.fine_tuned_model) if info else None
            if deploy:
                where += ["", deploy]
        output = self.folder.output_dir
        where.append(f"Output folder: {output}" + ("" if output.is_dir() else " (not created yet)"))
        if (output / "merged").is_dir():
            where.append(f"Merged model: {output / 'merged'}")
        for export in list_exports(self.folder):
            if export.name != "merged":
                where.append(f"Export: {export}")
        copied = copied or str(output)
        self.app.copy_to_clipboard(copied)
        where.append(f"Copied to the clipboard: {copied}")
        self.app.push_screen(MessageScreen("Where this run's results are", "\n".join(where)))

    def action_evaluate(self) -> None:
        """On to the Evaluate stage, with this run as the tuned model."""
        app = self.app
        app.eval_choice.tuned = self.folder.run_id
        self.dismiss(None)
        app.call_after_refresh(app.go_to, app.evaluate_position)

    def _set_plot_options(self, options: PlotOptions) -> None:
        self.plot.set_options(options)
        self._describe_plot()

    def _describe_plot(self) -> None:
        text = self.plot.options.describe(self.follow.history.metrics())
        self.query_one("#plot-options", Static).update(text)

    def action_cycle_metric(self) -> None:
        """The loss, then DPO's reward margin, reward accuracy and chosen/rejected rewards."""
        self._set_plot_options(self.plot.options.next_metric(self.follow.history.metrics()))

    def action_cycle_smoothing(self) -> None:
        self._set_plot_options(self.plot.options.next_smoothing())

    def action_toggle_log_scale(self) -> None:
        self._set_plot_options(self.plot.options.toggle_log())

    def action_cycle_series(self) -> None:
        self._set_plot_options(self.plot.options.next_series())

    def action_cycle_zoom(self) -> None:
        self._set_plot_options(self.plot.options.next_zoom())
