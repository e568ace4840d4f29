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
from tui.screens.step import Move, StepScreen
from tui.state import EvalChoice

if TYPE_CHECKING:
    from backends.evaluate.compare import Comparison

METRIC_COLUMNS = (("exact_match", "EM"), ("token_f1", "F1"), ("rouge_l", "ROUGE-L"))
RECOMMENDATION = Position(0, 4)


@dataclass
class EvalProgress(Message):
    done: int
    total: int

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, EvalProgress)


def eval_arguments_for(choice: EvalChoice, app: Any) -> Any:
    """The ``finetune-tui eval`` arguments that say what ``choice`` says."""
    from tui.commands.evaluate import eval_arguments

    split = choice.source == "split"
    return eval_arguments(
        workspace=str(app.workspace.root),
        data=choice.train_path if split else choice.eval_path,
        train=None if split else (choice.train_path or None),
        split=choice.split_fraction if split else None,
        model=choice.model,
        provider=choice.provider or None,
        few_shot=choice.few_shot_k,
        rag=choice.rag_k,
        tuned=choice.tuned or None,
        limit=choice.limit,
        seed=choice.seed,
        concurrency=choice.concurrency,
        secret=app.backend_choice.secret or None,
        azure_endpoint=app.backend_choice.azure_endpoint or None,
        api_version=app.backend_choice.api_version or None,
    )


def method_label(result: Any) -> str:
    from backends.evaluate.compare import METHOD_LABELS

    return METHOD_LABELS[result.method] + (f" k={result.shots}" if result.shots else "")


def interval(summary: Any) -> str:
    return "-" if summary is None else f"{summary.mean:.2f} {summary.low:.2f}–{summary.high:.2f}"


def _usd(value: float | None) -> str:
    return "-" if value is None else f"${value:,.3f}"


def benefit_lines(comparison: Comparison, requested: int) -> list[str]:
    """The benefit figures in words, then what is missing and why."""
    from backends.evaluate.compare import METHOD_LABELS
    from backends.evaluate.scoring import METRIC_LABELS

    lines: list[str] = []
    benefit = comparison.benefit
    if benefit is not None:
        metric = METRIC_LABELS[benefit.metric]
        if benefit.quality_gain is not None and benefit.best_alternative is not None:
            lines.append(
                f"Quality gain ({metric}): {benefit.quality_gain:+.3f} over the best alternative, "
                f"{METHOD_LABELS[benefit.best_alternative]} "
                f"({benefit.best_alternative_score:.3f} → {benefit.tuned_score:.3f})."
            )
        elif benefit.best_alternative is not None:
            lines.append(
                f"Best alternative ({metric}): {METHOD_LABELS[benefit.best_alternative]} "
                f"at {benefit.best_alternative_score:.3f}. Add a tuned model to see the gain."
            )
        if benefit.prompt_tokens_saved:
            saved = ", ".join(
                f"{tokens:,.0f} vs {METHOD_LABELS[name]}"
                for name, tokens in benefit.prompt_tokens_saved.items()
            )
            lines.append(f"Prompt tokens saved per request: {saved}.")
        costs = [
            f"{METHOD_LABELS[name]} {_usd(cost)}"
            for name, cost in benefit.cost_per_1000.items()
            if cost is not None
        ]
        if costs:
            lines.append(
                f"Cost per 1,000 requests: {' · '.join(costs)} (prices as of {benefit.prices_as_of})."
            )
        if benefit.break_even_requests is not None:
            lines.append(
                f"Break-even: {benefit.break_even_requests:,.0f} requests (training "
                f"{_usd(benefit.training_cost)} ÷ ${benefit.saving_per_request:.6f} saved per request)."
            )
        elif "tuned" in comparison.methods:
            lines.append(
                "Break-even: needs a training cost and a saving per request "
                "(a tuned model cheaper per request than the best alternative)."
            )
    for result in comparison.methods.values():
        if result.errors:
            lines.append(
                f"{method_label(result)}: {result.errors} failed, e.g. {result.first_error}"
            )
    lines += [f"Note: {note}" for note in comparison.notes]
    if comparison.cancelled:
        answered = sum(r.answered + r.errors for r in comparison.methods.values())
        lines.append(f"Stopped: partial results ({answered} of {requested} requests answered).")
    return lines


