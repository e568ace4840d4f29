"""Figures from per-example token counts: distributions, histogram, epochs, billing, cost.

The default epoch count is the rule OpenAI's fine-tuning service applies when
``n_epochs`` is ``auto``, as the OpenAI Cookbook's data-prep notebook writes
it: 3 epochs, raised so that examples × epochs reaches 100, lowered so that it
stays under 25,000, and always between 1 and 25.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass

from backends.catalog import PRICES_AS_OF, Provider, hosted_models

COMPLETION_MODELS = ("davinci-002", "babbage-002")
"""Legacy models that train on prompt/completion data, not chat."""

TARGET_EPOCHS = 3
MIN_TARGET_EXAMPLES = 100
MAX_TARGET_EXAMPLES = 25_000
MIN_DEFAULT_EPOCHS = 1
MAX_DEFAULT_EPOCHS = 25


def default_epochs(examples: int) -> int:
    """The epoch count the hosted service picks for ``examples`` training examples."""
    if examples <= 0:
        return TARGET_EPOCHS
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        return min(MAX_DEFAULT_EPOCHS, MIN_TARGET_EXAMPLES // examples)
    if examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        return max(MIN_DEFAULT_EPOCHS, MAX_TARGET_EXAMPLES // examples)
    return TARGET_EPOCHS


def explain_epochs(examples: int) -> str:
    epochs = default_epochs(examples)
    if examples * TARGET_EPOCHS < MIN_TARGET_EXAMPLES:
        why = f"{examples} examples × 3 is under {MIN_TARGET_EXAMPLES}, so epochs rise to {epochs}"
    elif examples * TARGET_EPOCHS > MAX_TARGET_EXAMPLES:
        why = (
            f"{examples:,} examples × 3 is over {MAX_TARGET_EXAMPLES:,}, so epochs fall to {epochs}"
        )
    else:
        why = f"{examples:,} examples × 3 epochs lies between {MIN_TARGET_EXAMPLES} and {MAX_TARGET_EXAMPLES:,}"
    return (
        f"Default epochs: {epochs} ({why}). The service targets 3 epochs, keeping examples × epochs "
        f"between {MIN_TARGET_EXAMPLES} and {MAX_TARGET_EXAMPLES:,} and epochs between 1 and 25."
    )


def percentile(sorted_values: Sequence[int], p: float) -> float:
    """Linear-interpolated percentile (numpy's default method) of sorted values."""
    if not sorted_values:
        return 0.0
    rank = (len(sorted_values) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (rank - low)


@dataclass(frozen=True)
class Distribution:
    count: int
    min: int
    max: int
    mean: float
    median: float
    p5: float
    p90: float
    p95: float
    total: int

    @classmethod
    def of(cls, values: Sequence[int]) -> Distribution:
        if not values:
            return cls(0, 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
        ordered = sorted(values)
        total = sum(ordered)
        return cls(
            len(ordered),
            ordered[0],
            ordered[-1],
            total / len(ordered),
            percentile(ordered, 50),
            percentile(ordered, 5),
            percentile(ordered, 90),
            percentile(ordered, 95),
            total,
        )

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


@dataclass(frozen=True)
class Histogram:
    """Counts per bin: bin ``i`` holds values in ``[edges[i], edges[i+1])`` (last bin closed)."""

    edges: tuple[int, ...]
    counts: tuple[int, ...]

    @classmethod
    def of(cls, values: Sequence[int], bins: int = 20) -> Histogram:
        if not values:
            return cls((0, 1), (0,))
        low, high = min(values), max(values)
        if low == high:
            return cls((low, high + 1), (len(values),))
        width = max(1, math.ceil((high - low + 1) / bins))
        n = math.ceil((high - low + 1) / width)
        counts = [0] * n
        for value, times in Counter(values).items():  # few distinct values: count them once
            counts[min(n - 1, (value - low) // width)] += times
        edges = (*(low + i * width for i in range(n)), high + 1)
        return cls(edges, tuple(counts))

    def to_dict(self) -> dict[str, list[int]]:
        return {"edges": list(self.edges), "counts": list(self.counts)}


def billing_tokens(totals: Sequence[int], limit: int | None) -> int:
    """Tokens billed per epoch: each example capped at the context limit."""
    if limit is None or not totals or max(totals) <= limit:
        return sum(totals)
    return sum(t if t < limit else limit for t in totals)


@dataclass(frozen=True)
class ModelCost:
    provider: str
    model: str
    alias: str
    context_limit: int
    encoding: str
    price_per_1m: float | None
    billing_tokens: int
    charged_tokens: int
    cost_usd: float | None
    counted_with_other_encoding: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def costs_per_model(
    totals: Sequence[int],
    epochs: int,
    counted_encoding: str,
    method: str,
    price_overrides: Mapping[str, float] | None = None,
    provider: Provider = Provider.OPENAI,
    completion_format: bool = False,
) -> list[ModelCost]:
    """Training cost on every hosted model that takes this data (chat models, or the legacy
    completion models for prompt/completion data)."""
    overrides = dict(price_overrides or {})
    whole, high = sum(totals), max(totals, default=0)
    rows: list[ModelCost] = []
    for entry in hosted_models(provider):
        if method not in entry.methods or (entry.name in COMPLETION_MODELS) != completion_format:
            continue
        alias = entry.aliases[0] if entry.aliases else entry.name
        price = next(
            (overrides[k] for k in (entry.name, *entry.aliases) if k in overrides),
            entry.prices.training,
        )
        billed = (
            whole if high <= entry.context_tokens else billing_tokens(totals, entry.context_tokens)
        )
        charged = billed * epochs
        cost = None if price is None else round(charged * price / 1_000_000, 4)
        rows.append(
            ModelCost(
                provider.value,
                entry.name,
                alias,
                entry.context_tokens,
                entry.encoding,
                price,
                billed,
                charged,
                cost,
                entry.encoding != counted_encoding,
            )
        )
    return rows


PRICES_NOTE = (
    f"Prices per 1M training tokens as of {PRICES_AS_OF} (check the provider's price list)."
)
