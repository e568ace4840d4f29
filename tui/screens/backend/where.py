"""Backend step 1: where to train (every registry entry: the hosted providers, the OpenAI-compatible
profiles, this machine), each checked up front; a bad ``providers.toml`` is said here."""

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
from backends.migration import offers, refusal
from tui.journey import Position
from tui.screens.backend.plan import Option, check_option, provider_of, take_offer
from tui.screens.step import StepScreen
from tui.state import BackendChoice
from tui.widgets.form import Choice, ChoiceSet
from tui.widgets.offers import MigrationOffers, OfferTaken


def _default_backend(provider: Provider | str) -> str:
    """The backend of the provider the Dataset step's figures were for (OpenAI when none)."""
    info = registry.for_provider(provider)
    return info.name if info is not None else registry.DEFAULT_HOSTED


@dataclass
class OptionChecked(Message):
    option: Option


class BackendWhereScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(2, 0)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.options: dict[str, Option] = {}

    @property
    def choice(self) -> BackendChoice:
        return self.app.backend_choice

    def compose_form(self) -> ComposeResult:
        chosen = self.choice.backend or _default_backend(self.app.dataset_choice.provider)
        with ChoiceSet(id="backend-choice"):
            for name in registry.names():
                yield Choice(registry.label(name), value=name == chosen, id=f"choose-{name}")
        yield MigrationOffers(id="offers")
        for name in registry.names():
            yield Static(
                f"{registry.label(name)}: checking…",
                id=f"availability-{name}",
                classes="availability -checking",
                markup=False,
            )
        for problem in registry.profile_problems():
            yield Static(f"! {problem}", classes="availability -blocked", markup=False)

    def on_mount(self) -> None:
        super().on_mount()
        self._show_offers()
        self.check_all()

    def _openai_model(self) -> str:
        """The OpenAI model the user meant (Settings, Cost step, or the one used today)."""
        for candidate in (
            self.choice.hosted_model if provider_of(self.choice.backend) is Provider.OPENAI else "",
            self.answers.cost.model if self.answers.cost.provider is Provider.OPENAI else "",
            self.answers.use_case.current_model,
        ):
            if candidate.strip():
                return candidate.strip()
        return ""

    def _show_offers(self) -> None:
        """When OpenAI cannot create the job (its date, the organisation rule), where else."""
        access = self.answers.cost.org_access.as_bool()
        openai = registry.for_provider(Provider.OPENAI)
        why = refusal(openai.name, self.app.today, org_has_access=access) if openai else None
        found = offers(self._openai_model(), self.app.today) if why is not None else []
        self.query_one("#offers", MigrationOffers).show(why, found)

    def on_offer_taken(self, message: OfferTaken) -> None:
        """Choose the offer's backend and pre-fill its model for the Settings step."""
        offer = message.offer
        take_offer(self.choice, offer, message.reason, self._openai_model() or "the model")
        self.query_one(f"#choose-{offer.backend}", RadioButton).value = True
        self.notify(
            f"{offer.label} chosen, {offer.model} pre-filled; the same data.",
            title="Offer taken",
        )

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