class EvaluateResultsScreen(StepScreen):
    position = Position(4, 1)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / stop", id="back"),
        Binding("ctrl+r", "rerun", "Run again", id="eval-rerun"),
        Binding("ctrl+s", "sort", "Sort Δ", id="eval-sort"),
    ]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.cancel_event = threading.Event()
        self.comparison: Comparison | None = None
        self.started = 0.0
        self.total_requests = 0
        self.best_first = False

    @property
    def choice(self) -> EvalChoice:
        return self.app.eval_choice  # type: ignore[attr-defined, no-any-return]

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
        return f"Evaluating {choice.model}{tuned} on {data}"

    def _key(self) -> tuple[Any, ...]:
        return dataclasses.astuple(self.choice)

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#eval-results").display = False
        cached = self.app.comparison  # type: ignore[attr-defined]
        if cached is not None and self.app.comparison_key == self._key():  # type: ignore[attr-defined]
            self.show_comparison(cached, record=False)
        else:
            self.start()

    def start(self) -> None:
        self.cancel_event = threading.Event()
        self.comparison = None
        self.started = time.monotonic()
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
        """Load, then compare; a local model loads and generates here (cancellable between batches)."""
        from backends.evaluate.compare import Plan, compare
        from tui.commands.evaluate import UsageProblem, check_numbers, prepare

        args = eval_arguments_for(self.choice, self.app)
        problem = check_numbers(args)
        if problem:
            raise UsageProblem(problem)
        eval_set, base, tuned, training_cost = prepare(args)
        if tuned is not None and training_cost is None:
            training_cost = self.app.answers.measured.training_cost  # type: ignore[attr-defined]
        plan = Plan(
            base,
            tuned,
            few_shot_k=args.few_shot,
            rag_k=args.rag,
            zero_shot=self.choice.zero_shot,
            seed=args.seed,
        )
        return compare(
            eval_set,
            plan,
            cancel=self.cancel_event,
            progress=lambda done, total: self.post_message(EvalProgress(done, total)),
            training_cost=training_cost,
        )

    def on_eval_progress(self, message: EvalProgress) -> None:
        self.total_requests = message.total
        bar = self.query_one("#eval-bar", ProgressBar)
        bar.update(total=max(message.total, 1), progress=message.done)
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = message.done / elapsed
        left = (message.total - message.done) / rate if rate else 0
        self.query_one("#eval-rate", Static).update(
            f"{message.done} of {message.total} requests · {rate:,.1f}/s · about {left:,.0f} s left"
        )

    @on(Worker.StateChanged)
    def _run_state(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "evaluate":
            return
        if event.state is WorkerState.SUCCESS:
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

        self.comparison = comparison
        app = self.app
        if record:
            app.record_evaluation(comparison, self._key())  # type: ignore[attr-defined]
        self.query_one("#eval-run").display = False
        self.query_one("#eval-results").display = True
        table = self.query_one("#eval-table", DataTable)
        table.clear(columns=True)
        table.add_columns("Method", "N", *(label for _, label in METRIC_COLUMNS))
        table.add_columns("Tok/req", "Latency", "$/1K")
        costs = comparison.benefit.cost_per_1000 if comparison.benefit else {}
        for name, result in comparison.methods.items():
            table.add_row(
                method_label(result),
                f"{result.answered}/{result.requested}",
                *(interval(result.scores.get(metric)) for metric, _ in METRIC_COLUMNS),
                "-" if result.prompt_tokens is None else f"{result.prompt_tokens:,.0f}",
                "-" if result.latency_s is None else f"{result.latency_s:.2f}s",
                _usd(costs.get(name)).removeprefix("$"),
                key=name,
            )
        requested = self.total_requests or sum(r.requested for r in comparison.methods.values())
        lines = benefit_lines(comparison, requested)
        measured = app.answers.measured  # type: ignore[attr-defined]
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
        return "Recommendation ›"

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
        self.dismiss(RECOMMENDATION)

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
