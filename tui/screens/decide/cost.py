"""Step 3: can the model be tuned where the person wants, and what it will take."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.suggester import SuggestFromList
from textual.widgets import Input, Select, Static

from backends import registry
from backends.catalog import (
    DATA_PROVIDERS,
    PRICES_AS_OF,
    Provider,
    find_hosted,
    hosted_models,
)
from backends.decision import OrgAccess
from backends.migration import offers, refusal
from backends.tunability import tunability
from tui.journey import Position
from tui.screens.backend.plan import take_offer
from tui.screens.catalog import CatalogScreen
from tui.screens.step import StepScreen
from tui.widgets.form import Field, NumberInput
from tui.widgets.offers import MigrationOffers, OfferTaken

NOT_MEASURED = "[i]not measured yet[/i]"


class CostScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(0, 2)

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "catalog", "Models", id="catalog"),
    ]

    def compose_form(self) -> ComposeResult:
        cost = self.answers.cost
        yield Field(
            "Train on",
            Select(
                [(provider.label, provider) for provider in DATA_PROVIDERS],
                value=cost.provider,
                allow_blank=False,
                compact=True,
                id="provider",
            ),
        )
        yield Field(
            "Model to fine-tune",
            Input(
                cost.model,
                placeholder=self.answers.use_case.current_model or "e.g. gpt-4o-mini",
                compact=True,
                id="model",
            ),
            "F2 lists the models each provider can tune. Blank: the model you use today.",
        )
        yield Static(id="tunability")
        yield MigrationOffers(id="offers")
        yield Field(
            "OpenAI organisation",
            Select(
                [(option.label, option) for option in OrgAccess],
                value=cost.org_access,
                allow_blank=False,
                compact=True,
                id="org-access",
            ),
            "Organisations created since May 2026 cannot create fine-tuning jobs.",
            id="org-field",
        )
        examples = NumberInput(cost.examples, integer=True, id="examples", placeholder="count")
        examples.tooltip = "Examples"
        yield Field(
            "High-quality examples",
            examples,
            "OpenAI requires at least 10; 50-100 good ones usually show an effect.",
        )
        hours = NumberInput(cost.prep_hours, id="prep-hours", placeholder="hours")
        hours.tooltip = "Preparation hours"
        yield Field(
            "Data preparation (h)", hours, "Collecting, writing and reviewing the examples."
        )
        rate = NumberInput(cost.hourly_rate, id="hourly-rate", placeholder="USD per hour")
        rate.tooltip = "Hourly rate"
        yield Field(
            "Hourly rate (USD)", rate, "Optional: turns the hours into money for the break-even."
        )
        compute = NumberInput(cost.compute_estimate, id="compute-estimate", placeholder="USD")
        compute.tooltip = "Training compute"
        yield Field("Training compute (USD)", compute, "", id="compute-field")
        yield Static(id="measured")

    def on_mount(self) -> None:
        super().on_mount()
        self._refresh_facts()

    def answers_changed(self) -> None:
        self._refresh_facts()

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._refresh_facts()

    def _provider(self) -> Provider:
        value = self.query_one("#provider", Select).value
        return value if isinstance(value, Provider) else Provider.OPENAI

    def _model(self) -> str:
        return self.query_one("#model", Input).value.strip() or self.answers.use_case.current_model

    def _refresh_facts(self) -> None:
        provider = self._provider()
        model_input = self.query_one("#model", Input)
        names = sorted(
            {n for entry in hosted_models(provider) for n in (entry.name, *entry.aliases)}
        )
        model_input.suggester = SuggestFromList(names, case_sensitive=False) if names else None
        self.query_one("#org-field").display = provider is Provider.OPENAI

        org = self.query_one("#org-access", Select).value
        access = org.as_bool() if isinstance(org, OrgAccess) else None
        model = self._model()
        verdict = tunability(provider, model, today=self.app.today, org_has_openai_access=access)
        if not model:
            text = "[b]Tunability:[/b] choose a model to check it."
        else:
            mark = "[$success]✓[/]" if verdict.tunable else "[$error]✗[/]"
            text = f"{mark} {escape(verdict.summary)}"
            for note in verdict.notes:
                text += f"\n· {escape(note)}"
        self.query_one("#tunability", Static).update(text)
        self.query_one("#tunability").set_class(not verdict.tunable and bool(model), "-blocked")
        self._refresh_offers(provider, model, access)

        entry = find_hosted(provider, model) if provider is not Provider.LOCAL else None
        if provider is Provider.LOCAL:
            price_hint = (
                "Your GPU time (or rented GPUs). The Backend step estimates memory and time."
            )
        elif entry is not None and entry.prices.training is not None:
            price_hint = (
                f"{entry.name}: ${entry.prices.training:,.2f} per 1M training tokens "
                f"(price list {PRICES_AS_OF}) × tokens × epochs."
            )
        elif entry is not None:
            price_hint = entry.note or "No per-token price published for this model."
        else:
            price_hint = "Your estimate of the training bill; the Dataset step measures it."
        self.query_one("#compute-estimate-hint", Static).update(price_hint)

        measured = self.answers.measured
        rows = [
            ("Examples in the dataset", _figure(measured.examples, "{:,}"), "Dataset step"),
            ("Billed training tokens", _figure(measured.training_tokens, "{:,}"), "Dataset step"),
            ("Training cost", _figure(measured.training_cost, "${:,.2f}"), "Dataset step"),
            ("GPU memory", _figure(measured.gpu_memory_gb, "{:,.1f} GB"), "Backend step"),
        ]
        lines = ["[b]Measured[/b] (filled in by later steps, never guessed)"]
        lines += [f"  {name:<26}{value}  · {where}" for name, value, where in rows]
        if measured.source:
            shown = self.app.workspace.display(Path(measured.source))
            lines.append(f"  from {escape(shown)}")
        self.query_one("#measured", Static).update("\n".join(lines))

    def _refresh_offers(self, provider: Provider, model: str, access: bool | None) -> None:
        """When OpenAI cannot create the job (its date, the organisation rule), where else."""
        info = registry.for_provider(provider)
        why = (
            refusal(info.name, self.app.today, org_has_access=access) if info is not None else None
        )
        found = offers(model, self.app.today) if why is not None else []
        self.query_one("#offers", MigrationOffers).show(why, found)

    def on_offer_taken(self, message: OfferTaken) -> None:
        """Pre-fill the Backend stage with the offer; cost it here when its provider is listed."""
        offer = message.offer
        take_offer(self.app.backend_choice, offer, message.reason, self._model() or "the model")
        info = registry.find(offer.backend)
        if info is not None and info.provider in DATA_PROVIDERS:
            self.query_one("#provider", Select).value = info.provider
            self.query_one("#model", Input).value = offer.model
        self.notify(
            f"Backend step pre-filled: {offer.label}, {offer.model}; the same data.",
            title="Offer taken",
        )

    def action_catalog(self) -> None:
        def picked(model: str | None) -> None:
            if model:
                self.query_one("#model", Input).value = model

        self.app.push_screen(CatalogScreen(self._provider(), current=self._model()), picked)

    def store(self) -> None:
        cost = self.answers.cost
        cost.provider = self._provider()
        cost.model = self.query_one("#model", Input).value.strip()
        org = self.query_one("#org-access", Select).value
        cost.org_access = org if isinstance(org, OrgAccess) else OrgAccess.UNKNOWN
        cost.examples = self.query_one("#examples", NumberInput).whole_number
        cost.prep_hours = self.query_one("#prep-hours", NumberInput).number
        cost.hourly_rate = self.query_one("#hourly-rate", NumberInput).number
        cost.compute_estimate = self.query_one("#compute-estimate", NumberInput).number


def _figure(value: float | int | None, template: str) -> str:
    return NOT_MEASURED if value is None else template.format(value)
