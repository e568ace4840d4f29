"""Backend step 2: the settings form of the chosen backend (hosted or local)."""

from __future__ import annotations

from typing import cast

from textual.app import ComposeResult
from textual.widgets import Static

from backends import registry
from tui.journey import Position
from tui.screens.backend.hosted_form import HostedForm
from tui.screens.backend.local_form import LocalForm, MemoryEstimated, seeded_settings
from tui.screens.backend.plan import default_hosted_model, default_local_model
from tui.screens.step import StepScreen
from tui.state import BackendChoice


class BackendSettingsScreen(StepScreen):
    position = Position(2, 1)

    @property
    def choice(self) -> BackendChoice:
        choice: BackendChoice = self.app.backend_choice
        if not choice.backend:
            choice.backend = registry.DEFAULT_HOSTED
        return choice

    @property
    def form(self) -> HostedForm | LocalForm:
        return cast("HostedForm | LocalForm", self.query_one("#hosted-form, #local-form"))

    def compose_form(self) -> ComposeResult:
        choice = self.choice
        yield Static(f"Training on [b]{registry.label(choice.backend)}[/b]", id="settings-for")
        if registry.is_local(choice.backend):
            report = self.app.dataset_report
            longest = report.tokens.max if report is not None and report.tokens.count else None
            data = self.app.dataset_choice
            yield LocalForm(
                choice,
                default_local_model(choice, data),
                seeded_settings(choice, data.max_length or longest),
                longest,
            )
        else:
            model = default_hosted_model(
                choice,
                self.app.dataset_choice,
                self.answers.cost.model,
            )
            yield HostedForm(choice, model, self.app.today)

    def compose_summary(self) -> ComposeResult:
        if registry.is_local(self.choice.backend):
            yield Static("Memory estimate: reading the model config…", id="memory", markup=False)

    def on_memory_estimated(self, message: MemoryEstimated) -> None:
        memory = self.query_one("#memory", Static)
        memory.update(message.text)
        memory.set_class(message.fits is False, "-short")
        memory.set_class(message.fits is True, "-fits")
        self.query_one("#memory-detail", Static).update(message.detail)

    def problems(self) -> list[str]:
        return [*super().problems(), *self.form.problems()]

    def store(self) -> None:
        self.form.store()
