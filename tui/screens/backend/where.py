"""Backend step 1: where to train (OpenAI, Azure OpenAI or this machine), each checked up front."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual import on, work
from textual.app import ComposeResult
from textual.message import Message
from textual.widgets import RadioButton, RadioSet, Static
from textual.worker import Worker, WorkerState

from backends import registry
from backends.catalog import Provider
from tui.journey import Position
from tui.screens.backend.plan import Option, check_option
from tui.screens.step import StepScreen
from tui.state import BackendChoice


def _default_backend(provider: Provider | str) -> str:
    """The backend of the provider the Dataset step's figures were for (OpenAI when none)."""
    info = registry.for_provider(provider)
    return info.name if info is not None else registry.DEFAULT_HOSTED


@dataclass
class OptionChecked(Message):
    option: Option


class BackendWhereScreen(StepScreen):
    position = Position(2, 0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: dict[str, Option] = {}

    @property
    def choice(self) -> BackendChoice:
        return self.app.backend_choice

    def compose_form(self) -> ComposeResult:
        chosen = self.choice.backend or _default_backend(self.app.dataset_choice.provider)
        with RadioSet(id="backend-choice"):
            for name in registry.names():
                yield RadioButton(registry.label(name), value=name == chosen, id=f"choose-{name}")
        for name in registry.names():
            yield Static(
                f"{registry.label(name)}: checking…",
                id=f"availability-{name}",
                classes="availability -checking",
                markup=False,
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.check_all()

    @work(thread=True, exclusive=True, exit_on_error=False, group="availability")
    def check_all(self) -> None:
        """Key present? Endpoint? The ``[local]`` extra importable, GPUs visible (nvidia-smi)?"""
        today = self.app.today
        for name in registry.names():
            self.post_message(OptionChecked(check_option(name, self.choice, today)))

    def on_option_checked(self, message: OptionChecked) -> None:
        option = message.option
        self.options[option.name] = option
        mark = "✓" if option.ready else ("!" if option.selectable else "✗")
        text = f"{mark} {option.label}: {option.reason}"
        if option.hint and not option.ready:
            text += f"\n  {option.hint}"
        status = self.query_one(f"#availability-{option.name}", Static)
        status.update(text)
        status.set_class(False, "-checking")
        status.set_class(option.ready, "-ready")
        status.set_class(not option.ready and option.selectable, "-enterable")
        status.set_class(not option.selectable, "-blocked")
        self.query_one(f"#choose-{option.name}", RadioButton).disabled = not option.selectable
        self._validity = None
        self.refresh_validity()

    @on(Worker.StateChanged)
    def _check_failed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "availability" and event.state is WorkerState.ERROR:
            self.notify(
                f"Checking the backends failed: {event.worker.error}",
                title="Backend check",
                severity="error",
            )

    @on(RadioSet.Changed)
    def _picked(self) -> None:
        self._validity = None
        self.refresh_validity()

    def chosen(self) -> str | None:
        pressed = self.query_one("#backend-choice", RadioSet).pressed_button
        return str(pressed.id).removeprefix("choose-") if pressed is not None else None

    def problems(self) -> list[str]:
        found = super().problems()
        chosen = self.chosen()
        if chosen is None:
            found.append("Choose where to train.")
        elif chosen in self.options and not self.options[chosen].selectable:
            found.append(f"{registry.label(chosen)} cannot be used here.")
        return found

    def store(self) -> None:
        chosen = self.chosen()
        if chosen is not None:
            self.choice.backend = chosen
