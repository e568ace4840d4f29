"""Step 4: what fine-tuning would gain, in quality and in money, with the sums shown live."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.widgets import Select, Static

from backends.catalog import PRICES_AS_OF
from backends.decision import Reuse, compute_break_even, default_price_after, default_price_now
from tui.journey import Position
from tui.screens.step import StepScreen
from tui.widgets.form import Field, NumberInput


class BenefitScreen(StepScreen):
    form_after_first_frame = False  # its own mounting reads the fields
    position = Position(0, 3)

    def compose_form(self) -> ComposeResult:
        ben = self.answers.benefit
        expected = NumberInput(
            ben.expected_score, maximum=100, id="expected-score", placeholder="0-100"
        )
        expected.tooltip = "Expected quality"
        yield Field(
            "Expected quality (%)",
            expected,
            "Acceptable answers you expect after fine-tuning.",
            id="expected-field",
        )
        now = NumberInput(
            ben.prompt_tokens_now, integer=True, id="tokens-now", placeholder="tokens"
        )
        now.tooltip = "Prompt tokens now"
        yield Field("Prompt tokens now", now, "")
        after = NumberInput(
            ben.prompt_tokens_after, integer=True, id="tokens-after", placeholder="tokens"
        )
        after.tooltip = "Prompt tokens after"
        yield Field("Prompt tokens after", after, "")
        volume = NumberInput(
            ben.requests_per_month, integer=True, id="requests", placeholder="requests"
        )
        volume.tooltip = "Requests per month"
        yield Field("Requests per month", volume)
        price_now = NumberInput(ben.price_now, id="price-now")
        price_now.tooltip = "Price now"
        yield Field("Price now ($/1M in)", price_now, "", id="price-now-field")
        price_after = NumberInput(ben.price_after, id="price-after")
        price_after.tooltip = "Price after"
        yield Field("Price after ($/1M in)", price_after, "", id="price-after-field")
        yield Field(
            "Reuse",
            Select(
                [(option.label, option) for option in Reuse],
                value=ben.reuse,
                allow_blank=False,
                compact=True,
                id="reuse",
            ),
        )

    def compose_summary(self) -> ComposeResult:
        yield Static(id="figures")

    def on_mount(self) -> None:
        super().on_mount()
        self._refresh_figures()

    def answers_changed(self) -> None:
        self._refresh_figures()

    @on(Select.Changed)
    def _select_changed(self) -> None:
        self._refresh_figures()

    def _refresh_figures(self) -> None:
        self.store()
        answers = self.answers
        catalog_now, catalog_after = default_price_now(answers), default_price_after(answers)
        self._price_hint("#price-now", catalog_now, "the model used today")
        self._price_hint("#price-after", catalog_after, "the fine-tuned model")
        self._token_hints()

        lines = ["[b]What it adds up to[/b]"]
        best = answers.alternatives.best_score()
        expected = answers.benefit.expected_score
        measured = answers.measured
        if measured.baseline_score is not None and measured.tuned_score is not None:
            lines.append(
                f"  Quality gain      {measured.tuned_score - measured.baseline_score:+g} points "
                f"measured: tuned {measured.tuned_score:g}% vs best alternative "
                f"{measured.baseline_score:g}%"
            )
        elif measured.baseline_score is not None and expected is not None:
            lines.append(
                f"  Quality gain      {expected - measured.baseline_score:+g} points over the "
                f"measured best alternative ({measured.baseline_score:g}%)"
            )
        elif best is not None and expected is not None:
            lines.append(
                f"  Quality gain      {expected - best[1]:+g} points over {best[0]} ({best[1]:g}%)"
            )
        elif expected is not None:
            lines.append(
                "  Quality gain      no measured alternative to compare with (Alternatives step)"
            )
        be = compute_break_even(answers)
        if be is None:
            lines.append(
                "  Break-even        needs a one-off cost (Cost step), tokens before/after and prices"
            )
        else:
            lines.append(f"  One-off cost      ${be.training_cost:,.2f}")
            lines.append(f"  Saving / request  ${be.saving_per_request:,.6f}".rstrip("0"))
            if be.monthly_saving is not None:
                lines.append(f"  Saving / month    ${be.monthly_saving:,.2f}")
            if be.requests is None:
                lines.append(
                    "  Break-even        never: the tuned model's tokens cost more than you save"
                )
            else:
                months = f" ≈ {be.months:,.1f} months" if be.months is not None else ""
                lines.append(f"  Break-even        {be.requests:,.0f} requests{months}")
        self.query_one("#figures", Static).update("\n".join(lines))

    def _token_hints(self) -> None:
        """Say what the Evaluate stage measured; a blank field uses it."""
        measured = self.answers.measured
        now = self.query_one("#tokens-now", NumberInput)
        if measured.few_shot_prompt_tokens is None:
            now.placeholder = "tokens"
            hint = "Per request today: instructions, examples, context."
        else:
            shots = f" k={measured.few_shot_k}" if measured.few_shot_k else ""
            now.placeholder = f"{measured.few_shot_prompt_tokens:,.0f} (measured)"
            hint = (
                f"Measured: few-shot{shots} needs {measured.few_shot_prompt_tokens:,.0f} "
                "tokens per request"
            )
            if measured.rag_prompt_tokens is not None:
                hint += f", RAG {measured.rag_prompt_tokens:,.0f}"
            hint += "; blank uses few-shot's."
        self.query_one("#tokens-now-hint", Static).update(hint)
        after = self.query_one("#tokens-after", NumberInput)
        if measured.plain_prompt_tokens is None:
            after.placeholder = "tokens"
            hint = "Per request once the behaviour is trained in."
        else:
            after.placeholder = f"{measured.plain_prompt_tokens:,.0f} (measured)"
            hint = (
                f"Measured: the plain prompt is {measured.plain_prompt_tokens:,.0f} tokens "
                "per request; blank uses it."
            )
        self.query_one("#tokens-after-hint", Static).update(hint)

    def _price_hint(self, selector: str, catalog: float | None, what: str) -> None:
        field = self.query_one(selector, NumberInput)
        if catalog is None:
            field.placeholder = "USD / 1M tokens"
            hint = f"Input price of {what}: not in the price list, enter it."
        else:
            field.placeholder = f"{catalog:g} (price list)"
            hint = (
                f"USD per 1M input tokens of {what}; blank uses ${catalog:g} ({PRICES_AS_OF} list)."
            )
        self.query_one(f"{selector}-hint", Static).update(hint)

    def store(self) -> None:
        ben = self.answers.benefit
        ben.expected_score = self.query_one("#expected-score", NumberInput).number
        ben.prompt_tokens_now = self.query_one("#tokens-now", NumberInput).whole_number
        ben.prompt_tokens_after = self.query_one("#tokens-after", NumberInput).whole_number
        ben.requests_per_month = self.query_one("#requests", NumberInput).whole_number
        ben.price_now = self.query_one("#price-now", NumberInput).number
        ben.price_after = self.query_one("#price-after", NumberInput).number
        reuse = self.query_one("#reuse", Select).value
        ben.reuse = reuse if isinstance(reuse, Reuse) else Reuse.SINGLE
