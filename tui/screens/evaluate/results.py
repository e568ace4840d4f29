"""Evaluate step 2: run the comparison off the UI thread, then the table, the benefit and the examples."""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import DataTable, ProgressBar, Static, TabbedContent, TabPane
from textual.worker import Worker, WorkerState

from tui.journey import Position
from tui.screens.evaluate.figures import interval, metric_columns, request_for
from tui.screens.step import Move, StepScreen
from tui.state import EvalChoice

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison


@dataclass
class EvalProgress(Message):
    done: int
    total: int
    phase: str = "requests"
    """``requests`` (the methods), then ``judged`` (the LLM judge, when one is set)."""

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EvalProgress) and message.phase == self.phase


class EvaluateResultsScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(4, 1)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / stop", id="back"),
        Binding("ctrl+r", "rerun", "Run again", id="eval-rerun"),
        Binding("ctrl+s", "sort", "Sort Δ", id="eval-sort"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cancel_event = threading.Event()
        self.comparison: Comparison | None = None
        self.started = 0.0
        self.total_requests = 0
        self.phase = "requests"
        self.best_first = False

    @property
    def choice(self) -> EvalChoice:
        return self.app.eval_choice

    def compose_body(self) -> ComposeResult:
        with Vertical(id="eval-run"):
            yield Static(self._what(), id="eval-what", markup=False)
            yield ProgressBar(id="eval-bar", show_eta=False)
            yield Static("", id="eval-rate")
            yield Static("Esc stops; what finished is kept and scored.", id="eval-hint")
        with TabbedContent(id="eval-results"):
            with TabPane("Comparison", id="tab-comparison"), VerticalScroll(id="eval-summary"):
                yield DataTable(id="eval-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="eval-benefit", markup=False)
            with TabPane("Examples", id="tab-examples"):
                yield Static(
                    "Worst first: where the tuned model lost most to the best alternative. "
                    "Enter opens one; Ctrl+S flips the order.",
                    id="eval-examples-hint",
                )
                yield DataTable(id="eval-examples", cursor_type="row", zebra_stripes=True)

    def _what(self) -> str:
        choice = self.choice
        data = choice.train_path + " (split)" if choice.source == "split" else choice.eval_path
        tuned = f" and {choice.tuned}" if choice.tuned else ""
        tuned += f" against the current fine-tune {choice.current}" if choice.current else ""
        judge = f", graded by {choice.judge}" if choice.judge else ""
        return f"Evaluating {choice.model}{tuned} on {data}{judge}"

    def _key(self) -> tuple[Any, ...]:
        return dataclasses.astuple(self.choice)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#eval-results").display = False
        cached = self.app.comparison
        if cached is not None and self.app.comparison_key == self._key():
            self.show_comparison(cached, record=False)
        else:
            self.start()

    def start(self) -> None:
        self.cancel_event = threading.Event()
        self.comparison = None
        self.started = time.monotonic()
        self.phase = "requests"
        self.query_one("#eval-run").display = True
        self.query_one("#eval-bar").display = True
        self.query_one("#eval-results").display = False
        self.query_one("#eval-rate", Static).update("Loading the examples and the models…")
        self._validity = None
        self.refresh_validity()
        self.run_comparison()

    @work(
        thread=True, exclusive=True, exit_on_error=False, group="evaluate", description="Evaluating"
    )
    def run_comparison(self) -> Comparison:
        """Load, then compare and judge; a local model loads and generates here (cancellable between batches)."""
        from backends.evaluate import session
        from backends.evaluate.setup import prepare

        request = request_for(self.choice, self.app)
        # A run that does not say what its training cost: the Dataset step's estimate.
        measured_cost = self.app.answers.measured.training_cost
        request = dataclasses.replace(request, training_cost=measured_cost)
        return session.run(
            prepare(request),
            cancel=self.cancel_event,
            progress=lambda done, total, phase: self.post_message(EvalProgress(done, total, phase)),
        )

    def on_eval_progress(self, message: EvalProgress) -> None:
        if message.phase == "requests":
            self.total_requests = message.total
        elif self.phase != message.phase:
            self.phase, self.started = message.phase, time.monotonic()
        bar = self.query_one("#eval-bar", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = message.done / elapsed
        left = (message.total - message.done) / rate if rate else 0
        what = "graded by the judge" if message.phase == "judged" else "requests"
        self.query_one("#eval-rate", Static).update(
            f"{message.done} of {message.total} {what} · {rate:,.1f}/s · about {left:,.0f} s left"
        )

    @on(Worker.StateChanged)
    def _run_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "evaluate":
            return
        if event.state is WorkerState.SUCCESS and event.worker.result is not None:
            self.show_comparison(event.worker.result)
        elif event.state is WorkerState.ERROR:
            self.query_one("#eval-what", Static).update(f"Could not evaluate: {event.worker.error}")
            self.query_one("#eval-rate", Static).update("")
            self.query_one("#eval-hint", Static).update(
                "Esc goes back to the setup; Ctrl+R tries again."
            )
            self.query_one("#eval-bar").display = False
            self._validity = None
            self.refresh_validity()

    @property
    def running(self) -> bool:
        return any(w.group == "evaluate" and w.is_running for w in self.workers)

    # --- results -------------------------------------------------------------

    def show_comparison(self, comparison: Comparison, *, record: bool = True) -> None:
        from backends.evaluate.compare import METHOD_LABELS
        from backends.evaluate.wording import benefit_lines, method_label, usd

        self.comparison = comparison
        app = self.app
        if record:
            app.record_evaluation(comparison, self._key())
        self.query_one("#eval-run").display = False
        self.query_one("#eval-results").display = True
        table = self.query_one("#eval-table", DataTable)
        table.clear(columns=True)
        columns = metric_columns(comparison)
        table.add_columns("Method", "N", *(label for _, label in columns))
        table.add_columns("Tok/req", "Latency", "$/1K")
        costs = comparison.benefit.cost_per_1000 if comparison.benefit else {}
        for name, result in comparison.methods.items():
            table.add_row(
                method_label(result),
                f"{result.answered}/{result.requested}",
                *(interval(result.scores.get(metric)) for metric, _ in columns),
                "-" if result.prompt_tokens is None else f"{result.prompt_tokens:,.0f}",
                "-" if result.latency_s is None else f"{result.latency_s:.2f}s",
                usd(costs.get(name)).removeprefix("$"),
                key=name,
            )
        requested = self.total_requests or sum(r.requested for r in comparison.methods.values())
        lines = benefit_lines(comparison, requested)
        measured = app.answers.measured
        if measured.baseline_score is not None or measured.tuned_score is not None:
            tuned = "-" if measured.tuned_score is None else f"{measured.tuned_score:g}%"
            baseline = "-" if measured.baseline_score is None else f"{measured.baseline_score:g}%"
            lines.append(
                f"Recorded in the decision: baseline {baseline}, tuned {tuned} "
                "(Ctrl+N shows the recommendation)."
            )
        self.query_one("#eval-benefit", Static).update("\n".join(lines))
        self.methods = [m for m in comparison.methods]
        self.method_titles = {m: METHOD_LABELS[m] for m in self.methods}
        self.fill_examples()
        self._validity = None
        self.refresh_validity()
        table.focus()

    def fill_examples(self) -> None:
        from backends.evaluate.compare import METHOD_LABELS

        assert self.comparison is not None
        table = self.query_one("#eval-examples", DataTable)
        table.clear(columns=True)
        methods = list(self.comparison.methods)
        table.add_columns("Line", "Δ F1", *(METHOD_LABELS[m] for m in methods), "Prompt")
        rows = self.comparison.sorted_rows()
        if self.best_first:
            rows = [r for r in reversed(rows) if r.difference() is not None] + [
                r for r in rows if r.difference() is None
            ]
        for row in rows:
            difference = row.difference()
            asked = row.prompt.rsplit("user: ", 1)[-1]  # the last user turn says what was asked
            prompt = " ".join(asked.split())
            table.add_row(
                str(row.line),
                "-" if difference is None else f"{difference:+.2f}",
                *(f"{row.scores[m]['token_f1']:.2f}" if m in row.scores else "-" for m in methods),
                prompt[:48] + ("…" if len(prompt) > 48 else ""),
                key=str(row.line),
            )

    @on(DataTable.RowSelected, "#eval-examples")
    def _open_example(self, event: DataTable.RowSelected) -> None:
        from tui.screens.evaluate.example import ExampleScreen

        if self.comparison is None or event.row_key.value is None:
            return
        line = int(event.row_key.value)
        row = next(r for r in self.comparison.rows if r.line == line)
        self.app.push_screen(ExampleScreen(row, list(self.comparison.methods)))

    # --- navigation -------------------------------------------------------------

    def next_label(self) -> str:
        return "Try it ›"

    def can_go_next(self) -> bool:
        return self.comparison is not None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rerun":
            return None if self.running else True
        if action == "sort":
            return True if self.comparison is not None else None
        return super().check_action(action, parameters)

    def action_next(self) -> None:
        if self.comparison is None:
            self.app.bell()
            return
        self.store()
        self.dismiss("next")

    def action_back(self) -> None:
        if self.running:
            self.cancel_event.set()
            self.query_one("#eval-hint", Static).update("Stopping: keeping what finished…")
            return
        super().action_back()

    def leave(self, move: Move) -> None:
        self.cancel_event.set()
        super().leave(move)

    def action_rerun(self) -> None:
        if not self.running:
            self.start()

    def action_sort(self) -> None:
        if self.comparison is not None:
            self.best_first = not self.best_first
            self.fill_examples()
