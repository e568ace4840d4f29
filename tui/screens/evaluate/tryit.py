"""Evaluate step 3: your own prompt to the base and the tuned model, answers streaming side by side.

Each pane has its model (``backends.evaluate.chat``: hosted through the SDK,
local from a child process) and its conversation. When the tuned run has GGUF
exports, "Tuned as" lets the tuned pane talk to one of them (on the CPU). A turn is read from the
model's event stream in a thread worker (it only waits on the network or on
the child's pipe) and posted back as ``ChatUpdate`` messages; a stopped turn
bumps the pane's turn id, so what its stream still says is ignored.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Resize
from textual.message import Message
from textual.widgets import Input, Label, Select
from textual.worker import Worker, WorkerState

from tui.journey import Position
from tui.screens.step import Move, StepScreen
from tui.widgets.chat_pane import ChatPane

SIDES = ("base", "tuned")
TRAINED_LABEL = "the trained model"
RECOMMENDATION = Position(0, 4)
SETUP, RESULTS = Position(4, 0), Position(4, 1)
NARROW = 100
"""Below this many columns the panes are stacked."""


class PromptInput(Input):
    """The prompt box: Enter sends (shown in the footer)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "submit", "Send", id="tryit-send"),
    ]


@dataclass
class ModelsReady(Message):
    sides: tuple[Any, ...]
    """``backends.evaluate.tryit.Side`` for base and tuned."""
    system: str
    """The evaluation data's system prompt ('' when it has none)."""
    exports: tuple[str, ...] = ()
    """The tuned run's GGUF exports the tuned pane could talk to instead."""
    only_tuned: bool = False
    """Only the tuned pane's model changed (another export chosen): the base pane keeps its own."""


@dataclass
class ChatUpdate(Message):
    side: str
    turn: int
    event: Any
    """A ``Status``, ``Delta`` or ``Reply`` of ``backends.evaluate.chat``."""


def default_system(app: Any) -> str:
    """The system prompt of the evaluation data's first example (then the training data's)."""
    from backends.evaluate.prompts import load_examples

    choice = app.eval_choice
    dataset = app.dataset_choice
    for path in (choice.eval_path, choice.train_path, dataset.validation, dataset.train):
        if not path:
            continue
        try:
            examples = load_examples(path, limit=1).examples
        except (OSError, ValueError):
            continue
        if examples:
            return examples[0].system
    return ""


class TryItScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(4, 2)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back / stop", id="back"),
        Binding("ctrl+l", "clear", "Clear chat", id="tryit-clear"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.models: dict[str, Any] = {}
        self.cancel = threading.Event()
        self.loaded = False

    @property
    def panes(self) -> list[ChatPane]:
        return list(self.query(ChatPane))

    def pane(self, side: str) -> ChatPane:
        return self.query_one(f"#pane-{side}", ChatPane)

    def compose_body(self) -> ComposeResult:
        with Vertical(id="tryit"):
            with Horizontal(id="tryit-system-row"):
                yield Label("System")
                yield Input(placeholder="optional system prompt", compact=True, id="tryit-system")
            with Horizontal(id="tryit-export-row"):
                yield Label("Tuned as")
                yield Select(
                    [(TRAINED_LABEL, "")],
                    value="",
                    allow_blank=False,
                    compact=True,
                    id="tryit-export",
                )
            with Horizontal(id="tryit-panes"):
                yield ChatPane("base", id="pane-base")
                yield ChatPane("tuned", id="pane-tuned")
            yield PromptInput(
                placeholder="Your prompt to both models (Enter sends)",
                compact=True,
                id="tryit-prompt",
            )

    def on_mount(self) -> None:
        super().on_mount()
        for pane in self.panes:
            pane.set_model(f"{pane.side}: loading…")
        self.query_one("#tryit-prompt").focus()
        self.load_models()

    def on_resize(self, event: Resize) -> None:
        self.query_one("#tryit-panes").set_class(event.size.width < NARROW, "-stacked")

    def models_key(self) -> tuple[Any, ...]:
        choice = self.app.eval_choice
        return (choice.provider, choice.model, choice.tuned, self.app.chat_choice.export)

    @work(thread=True, exclusive=True, exit_on_error=False, group="tryit-models")
    def load_models(self, only_tuned: bool = False) -> None:
        """Resolve the models (a run id reads the run store), the tuned run's GGUF exports and
        the default system prompt."""
        from backends.evaluate.tryit import chat_sides, gguf_choices

        app: Any = self.app
        choice = app.eval_choice
        sides = chat_sides(
            model=choice.model or app.backend_choice.hosted_model or app.dataset_choice.model,
            provider=choice.provider or None,
            tuned=choice.tuned or None,
            workspace=str(app.workspace.root),
            secret=app.backend_choice.secret or None,
            clock=app.timestamp,
            export=app.chat_choice.export or None,
        )
        exports = gguf_choices(tuned=choice.tuned or None, workspace=str(app.workspace.root))
        system = app.chat_choice.system
        system = default_system(app) if system is None else system
        self.post_message(ModelsReady(sides, system, tuple(exports), only_tuned))

    def on_models_ready(self, message: ModelsReady) -> None:
        chat_choice = self.app.chat_choice
        same = chat_choice.models == self.models_key()
        self.show_exports(message.exports)
        if not message.only_tuned:
            self.loaded = True
            self.query_one("#tryit-system", Input).value = message.system
        for side in message.sides:
            if message.only_tuned and side.name != "tuned":
                if side.model is not None:
                    side.model.close()  # never started: nothing to wait for
                continue
            pane = self.pane(side.name)
            pane.set_model(side.title, side.problem, error=side.error)
            if side.model is not None:
                self.models[side.name] = side.model
            if same:
                pane.restore(chat_choice.histories.get(side.name, []))

    # --- the tuned pane's GGUF exports ------------------------------------------
    def show_exports(self, exports: tuple[str, ...]) -> None:
        """The "Tuned as" choice, shown only when the tuned run has a GGUF export."""
        self.query_one("#tryit-export-row").set_class(bool(exports), "-shown")
        if not exports:
            return
        chosen = self.app.chat_choice.export
        select: Select[str] = self.query_one("#tryit-export", Select)
        with select.prevent(Select.Changed):
            select.set_options(
                [
                    (TRAINED_LABEL, ""),
                    *((f"its GGUF export {name} (CPU)", name) for name in exports),
                ]
            )
            select.value = chosen if chosen in exports else ""

    @on(Select.Changed, "#tryit-export")
    def _export_chosen(self, event: Select.Changed) -> None:
        """Another export for the tuned pane: its model is replaced and its chat starts afresh."""
        chosen = event.value if isinstance(event.value, str) else ""
        chat_choice = self.app.chat_choice
        if chosen == chat_choice.export:
            return
        chat_choice.export = chosen
        self.cancel.set()
        old = self.models.pop("tuned", None)
        if old is not None:
            threading.Thread(target=old.close, name="chat-close", daemon=True).start()
        pane = self.pane("tuned")
        pane.clear()
        pane.set_model("tuned: loading…")
        self.refresh_bindings()
        self.load_models(only_tuned=True)

    # --- sending ---------------------------------------------------------------
    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        """Enter sends the prompt (not StepScreen's "next field"); Enter in the system prompt moves to it."""
        event.stop()
        event.prevent_default()
        if event.input.id == "tryit-prompt":
            self.send(event.value)
        else:
            self.query_one("#tryit-prompt").focus()

    def send(self, prompt: str) -> None:
        from backends.evaluate.tryit import conversation

        if not prompt.strip():
            self.app.bell()
            return
        if self.busy:
            self.notify("Still answering: Esc stops it.", severity="warning")
            return
        if not self.models:
            self.notify("No model can answer: see the panes.", severity="warning")
            return
        self.query_one("#tryit-prompt", Input).value = ""
        system = self.query_one("#tryit-system", Input).value
        self.cancel = threading.Event()
        for side, model in self.models.items():
            pane = self.pane(side)
            messages = conversation(system, pane.transcript.history(), prompt)
            turn = pane.begin(prompt)
            self.run_worker(
                partial(self._turn, side, turn, model, messages, self.cancel),
                thread=True,
                group=f"tryit-{side}",
                exit_on_error=False,
                description=f"Asking {model.label}",
            )
        self.refresh_bindings()

    def _turn(self, side: str, turn: int, model: Any, messages: Any, cancel: Any) -> None:
        for event in model.stream(messages, cancel=cancel):
            self.post_message(ChatUpdate(side, turn, event))

    def on_chat_update(self, message: ChatUpdate) -> None:
        from backends.evaluate.chat import Delta, Reply, Status
        from backends.evaluate.tryit import describe

        pane = self.pane(message.side)
        if message.turn != pane.turn_id:
            return
        event = message.event
        if isinstance(event, Status):
            pane.status(event.text)
        elif isinstance(event, Delta):
            pane.add(event.text)
        elif isinstance(event, Reply):
            pane.finish(describe(event), event.error or "", event.text)
            self.refresh_bindings()

    @on(Worker.StateChanged)
    def _turn_failed(self, event: Worker.StateChanged) -> None:
        group = event.worker.group
        if event.state is WorkerState.ERROR and group.startswith("tryit-"):
            side = group.removeprefix("tryit-")
            if side in SIDES:
                self.pane(side).finish("", f"Unexpected error: {event.worker.error}")
            else:
                self.notify(f"Could not prepare the models: {event.worker.error}", severity="error")

    @property
    def busy(self) -> bool:
        return any(pane.busy for pane in self.panes)

    # --- keys ------------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return True
        return super().check_action(action, parameters)

    def action_back(self) -> None:
        if self.busy:
            self.cancel.set()
            for pane in self.panes:
                pane.stop()
            self.refresh_bindings()
            return
        self.leave(RESULTS if self.app.comparison is not None else SETUP)

    def action_clear(self) -> None:
        self.cancel.set()
        for pane in self.panes:
            pane.clear()
        self.refresh_bindings()

    def next_label(self) -> str:
        return "Recommendation ›"

    def can_go_next(self) -> bool:
        return True

    def action_next(self) -> None:
        self.leave(RECOMMENDATION)

    def store(self) -> None:
        if not self.loaded:
            return
        chat_choice = self.app.chat_choice
        system = self.query_one("#tryit-system", Input).value
        chat_choice.system = system
        chat_choice.models = self.models_key()
        chat_choice.histories = {pane.side: pane.transcript.history() for pane in self.panes}

    def leave(self, move: Move) -> None:
        self.cancel.set()
        super().leave(move)

    def on_unmount(self) -> None:
        self.cancel.set()
        models, self.models = list(self.models.values()), {}
        for model in models:  # a local model's child may take a moment to stop
            threading.Thread(target=model.close, name="chat-close", daemon=True).start()
