"""Evaluate step 1: the held-out examples, the base model, and the methods to measure."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.suggester import SuggestFromList
from textual.widgets import Checkbox, Input, Select, Static
from textual.worker import Worker, WorkerState

from backends import registry
from tui.journey import Position
from tui.screens.dataset.pick import DATA_SUFFIXES
from tui.screens.evaluate.figures import JUDGE_OFF, judge_cost_text, judge_provider_for
from tui.screens.host import JourneyApp
from tui.screens.step import StepScreen
from tui.state import EvalChoice
from tui.widgets.form import Field, NumberInput
from tui.widgets.path_suggester import PathSuggester

if TYPE_CHECKING:
    from backends.evaluate.setup import RunData

PROVIDER_LABELS = {
    **{entry.name: entry.label for entry in registry.hosted()},
    registry.LOCAL: "Local (transformers)",
}
SOURCE_LABELS = {
    "validation": "A held-out file (validation data)",
    "split": "A seeded split of the training file",
}


@dataclass
class ProviderChecked(Message):
    """Whether ``provider`` can answer here, and why not (checked off the UI thread)."""

    provider: str
    problem: str | None


@dataclass
class JudgeCosted(Message):
    """The LLM judge's estimated cost for the form as it was (``judge``: the model priced)."""

    judge: str
    text: str


def fill_defaults(app: JourneyApp) -> EvalChoice:
    """The app's Evaluate choice, its blanks filled from the Dataset and Backend choices."""
    choice: EvalChoice = app.eval_choice
    dataset = app.dataset_choice
    backend = app.backend_choice
    answers = app.answers
    if choice.tuned and choice.tuned != choice.data_for_tuned:
        from backends.evaluate.setup import run_data

        choice.data_for_tuned = choice.tuned
        trained = run_data(app.workspace, choice.tuned)
        if trained is not None and trained.validation:
            # The run's own held-out file: examples it never learnt from.
            choice.source, choice.eval_path = "validation", trained.validation
        if trained is not None and not choice.train_path:
            choice.train_path = trained.train
    if not choice.train_path:
        choice.train_path = dataset.train
    if not choice.eval_path:
        choice.eval_path = dataset.validation
        if not dataset.validation and dataset.train:
            choice.source = "split"
    if not choice.provider:
        trains = registry.for_provider(answers.cost.provider)
        choice.provider = backend.backend or (
            trains.name if trains is not None else registry.DEFAULT_HOSTED
        )
    if not choice.model:
        if registry.is_local(choice.provider):
            choice.model = backend.local_model or dataset.model
        else:
            choice.model = (
                backend.hosted_model
                or answers.cost.model.strip()
                or answers.use_case.current_model.strip()
                or dataset.model
                or "gpt-4o-mini"
            )
    return choice


class EvaluateSetupScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(4, 0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.provider_problems: dict[str, str | None] = {}
        self.judge_price = ""
        """The judge's price for the form as it is (blank until priced)."""
        self.runs_data: dict[str, RunData | None] = {}
        """Per tuned name: the files that run trained and validated on (``None``: not a run)."""

    def trained(self, tuned: str) -> RunData | None:
        from backends.evaluate.setup import run_data

        if tuned not in self.runs_data:
            self.runs_data[tuned] = run_data(self.app.workspace, tuned)
        return self.runs_data[tuned]

    @property
    def choice(self) -> EvalChoice:
        return fill_defaults(self.app)

    def compose_form(self) -> ComposeResult:
        choice = self.choice
        yield Field(
            "Evaluate on",
            Select(
                [(label, key) for key, label in SOURCE_LABELS.items()],
                value=choice.source,
                allow_blank=False,
                compact=True,
                id="eval-source",
            ),
            "Never examples the model is trained on: a split is checked against the run's data.",
        )
        yield Field(
            "Held-out file",
            Input(
                choice.eval_path,
                placeholder="valid.jsonl",
                suggester=PathSuggester(DATA_SUFFIXES),
                compact=True,
                id="eval-path",
            ),
            id="eval-path-field",
        )
        yield Field(
            "Training file",
            Input(
                choice.train_path,
                placeholder="train.jsonl",
                suggester=PathSuggester(DATA_SUFFIXES),
                compact=True,
                id="eval-train",
            ),
            "Few-shot and RAG draw their examples from it.",
        )
        yield Field(
            "Provider",
            Select(
                [(label, key) for key, label in PROVIDER_LABELS.items()],
                value=choice.provider,
                allow_blank=False,
                compact=True,
                id="eval-provider",
            ),
        )
        yield Field(
            "Base model",
            Input(choice.model, placeholder="gpt-4o-mini", compact=True, id="eval-model"),
        )
        yield Field(
            "Zero-shot",
            Checkbox("the examples' own prompt", choice.zero_shot, compact=True, id="eval-zero"),
        )
        few = NumberInput(choice.few_shot_k, integer=True, minimum=0, maximum=20, id="eval-few")
        few.tooltip = "Few-shot k"
        yield Field("Few-shot k", few, "Examples put before each prompt; 0 leaves it out.")
        rag = NumberInput(choice.rag_k, integer=True, minimum=0, maximum=20, id="eval-rag")
        rag.tooltip = "RAG k"
        yield Field("RAG k", rag, "Most similar training examples (BM25); 0 leaves it out.")
        yield Field(
            "Tuned model",
            Input(
                choice.tuned,
                placeholder="a run id, or ft:… / a model folder (blank: baselines only)",
                suggester=SuggestFromList(self._run_ids(), case_sensitive=False),
                compact=True,
                id="eval-tuned",
            ),
        )
        yield Field(
            "Current fine-tune",
            Input(
                choice.current,
                placeholder="optional: the ft:… model in use today, compared on the same prompts",
                compact=True,
                id="eval-current",
            ),
            "Its own row, with its cost per 1,000 requests (OpenAI serves ft: models).",
        )
        limit = NumberInput(choice.limit, integer=True, minimum=1, id="eval-limit")
        limit.tooltip = "Limit"
        yield Field("Limit N", limit, "Evaluate the first N examples (blank: all).")
        yield Field(
            "LLM judge",
            Input(
                choice.judge,
                placeholder="optional: a hosted model, e.g. gpt-4.1-mini (blank: off)",
                compact=True,
                id="eval-judge",
            ),
            JUDGE_OFF,
        )

    def compose_summary(self) -> ComposeResult:
        yield Static("", id="eval-checks", markup=False)

    def _run_ids(self) -> list[str]:
        from backends.runs import RunStore

        try:
            return [f.run_id for f in RunStore.of(self.app.workspace).list_folders()]
        except OSError:
            return []

    def on_mount(self) -> None:
        super().on_mount()
        self._show_source_fields()
        self.check_provider(self.chosen_provider())
        self.judge_changed()

    def chosen_provider(self) -> str:
        value = self.query_one("#eval-provider", Select).value
        return value if isinstance(value, str) else registry.DEFAULT_HOSTED

    @work(thread=True, exit_on_error=False, group="eval-availability")
    def check_provider(self, provider: str) -> None:
        from backends.evaluate.connections import provider_problem

        backend = self.app.backend_choice
        problem = provider_problem(provider, backend.secret, backend.azure_endpoint)
        self.post_message(ProviderChecked(provider, problem))

    def on_provider_checked(self, message: ProviderChecked) -> None:
        self.provider_problems[message.provider] = message.problem
        self._validity = None
        self.refresh_validity()

    @on(Worker.StateChanged)
    def _check_failed(self, event: Worker.StateChanged) -> None:
        if event.state is not WorkerState.ERROR:
            return
        if event.worker.group == "eval-availability":
            self.notify(f"Checking the provider failed: {event.worker.error}", severity="error")
        elif event.worker.group == "eval-judge-cost":
            self.query_one("#eval-judge-hint", Static).update(
                f"Could not price the judge: {event.worker.error}"
            )

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        self._show_source_fields()
        if event.select.id == "eval-provider":
            provider = self.chosen_provider()
            if provider not in self.provider_problems:
                self.check_provider(provider)
        self._validity = None
        self.refresh_validity()
        self.judge_changed()

    @on(Checkbox.Changed)
    def _checkbox_changed(self) -> None:
        self._validity = None
        self.refresh_validity()
        self.judge_changed()

    # --- the LLM judge: its provider checked, its cost estimated as the form changes ---

    def judge_model(self) -> str:
        return self.query_one("#eval-judge", Input).value.strip()

    def judge_provider(self) -> str:
        return judge_provider_for(EvalChoice(provider=self.chosen_provider()))

    def judge_changed(self) -> None:
        """Price the judge again shortly (typing restarts the wait); blank: off."""
        timer = getattr(self, "_judge_timer", None)
        if timer is not None:
            timer.stop()
        hint = self.query_one("#eval-judge-hint", Static)
        self.judge_price = ""
        self._show_checks()
        if not self.judge_model():
            hint.update(JUDGE_OFF)
            return
        if self.judge_provider() not in self.provider_problems:
            self.check_provider(self.judge_provider())
        hint.update("Pricing the judge…")
        self._judge_timer = self.set_timer(0.3, self._price_judge)

    def _price_judge(self) -> None:
        draft = dataclasses.replace(self.choice)
        self.read_into(draft)
        self.price_judge(draft)

    @work(thread=True, exclusive=True, exit_on_error=False, group="eval-judge-cost")
    def price_judge(self, draft: EvalChoice) -> None:
        self.post_message(JudgeCosted(draft.judge, judge_cost_text(draft, self.app)))

    def on_judge_costed(self, message: JudgeCosted) -> None:
        if message.judge == self.judge_model():
            self.query_one("#eval-judge-hint", Static).update(message.text)
            self.judge_price = message.text
            self._show_checks()

    def _show_source_fields(self) -> None:
        split = self.query_one("#eval-source", Select).value == "split"
        self.query_one("#eval-path-field").display = not split

    def _number(self, selector: str) -> int | None:
        return self.query_one(selector, NumberInput).whole_number

    def problems(self) -> list[str]:
        from backends.evaluate.setup import held_out_problem

        found = super().problems()
        split = self.query_one("#eval-source", Select).value == "split"
        eval_path = self.query_one("#eval-path", Input).value.strip()
        train_path = self.query_one("#eval-train", Input).value.strip()
        if split:
            if not train_path:
                found.append("A split needs the training file.")
        elif not eval_path:
            found.append("Give a held-out file (JSONL chat examples).")
        elif not Path(eval_path).expanduser().is_file():
            found.append(f"{eval_path}: no such file.")
        if train_path and not Path(train_path).expanduser().is_file():
            found.append(f"{train_path}: no such file.")
        tuned = self.query_one("#eval-tuned", Input).value.strip()
        held_out = held_out_problem(
            train_path if split else eval_path, split=split, trained=self.trained(tuned)
        )
        if held_out:
            found.append(held_out)
        if not self.query_one("#eval-model", Input).value.strip():
            found.append("Name the base model.")
        few, rag = self._number("#eval-few") or 0, self._number("#eval-rag") or 0
        zero = self.query_one("#eval-zero", Checkbox).value
        tuned = self.query_one("#eval-tuned", Input).value.strip()
        current = self.query_one("#eval-current", Input).value.strip()
        if not (zero or few or rag or tuned or current):
            found.append("Choose at least one method to run.")
        if (few or rag) and not train_path:
            found.append("Few-shot and RAG need the training file (or set k to 0).")
        provider = self.chosen_provider()
        if provider not in self.provider_problems:
            found.append(f"Checking {PROVIDER_LABELS[provider]}…")
        elif self.provider_problems[provider]:
            found.append(str(self.provider_problems[provider]))
        judge_provider = self.judge_provider()
        if self.judge_model() and judge_provider != provider:
            if judge_provider not in self.provider_problems:
                found.append(f"Checking {PROVIDER_LABELS[judge_provider]} for the judge…")
            elif self.provider_problems[judge_provider]:
                found.append(f"The judge: {self.provider_problems[judge_provider]}")
        return found

    def refresh_validity(self) -> None:
        super().refresh_validity()
        self._show_checks()

    def _show_checks(self) -> None:
        """The problems, else Ready; with a judge, its price (kept in view, under the form)."""
        checks = self.query_one("#eval-checks", Static)
        problems = self.problems()
        lines = [f"✗ {p}" for p in problems] if problems else ["✓ Ready to run."]
        if self.judge_model():
            lines.append(f"LLM judge (billed): {self.judge_price or 'pricing…'}")
        checks.update("\n".join(lines))
        checks.set_class(bool(problems), "-blocked")

    def action_next(self) -> None:
        """With an LLM judge, its price is confirmed first (as ``eval --judge`` asks)."""
        if self.problems() or not self.can_go_next() or not self.judge_model():
            super().action_next()
            return
        from tui.screens.confirm import ConfirmScreen

        price = self.judge_price or f"{self.judge_model()}: the price is not known yet."
        self.app.push_screen(
            ConfirmScreen(
                "Run the LLM judge?",
                f"LLM judge: {price}\nIt is billed by the provider. Run the evaluation with it?",
                yes="Run with the judge",
                no="Not now",
            ),
            self._judge_confirmed,
        )

    def _judge_confirmed(self, yes: bool | None) -> None:
        if yes:
            super().action_next()

    def answers_changed(self) -> None:
        self._validity = None
        self.judge_changed()

    def store(self) -> None:
        self.read_into(self.choice)

    def read_into(self, choice: EvalChoice) -> None:
        """The form's values into ``choice``."""
        source = self.query_one("#eval-source", Select).value
        choice.source = source if isinstance(source, str) else "validation"
        choice.eval_path = self.query_one("#eval-path", Input).value.strip()
        choice.train_path = self.query_one("#eval-train", Input).value.strip()
        choice.provider = self.chosen_provider()
        choice.model = self.query_one("#eval-model", Input).value.strip()
        choice.zero_shot = self.query_one("#eval-zero", Checkbox).value
        choice.few_shot_k = self._number("#eval-few") or 0
        choice.rag_k = self._number("#eval-rag") or 0
        choice.tuned = self.query_one("#eval-tuned", Input).value.strip()
        choice.current = self.query_one("#eval-current", Input).value.strip()
        choice.limit = self._number("#eval-limit")
        choice.judge = self.judge_model()
