"""Where else to train when OpenAI cannot create the job: the reason and one line per offer.

The screens fill it (``show``) from ``backends.migration`` (``refusal``, ``offers``); Enter on an
offer posts ``OfferTaken`` and the screen pre-fills the Backend stage with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from backends.migration import Offer


class OfferList(OptionList):
    """The offers; Enter (named in the footer) takes the highlighted one."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "select", "Take offer")]


@dataclass
class OfferTaken(Message):
    offer: Offer
    reason: str


class MigrationOffers(Vertical):
    """Hidden until ``show`` gives it a reason; then the reason and the offers to choose from."""

    DEFAULT_CSS = """
    MigrationOffers { height: auto; display: none; border-left: thick $warning; padding: 0 1; }
    MigrationOffers.-shown { display: block; }
    MigrationOffers #offers-reason { color: $warning; }
    MigrationOffers OptionList { height: auto; max-height: 6; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.reason = ""
        self.offers: list[Offer] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="offers-reason", markup=False)
        yield OfferList(id="offers-list", compact=True, markup=False)
        yield Static(
            "Enter takes an offer: the Backend step is pre-filled with it, same data.",
            id="offers-hint",
            markup=False,
        )

    def show(self, reason: str | None, offers: list[Offer]) -> None:
        """Show ``reason`` and ``offers`` (hidden when ``reason`` is ``None``)."""
        self.set_class(reason is not None, "-shown")
        if reason is None:
            self.reason, self.offers = "", []
            return
        if reason == self.reason and offers == self.offers:
            return
        self.reason, self.offers = reason, list(offers)
        headline = reason.split(". ")[0].rstrip(".")
        self.query_one("#offers-reason", Static).update(
            f"✗ {headline}. Train elsewhere on the same data:"
        )
        listing = self.query_one("#offers-list", OptionList)
        listing.clear_options()
        listing.add_options(
            Option(f"{offer.label}: {offer.model}", id=offer.backend) for offer in offers
        )
        listing.highlighted = 0 if offers else None  # Enter takes the first without an arrow first

    @on(OptionList.OptionSelected, "#offers-list")
    def _taken(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(OfferTaken(self.offers[event.option_index], self.reason))
