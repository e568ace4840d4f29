"""The Textual app: loads the decision, walks the steps, saves after each one."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

from backends import locations
from backends.decision import Answers, load_decision, save_decision
from backends.workspace import Workspace
from tui import __version__
from tui.journey import JOURNEY, Position, stage_index
from tui.keymap import keymap_path, load_keymap
from tui.screens.host import JourneyApp
from tui.screens.message import MessageScreen
from tui.screens.step import Move, StepScreen
from tui.state import BackendChoice, ChatChoice, DatasetChoice, EvalChoice

if TYPE_CHECKING:
    from backends.data.report import DatasetReport
    from backends.decision import Recommendation
    from backends.evaluate.compare import Comparison

if TYPE_CHECKING:
    from backends.gpu import GpuReading
    from backends.runs import RunFolder


def stylesheet_path() -> Path:
    """``screens.tcss``: inside the package when installed from a wheel, else at the repo root."""
    here = Path(__file__).resolve().parent
    packaged = here / "screens.tcss"
    return packaged if packaged.exists() else here.parent / "screens.tcss"


STEP_POSITIONS: tuple[Position, ...] = tuple(
    Position(stage, step) for stage, info in enumerate(JOURNEY) for step in range(len(info.steps))
)
"""Every step of the journey, in order."""
EVALUATE_AT = Position(stage_index("evaluate"), 0)
TRY_IT_AT = Position(EVALUATE_AT.stage, len(JOURNEY[EVALUATE_AT.stage].steps) - 1)


def screen_at(position: Position) -> type[StepScreen]:
    """The screen of the step at ``position``, imported the first time someone goes there."""
    module, _, name = position.step_info.screen.partition(":")
    screen: type[StepScreen] = getattr(importlib.import_module(module), name)
    return screen


def step_screens() -> tuple[type[StepScreen], ...]:
    """Every step screen, in journey order (imports them all: for tools and tests, not start)."""
    return tuple(screen_at(position) for position in STEP_POSITIONS)


def binding_ids() -> set[str]:
    """The id of every binding on every screen: what ``keymap.toml`` may remap."""
    from tui.screens.catalog import CatalogScreen
    from tui.screens.confirm import ConfirmScreen
    from tui.screens.dataset.browse import ExamplesTable, FindingScreen
    from tui.screens.help import HelpScreen
    from tui.screens.monitor import MonitorScreen
    from tui.screens.runs import RunsScreen

    owners: list[type[DOMNode]] = [
        FinetuneApp,
        HelpScreen,
        MessageScreen,
        CatalogScreen,
        FindingScreen,
        ExamplesTable,
        ConfirmScreen,
        MonitorScreen,
        RunsScreen,
        *step_screens(),
    ]
    ids: set[str] = set()
    for owner in owners:
        for cls in owner.__mro__:
            for binding in vars(cls).get("BINDINGS", []):
                if isinstance(binding, Binding) and binding.id:
                    ids.add(binding.id)
    return ids


class FinetuneApp(JourneyApp):
    TITLE = "finetune-tui"
    CSS_PATH = stylesheet_path()

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f1", "help", "Help", id="help"),
        Binding("question_mark", "help", "Help", id="help-alt", show=False),
        Binding("f5", "runs", "Runs", id="runs"),
        Binding("ctrl+q", "quit", "Quit", id="quit", priority=True),
    ]

    def __init__(
        self,
        workspace: str | Path | None = None,
        *,
        today: date | None = None,
        clock: Callable[[], datetime] | None = None,
        watch: RunFolder | None = None,
        gpu_probe: Callable[[], Sequence[GpuReading]] | None = None,
        cursor_blink: bool = True,
        start: Position | None = None,
        eval_choice: EvalChoice | None = None,
        chat_choice: ChatChoice | None = None,
        frame_first: bool | None = None,
    ) -> None:
        """``watch``: open straight on that run's monitor (``finetune-tui watch``); leaving it quits.

        ``start``: open on that step (``finetune-tui chat`` opens Evaluate › Try it), with
        ``eval_choice`` / ``chat_choice`` as chosen on the command line.

        ``frame_first``: the opening step draws its frame before its fields (see
        ``StepScreen.form_after_first_frame``); by default in a real terminal, where a frame
        is seen, not headless (a pilot test then finds the fields at once).
        """
        super().__init__()
        self.workspace = Workspace.at(workspace)
        self.today = today or locations.today()
        self.clock = clock or (lambda: datetime.now().astimezone())
        self.answers = Answers()
        self.created_at: str | None = None
        self.position = Position(0, 0)
        self.furthest = Position(0, 0)
        self.dataset_choice = DatasetChoice()
        self.dataset_report: DatasetReport | None = None
        self.dataset_report_key: tuple[str, ...] = ()
        """The dataset choice the cached report was made for."""
        self.backend_choice = BackendChoice()
        """Where and how to train (in memory only: a key typed there is never written)."""
        self.eval_choice = eval_choice or EvalChoice()
        """The Evaluate stage's setup (blanks filled from the Dataset and Backend choices)."""
        self.monitor_next: RunFolder | None = None
        """A run just launched: its monitor opens over the next step shown."""
        self.chat_choice = chat_choice or ChatChoice()
        """The Try-it step's system prompt and conversations."""
        self.start_position = start
        self.comparison: Comparison | None = None
        self.comparison_key: tuple[object, ...] = ()
        """The evaluate choice the cached comparison was made with."""
        self._recommendation: Recommendation | None = None
        self._frame_first = frame_first
        self._held_keys: list[events.Key] | None = None
        self._replaying: events.Key | None = None
        """The held key on its way back through the queue (one at a time, in order)."""
        """Keys pressed before the opening step's fields were mounted, in order; ``None``:
        not holding (keys go where they always go)."""
        self.watch_folder = watch
        self.gpu_probe = gpu_probe
        self.cursor_blink = cursor_blink
        """``False`` keeps text cursors steady (snapshot tests must not depend on timing)."""
        self.restart_followers = True
        """Monitors restart a dead follower of a hosted job (tests turn it off)."""
        self.choices_kept = True

    # --- start -------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        if not self.cursor_blink and hasattr(event.widget, "cursor_blink"):
            event.widget.cursor_blink = False

    @property
    def recommendation(self) -> Recommendation:
        """The recommendation for the answers as last saved (worked out when first read)."""
        if self._recommendation is None:
            from backends.decision import recommend

            self._recommendation = recommend(self.answers, today=self.today)
        return self._recommendation

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            if event is self._replaying:
                self._replaying = None
                await super().on_event(event)
                # The next one after the app has caught up (a step left, the next shown),
                # as when typed: keys pressed meanwhile wait behind the held ones.
                self.call_after_refresh(self._replay_held)
                return
            if self._held_keys is not None:
                self._held_keys.append(event)  # typed ahead of the fields: kept for them
                return
        await super().on_event(event)

    def on_step_screen_form_ready(self) -> None:
        """The fields are there: the keys held so far reach them, in the order pressed."""
        self._replay_held()

    def _replay_held(self) -> None:
        if not self._held_keys:
            self._held_keys = None  # all caught up: keys go where they always go
            return
        key = self._held_keys.pop(0)
        self._replaying = events.Key(key.key, key.character)
        self.post_message(self._replaying)

    def on_ready(self) -> None:
        """The first frame is on the terminal: the opening step's fields come now."""
        step = self._step_screen()
        if step is not None:
            step.mount_form_after_first_frame()

    def on_mount(self) -> None:
        self.sub_title = "Should you fine-tune?"
        if keymap_path().exists():
            keymap = load_keymap(keymap_path(), binding_ids())
            if keymap.keys:
                self.set_keymap(keymap.keys)
            if keymap.problem:
                self.notify(keymap.problem, title="Keymap", severity="warning", timeout=10)
        if self.watch_folder is not None:
            self.sub_title = "Watch"
            self.push_screen(self._monitor(self.watch_folder, standalone=True))
            return
        loaded = load_decision(self.workspace)
        if loaded.record is not None:
            self.answers = loaded.record.answers
            self.created_at = loaded.record.created_at or None
            if self.answers.use_case.category:
                self.furthest = Position(0, len(JOURNEY[0].steps) - 1)
        self.dataset_choice = DatasetChoice.from_answers(self.answers)
        choices_problem = self.restore_choices()
        self.show(
            self.start_position if self.start_position in STEP_POSITIONS else Position(0, 0),
            opening=not self.is_headless if self._frame_first is None else self._frame_first,
        )
        if choices_problem:
            self.push_screen(MessageScreen("Your saved choices could not be used", choices_problem))
        if loaded.problem:
            self.push_screen(MessageScreen("Your saved decision could not be used", loaded.problem))
        elif loaded.record is not None:
            self.notify(
                f"Answers restored from {self.workspace.display(self.workspace.decision_json)}.",
                title="Welcome back",
            )

    # --- the step controller ------------------------------------------------

    def show(self, position: Position, *, opening: bool = False) -> None:
        self.position = position
        self.furthest = max(self.furthest, position)
        screen = screen_at(position)(self.answers, self.furthest, opening=opening)
        if screen.holds_keys:
            self._held_keys = []
        self.push_screen(screen, self._after_step)
        if self.monitor_next is not None:
            folder, self.monitor_next = self.monitor_next, None
            self.open_monitor(folder)

    def _after_step(self, move: Move | None) -> None:
        self.save()
        if move == "quit" or move is None:
            self.exit()
            return
        if move == "next":
            target = self.position.next()
        elif move == "back":
            target = self.position.previous()
        else:
            target = move
        self.show(target if target in STEP_POSITIONS else self.position)

    def restore_choices(self) -> str | None:
        """The Dataset and Backend choices of the last session (``choices.json``); why not, if not."""
        from backends.choices import load_choices

        def parse(sections: Mapping[str, Any]) -> tuple[DatasetChoice, BackendChoice]:
            dataset, backend = DatasetChoice.from_answers(self.answers), BackendChoice()
            dataset.restore(sections.get("dataset", {}))
            backend.restore(sections.get("backend", {}))
            return dataset, backend

        loaded = load_choices(self.workspace, parse)
        if loaded.value is not None:
            self.dataset_choice, self.backend_choice = loaded.value
        self.choices_kept = loaded.problem is None or loaded.backup is not None
        """``False``: a damaged file could not be copied aside, so it is not overwritten."""
        return loaded.problem

    def save(self) -> bool:
        """Recompute the recommendation and write the decision and choices; say so if it fails."""
        from backends.choices import save_choices
        from backends.decision import recommend

        self._note_training()
        self._recommendation = recommend(self.answers, today=self.today)
        try:
            if self.choices_kept:
                save_choices(
                    self.workspace,
                    {
                        "dataset": self.dataset_choice.to_saved(),
                        "backend": self.backend_choice.to_saved(),
                    },
                )
            record = save_decision(
                self.workspace,
                self.answers,
                self._recommendation,
                now=self.clock(),
                created_at=self.created_at,
                app_version=__version__,
            )
        except OSError as error:
            where = self.workspace.display(Path(error.filename) if error.filename else None)
            self.notify(
                f"Could not save the decision to {where}: {error.strerror or error}. "
                "Your answers are kept in memory; fix the folder or start with --workspace DIR.",
                title="Not saved",
                severity="error",
                timeout=10,
            )
            return False
        self.created_at = record.created_at
        return True

    def _note_training(self) -> None:
        """The Backend stage's choice, and why (an offer taken, or the user's pick), into the
        answers the decision record is written from."""
        from backends import registry
        from tui.screens.backend.plan import chosen_because

        choice = self.backend_choice
        info = registry.find(choice.backend)
        if info is None:
            return
        training = self.answers.training
        training.backend, training.label = info.name, info.label
        training.model = choice.local_model if not info.hosted else choice.hosted_model
        training.reason = chosen_because(choice)

    def record_dataset(self, report: DatasetReport) -> None:
        """Measured figures from the Dataset step flow into the checklist (Cost and Benefit)."""
        from backends.decision.measured import record_dataset

        if record_dataset(self.answers, report):
            self.save()

    @property
    def evaluate_position(self) -> Position:
        return EVALUATE_AT

    def record_evaluation(self, comparison: Comparison, key: tuple[object, ...]) -> None:
        """Measured scores from the Evaluate stage flow into the decision (and its recommendation)."""
        from backends.evaluate.outcome import record_outcome

        self.comparison = comparison
        self.comparison_key = key
        # ``measured.source`` names the training file the Dataset step read: keep it.
        source = self.answers.measured.source
        self.answers = record_outcome(self.answers, comparison)
        self.answers.measured.source = source
        self.save()

    def _step_screen(self) -> StepScreen | None:
        for screen in reversed(self.screen_stack):
            if isinstance(screen, StepScreen):
                return screen
        return None

    def go_to(self, position: Position) -> None:
        step = self._step_screen()
        if step is None or step is not self.screen:
            return
        step.leave(position)

    # --- actions ----------------------------------------------------------

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.workspace.display()))

    async def action_quit(self) -> None:
        if self.watch_folder is not None:
            self.exit()
            return
        step = self._step_screen()
        if step is not None and step is self.screen:
            step.leave("quit")
            return
        if step is not None:
            step.store_shown()
        self.save()
        self.exit()

    def action_save(self) -> None:
        step = self._step_screen()
        if step is not None:
            step.store_shown()
        if self.save():
            self.notify(f"Saved to {self.workspace.display(self.workspace.decision_md)}.")

    # --- runs ------------------------------------------------------------------
    def timestamp(self) -> float:
        """Now, in Unix seconds, from the app's (injectable) clock."""
        return self.clock().timestamp()

    def _monitor(self, folder: RunFolder, *, standalone: bool = False) -> Screen:
        from tui.screens.monitor import MonitorScreen

        return MonitorScreen(
            folder,
            clock=self.timestamp,
            gpu_probe=self.gpu_probe,
            standalone=standalone,
            restart_follower=self.restart_followers,
        )

    def open_monitor(self, folder: RunFolder) -> None:
        """Open the monitor of ``folder`` over whatever is on screen."""
        self.push_screen(self._monitor(folder))

    def action_runs(self) -> None:
        from backends.runs import RunStore
        from tui.screens.runs import RunsScreen

        if isinstance(self.screen, RunsScreen):
            return
        self.push_screen(
            RunsScreen(
                RunStore.of(self.workspace),
                clock=self.timestamp,
                tz=self.clock().tzinfo,
                open_run=self.open_monitor,
            )
        )

    def action_watch_picker(self) -> None:
        from textual.command import CommandPalette

        from tui.screens.runs import WatchRunProvider

        self.push_screen(
            CommandPalette(providers=[WatchRunProvider], placeholder="Watch which run?")
        )

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield SystemCommand("Runs", "Every training run in this workspace (F5)", self.action_runs)
        yield SystemCommand("Watch run…", "Pick a run and follow it live", self.action_watch_picker)
        for position in STEP_POSITIONS:
            if position != self.position and self.watch_folder is None:
                stage, step = position.stage_info, position.step_info
                yield SystemCommand(
                    f"Go to {stage.title} {position.step + 1} · {step.title}",
                    step.question,
                    lambda position=position: self.go_to(position),
                )
        if self.watch_folder is None and self.position.stage != EVALUATE_AT.stage:
            yield SystemCommand(
                "Evaluate models",
                "Measure the base model's alternatives and the tuned model side by side",
                lambda: self.go_to(EVALUATE_AT),
            )
        if self.watch_folder is None and self.position != TRY_IT_AT:
            yield SystemCommand(
                "Try it",
                "Your own prompt to the base and the tuned model, side by side",
                lambda: self.go_to(TRY_IT_AT),
            )
        if self.watch_folder is None:
            yield SystemCommand(
                "Save decision", "Write decision.json and decision.md now", self.action_save
            )
        yield SystemCommand("Help", "Keys and a short tour", self.action_help)
        yield from super().get_system_commands(screen)
